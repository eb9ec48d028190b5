// tests/test_cli_train.cpp: the training subcommands called in-process on
// tiny synthetic data: `pretrain` (a run stopped after 2 of 3 steps and
// resumed from its own config.txt gives the same losses, bit for bit, as an
// uninterrupted run; run directory files; its checkpoint loads in
// `retrieve`), `bench` (one JSON line), `demo` (three rows, reports, plots);
// each with its error cases; and docs/CONFIG.md against the --help texts.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/test_cli_util.h"
#include "vididi/config.h"
#include "vididi/run_dir.h"

using namespace cli_test;

namespace {
// 16x16 synthetic videos of 8 frames, 2 per class (20 videos), width/16
// R3D-18, 4-frame clips, batch 4: a step takes tens of milliseconds.
const std::vector<std::string> kTinyData{"--synth_size", "16", "--synth_frames", "8", "--synth_train_per_class",
                                         "2", "--synth_test_per_class", "1", "--device", "cpu"};
const std::vector<std::string> kTinyTrain{"--width_divisor", "16", "--projector_dim", "32", "--frames", "4",
                                          "--crop", "16", "--batch", "4", "--workers", "1", "--warmup_steps", "1",
                                          "--log_every", "1"};

std::vector<std::string> pretrain_args(const std::string& out, const std::vector<std::string>& more = {}) {
  return with(with(with({"pretrain", "--steps", "3", "--out", out}, kTinyData), kTinyTrain), more);
}

std::vector<double> losses(const std::string& dir) {
  std::vector<double> l;
  for (const auto& r : vd::vididi::read_metrics(dir + "/metrics.jsonl")) l.push_back(r.loss);
  return l;
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST(CliPretrain, StoppedAndResumedEqualsUninterrupted) {
  const std::string whole = ::testing::TempDir() + "cli_pretrain_whole";
  const std::string parts = ::testing::TempDir() + "cli_pretrain_parts";
  Result a = cli(pretrain_args(whole));
  ASSERT_EQ(a.code, 0) << a.err;
  for (const char* f : {"config.txt", "run.json", "metrics.jsonl", "loss.png", "checkpoint.vdc", "report.md"})
    EXPECT_TRUE(exists(whole + "/" + f)) << f;
  EXPECT_NE(a.out.find("report:"), std::string::npos) << a.out;
  ASSERT_EQ(losses(whole).size(), 3u);

  Result b = cli(pretrain_args(parts, {"--stop_after", "2"}));
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("stopped after step 2 of 3"), std::string::npos) << b.out;
  ASSERT_EQ(losses(parts).size(), 2u);
  // config.txt alone (dataset keys included) continues the run.
  Result c = cli({"pretrain", "--config", parts + "/config.txt", "--resume", "auto", "--stop_after", "0"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("resumed from"), std::string::npos) << c.out;
  EXPECT_EQ(losses(parts), losses(whole));  // bitwise: data order, augmentation and RNG all restored
  const std::string report = read(parts + "/report.md");
  EXPECT_NE(report.find("resumed after step 2"), std::string::npos) << report;
  EXPECT_NE(report.find("](loss.png)"), std::string::npos) << report;
  EXPECT_NE(report.find("| `synth_size` | `16` |"), std::string::npos) << report;

  // The run directory is a checkpoint for the evaluation commands (encoder.* tensors).
  Result r = cli(with(with({"retrieve", "--checkpoint", whole, "--width_divisor", "16", "--frames", "4", "--crop",
                            "16", "--clips", "1", "--workers", "1", "--ks", "1"},
                           kTinyData),
                      {}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("R@1"), std::string::npos) << r.out;

  // Resuming with a setting that changes the run is refused, naming the key.
  expect_one_line_error(cli({"pretrain", "--config", parts + "/config.txt", "--resume", "auto", "--pairs", "0-0"}),
                        "pairs");
}

TEST(CliPretrain, Errors) {
  const std::string out = ::testing::TempDir() + "cli_pretrain_errors";
  expect_one_line_error(cli(pretrain_args(out, {"--bogus", "1"})), "unknown key 'bogus'");
  expect_one_line_error(cli(pretrain_args(out, {"--batch", "x"})), "'batch'");
  expect_one_line_error(cli(pretrain_args(out, {"--batch", "1"})), "batch = 1");
  expect_one_line_error(cli(pretrain_args(out, {"--framework", "moco"})), "moco");
  expect_one_line_error(cli(pretrain_args(out, {"--pairs", "0-3"})), "0-3");
  expect_one_line_error(cli(pretrain_args(out, {"--precision", "bf16"})), "precision = bf16");
  expect_one_line_error(cli(pretrain_args(out, {"--steps", "0"})), "set steps or epochs");
  expect_one_line_error(cli(pretrain_args(out, {"--warmup_steps", "5"})), "warmup_steps = 5");
  expect_one_line_error(cli(pretrain_args(out, {"--frames", "16"})), "longest video has 8");
  expect_one_line_error(cli(pretrain_args(out, {"--resume", "/nonexistent/ck.vdc"})), "/nonexistent/ck.vdc");
  expect_one_line_error(cli(pretrain_args(out, {"--dataset", "ucf101"})), "needs --data_root");
}

TEST(CliPretrain, HelpListsEveryTrainConfigKey) {
  Result r = cli({"pretrain", "--help"});
  ASSERT_EQ(r.code, 0);
  for (const auto& k : vd::vididi::TrainConfig::keys())
    EXPECT_NE(r.out.find("--" + k.name + " "), std::string::npos) << k.name;
}

TEST(CliBench, TinyCpuStepPrintsOneJsonLine) {
  Result r = cli({"bench", "--device", "cpu", "--width_divisor", "16", "--projector_dim", "32", "--batch", "4",
                  "--frames", "4", "--size", "16", "--warmup", "1", "--iters", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  EXPECT_EQ(r.out.front(), '{') << r.out;
  for (const char* field : {"\"model\": \"r3d_18\"", "\"batch\": 4,", "\"frames\": 4,", "\"size\": 16,",
                            "\"mode\": \"fp32_cl\"", "\"step_ms\": ", "\"clips_per_s\": ", "\"peak_mem_gib\": 0.00"})
    EXPECT_NE(r.out.find(field), std::string::npos) << field << " in " << r.out;
  const double ms = std::stod(r.out.substr(r.out.find("\"step_ms\": ") + 11));
  const double cps = std::stod(r.out.substr(r.out.find("\"clips_per_s\": ") + 15));
  EXPECT_GT(ms, 0);
  EXPECT_NEAR(cps, 4 * 1000.0 / ms, 0.1 + 1e-3 * cps);  // clips per step / step time
}

TEST(CliBench, Errors) {
  expect_one_line_error(cli({"bench", "--device", "cpu", "--iters", "0"}), "iters = 0");
  expect_one_line_error(cli({"bench", "--device", "cpu", "--size", "4"}), "size = 4");
  expect_one_line_error(cli({"bench", "--device", "cpu", "--batch", "1"}), "batch = 1");
  expect_one_line_error(cli({"bench", "--device", "cpu", "--precision", "bf16"}), "precision = bf16");
  expect_one_line_error(cli({"bench", "--steps", "3"}), "unknown key 'steps'");
  expect_one_line_error(cli({"bench", "--encoder", "resnet50"}), "resnet50");
}

TEST(CliDemo, TinyRunPrintsThreeRowsAndWritesReports) {
  const std::string dir = ::testing::TempDir() + "cli_demo";
  Result r = cli(with(with({"demo", "--steps", "2", "--clips", "1", "--out", dir}, kTinyData), kTinyTrain));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* row : {"\nrandom ", "\nframes-only ", "\nvididi "})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << " in " << r.out;
  for (const char* f : {"report.md", "results.json", "recall.png", "config.txt", "frames-only/report.md",
                        "frames-only/loss.png", "vididi/report.md", "vididi/loss.png", "vididi/checkpoint.vdc"})
    EXPECT_TRUE(exists(dir + "/" + f)) << f;
  EXPECT_NE(r.out.find("report:        " + dir + "/report.md"), std::string::npos) << r.out;
  // The frames-only run trained on pairs 0-0 only, the ViDiDi run on the alternating pairs.
  EXPECT_NE(read(dir + "/frames-only/metrics.jsonl").find("\"pair\": \"0-0\""), std::string::npos);
  EXPECT_NE(read(dir + "/vididi/metrics.jsonl").find("\"pair\": \"1-2\""), std::string::npos);
  const std::string report = read(dir + "/report.md");
  EXPECT_NE(report.find("| frames-only |"), std::string::npos) << report;
  EXPECT_NE(report.find("](recall.png)"), std::string::npos) << report;
  EXPECT_NE(report.find("](vididi/loss.png)"), std::string::npos) << report;
  expect_one_line_error(cli({"demo", "--clips", "0", "--steps", "2", "--out", dir}), "clips");
  expect_one_line_error(cli({"demo", "--resume", "auto"}), "unknown key 'resume'");
}

// docs/CONFIG.md is generated from the --help texts; it must not drift.
TEST(CliDocs, ConfigMdHoldsEveryHelpText) {
  const std::string doc = read("docs/CONFIG.md");
  if (doc.empty()) GTEST_SKIP() << "docs/CONFIG.md not found (run the tests from the repository root)";
  for (const auto& c : vd::cli::commands()) {
    Result r = cli({c.name, "--help"});
    EXPECT_NE(doc.find(r.out), std::string::npos)
        << "docs/CONFIG.md is out of date for `vididi " << c.name << " --help`; regenerate it (see its header)";
  }
}
