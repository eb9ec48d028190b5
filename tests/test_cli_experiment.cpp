// tests/test_cli_experiment.cpp: `vididi experiment` on a CPU-sized file
// (tests/data/experiments/tiny.exp): cells x grid x seeds run as ordinary
// run directories; the summary equals statistics recomputed from each run's
// own retrieval.json; a second call resumes (runs nothing); worker processes
// give the same results; a failing cell is reported, not hidden; a typo in a
// cell is refused before anything runs.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "tests/test_cli_util.h"
#include "vididi/cli/experiment.h"
#include "vididi/eval/stats.h"

using namespace cli_test;

namespace {
const std::string kSpec = "tests/data/experiments/tiny.exp";


// R@1 in percent from a run's retrieval.json, read independently of the runner.
double r1(const std::string& json) {
  const std::string t = read(json);
  const size_t k = t.find("\"1\": ");
  EXPECT_NE(k, std::string::npos) << json;
  return 100 * std::stod(t.substr(k + 5));
}

// A copy of the tiny spec with extra lines appended.
std::string spec_with(const std::string& name, const std::string& extra) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << read(kSpec) << extra;
  return path;
}
}  // namespace

TEST(CliExperiment, RunsCellsOverSeedsAndSummarisesThem) {
  ASSERT_FALSE(read(kSpec).empty()) << kSpec << " not found (run the tests from the repository root)";
  const std::string dir = ::testing::TempDir() + "cli_experiment";
  std::system(("rm -rf " + dir).c_str());
  const std::string spec = spec_with("tiny_random.exp", "\n[cell random]\npretrain = false\n");
  Result r = cli({"experiment", "--spec", spec, "--out", dir});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  // 3 cells x 2 schedules x 2 seeds, each an ordinary pair of run directories.
  for (const char* cell : {"frames-only_schedule_alternate", "vididi_schedule_sum", "random_schedule_alternate"})
    for (const char* seed : {"seed0", "seed1"})
      EXPECT_TRUE(exists(dir + "/" + cell + "/" + seed + "/retrieve/retrieval.json")) << cell << " " << seed;
  EXPECT_TRUE(exists(dir + "/vididi_schedule_sum/seed1/pretrain/checkpoint.vdc"));
  EXPECT_FALSE(exists(dir + "/random_schedule_alternate/seed0/pretrain"));  // pretrain = false
  for (const char* f : {"report.md", "results.csv", "results.json", "results.png"}) EXPECT_TRUE(exists(dir + "/" + f)) << f;
  // The vididi/sum cell's mean and interval, and its paired difference against
  // the baseline, recomputed from the runs' own files.
  std::vector<double> v, b;
  for (const char* seed : {"seed0", "seed1"}) {
    v.push_back(r1(dir + "/vididi_schedule_sum/" + seed + "/retrieve/retrieval.json"));
    b.push_back(r1(dir + "/frames-only_schedule_alternate/" + seed + "/retrieve/retrieval.json"));
  }
  const vd::eval::Summary m = vd::eval::summarize(v), d = vd::eval::paired_difference(v, b);
  char row[200];
  std::snprintf(row, sizeof row, "| vididi schedule=sum | 2 | %.2f | %.2f | [%.2f, %.2f] | %s%.2f [%.2f, %.2f] |", m.mean,
                m.sd, m.lo, m.hi, d.mean >= 0 ? "+" : "", d.mean, d.lo, d.hi);
  EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  EXPECT_NE(r.out.find("| frames-only schedule=alternate | 2 |"), std::string::npos) << r.out;
  EXPECT_NE(read(dir + "/results.csv").find("\"vididi schedule=sum\",1,1,"), std::string::npos);
  // Run again: everything is done, nothing runs, the same table comes out.
  Result again = cli({"experiment", "--spec", spec, "--out", dir});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("done before: vididi schedule=sum, seed 1"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("[1/"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.substr(again.out.find("| # |")), r.out.substr(r.out.find("| # |")));
  // Worker processes give the same results as the sequential run.
  const std::string par = dir + "_jobs";
  std::system(("rm -rf " + par).c_str());
  Result p = cli({"experiment", "--spec", spec, "--out", par, "--jobs", "2"});
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(p.out.substr(p.out.find("| # |"), p.out.find("report:") - p.out.find("| # |")),
            r.out.substr(r.out.find("| # |"), r.out.find("report:") - r.out.find("| # |")));
}

TEST(CliExperiment, AFailedRunIsReportedAndATypoRefusedBeforeRunning) {
  ASSERT_FALSE(read(kSpec).empty()) << kSpec << " not found (run the tests from the repository root)";
  const std::string dir = ::testing::TempDir() + "cli_experiment_fail";
  std::system(("rm -rf " + dir).c_str());
  // 9 + 2 frames do not fit the 8-frame videos: every run of this cell fails.
  // And a cell that evaluates on first differences (an evaluation key of its own).
  Result r = cli({"experiment", "--spec",
                  spec_with("tiny_fail.exp", "\n[cell long]\nframes = 9\n\n[cell d1]\npairs = 0-1\nevaluate.order = 1\n"),
                  "--out", dir});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("4 of 16 runs failed"), std::string::npos) << r.err;
  EXPECT_NE(read(dir + "/d1_schedule_sum/seed0/log.txt").find("--order=1"), std::string::npos);
  EXPECT_EQ(read(dir + "/vididi_schedule_sum/seed0/log.txt").find("--order=1"), std::string::npos);
  EXPECT_NE(r.out.find("long schedule=sum, seed 0: FAILED: pretrain: "), std::string::npos) << r.out;
  const std::string report = read(dir + "/report.md");
  EXPECT_NE(report.find("## Failed runs"), std::string::npos) << report;
  EXPECT_NE(report.find("longest video has 8"), std::string::npos) << report;
  EXPECT_NE(report.find("| vididi schedule=sum | 2 |"), std::string::npos) << report;  // the others are there
  // A typo in a cell stops the experiment before any run.
  const std::string typo = ::testing::TempDir() + "cli_experiment_typo";
  Result t = cli({"experiment", "--spec", spec_with("tiny_typo.exp", "\n[cell bad]\nlearning_rate = 0.1\n"), "--out", typo});
  expect_one_line_error(t, "cell 'bad schedule=alternate': vididi pretrain: error: unknown key 'learning_rate'");
  EXPECT_FALSE(exists(typo));
  std::string text = read(kSpec);
  text.replace(text.find("baseline = frames-only schedule=alternate"), 41, "baseline = nobody");
  const std::string nobody = ::testing::TempDir() + "tiny_nobody.exp";
  std::ofstream(nobody) << text;
  expect_one_line_error(cli({"experiment", "--spec", nobody}), "baseline 'nobody' is not one of the cells");
  expect_one_line_error(cli({"experiment"}), "needs --spec");
}

// Every committed experiment file (experiments/*.exp) reads, and every
// command line it makes passes its command's key table.
TEST(CliExperiment, CommittedExperimentFilesAreValid) {
  int n = 0;
  for (const char* f : {"pairs", "frameworks", "gains", "eval_order", "gpu_scale"}) {
    const std::string path = std::string("experiments/") + f + ".exp";
    ASSERT_FALSE(read(path).empty()) << path << " not found (run the tests from the repository root)";
    vd::cli::ExperimentSpec spec;
    EXPECT_NO_THROW(spec = vd::cli::read_experiment(path)) << path;
    EXPECT_EQ(spec.seed_list().size(), 5u) << path;
    EXPECT_FALSE(spec.baseline.empty()) << path;
    ++n;
  }
  EXPECT_EQ(n, 5);
}
