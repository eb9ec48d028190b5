// tests/test_cli_commands.cpp: the vididi subcommands called in-process with
// argv arrays on tiny data: synth -> show -> retrieve (and saved features) ->
// linear, finetune, info; and their error cases (one line on stderr, exit 1).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "tests/test_cli_util.h"

using namespace cli_test;

namespace {
// Tiny synthetic settings shared by the commands below (16x16 frames,
// width/16 R3D-18, 4-frame clips, 2 clips per video).
const std::vector<std::string> kTiny{"--encoder", "r3d_18", "--width_divisor", "16", "--frames", "4",
                                     "--crop", "16", "--clips", "2", "--batch", "8", "--workers", "1",
                                     "--device", "cpu"};
const std::string& exported() {  // synth once, shared by the tests
  static const std::string dir = ::testing::TempDir() + "cli_synth_export";
  static bool done = false;
  if (!done) {
    Result r = cli({"synth", "--out", dir, "--size", "16", "--frames", "6", "--train_per_class", "2",
                    "--test_per_class", "1", "--seed", "3"});
    EXPECT_EQ(r.code, 0) << r.err;
    done = true;
  }
  return dir;
}
}  // namespace

TEST(CliCommands, SynthWritesFrameFoldersAndSplits) {
  const std::string& dir = exported();
  EXPECT_TRUE(exists(dir + "/classInd.txt"));
  EXPECT_TRUE(exists(dir + "/trainlist01.txt"));
  EXPECT_TRUE(exists(dir + "/testlist01.txt"));
  expect_one_line_error(cli({"synth"}), "needs --out");
  expect_one_line_error(cli({"synth", "--out", dir, "--size", "0"}), "'size'");
  expect_one_line_error(cli({"synth", "--out", dir, "--jpeg_quality", "high"}), "expected an integer");
  expect_one_line_error(cli({"synth", "--out", dir, "--texture", "-1"}), "'texture'");
}

TEST(CliCommands, ShowWritesThePicture) {
  const std::string png = ::testing::TempDir() + "cli_show.png";
  Result r = cli({"show", "--dataset", "ucf101", "--data_root", exported(), "--frames", "4", "--out", png});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(exists(png));
  expect_one_line_error(cli({"show", "--video", "100000", "--synth_size", "16"}), "'video'");
  expect_one_line_error(cli({"show", "--frames", "2"}), "'frames'");
  // The frame range printed is the one used: a 6-frame video shows 4 columns
  // from frame 0 (frames 0..5), and from frame 1 only 3 (frames 1..5).
  EXPECT_NE(r.out.find("frames 0..5 (4 columns)"), std::string::npos) << r.out;
  Result end = cli({"show", "--dataset", "ucf101", "--data_root", exported(), "--frames", "8", "--start", "1",
                    "--out", png});
  ASSERT_EQ(end.code, 0) << end.err;
  EXPECT_NE(end.out.find("frames 1..5 (3 columns, fewer than the 8 asked: the video ends)"), std::string::npos)
      << end.out;
  expect_one_line_error(cli({"show", "--dataset", "ucf101", "--data_root", exported(), "--start", "3"}),
                        "the picture's 3 columns need 5");
}

TEST(CliCommands, RetrieveOnExportedFramesThenFromSavedFeatures) {
  const std::string run_dir = fresh_dir("cli_retrieve_run");
  const std::string feat = ::testing::TempDir() + "cli_feats";
  Result r = cli(with({"retrieve", "--dataset", "ucf101", "--data_root", exported(), "--out", run_dir,
                       "--save_features", feat, "--ks", "1,5"},
                      kTiny));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("R@1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("R@5"), std::string::npos) << r.out;
  EXPECT_TRUE(exists(run_dir + "/retrieval.json"));
  EXPECT_TRUE(exists(run_dir + "/report.md"));
  EXPECT_TRUE(exists(run_dir + "/config.txt"));
  // Each query's neighbours (10 test videos x 10 of the 20 train videos), R@k and the picture.
  const std::string csv = read(run_dir + "/neighbours.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 10 * 10) << csv.substr(0, 300);
  EXPECT_EQ(csv.rfind("query,query_name,query_class,rank,neighbour,neighbour_name,neighbour_class,similarity,same_class", 0), 0u);
  EXPECT_NE(read(run_dir + "/neighbours.json").find("\"similarity\": "), std::string::npos);
  for (const char* f : {"/recall.png", "/neighbours.png"}) EXPECT_TRUE(exists(run_dir + f)) << f;
  EXPECT_NE(read(run_dir + "/report.md").find("neighbours.png"), std::string::npos);
  // From the saved features: the same table without running the encoder.
  Result again = cli({"retrieve", "--load_features", feat, "--ks", "1,5"});
  ASSERT_EQ(again.code, 0) << again.err;
  auto table = [](const std::string& s) {  // from the header to the "(N test queries ...)" line
    size_t a = s.find("encoder"), b = s.find("gallery)", a);
    return s.substr(a, b - a);
  };
  EXPECT_EQ(table(again.out), table(r.out));
  // The linear probe on the same cached features.
  Result lin = cli({"linear", "--load_features", feat, "--epochs", "2"});
  ASSERT_EQ(lin.code, 0) << lin.err;
  EXPECT_NE(lin.out.find("video top-1"), std::string::npos) << lin.out;
  // Its run directory: curves, per-class accuracy, confusion matrix; the iterations used are said.
  const std::string lin_dir = fresh_dir("cli_linear_run");
  Result lout = cli({"linear", "--load_features", feat, "--out", lin_dir});
  ASSERT_EQ(lout.code, 0) << lout.err;
  EXPECT_NE(lout.out.find(" iterations, converged"), std::string::npos) << lout.out;
  for (const char* f : {"/loss.png", "/accuracy.png", "/confusion.png", "/per_class.csv", "/linear.json"})
    EXPECT_TRUE(exists(lin_dir + f)) << f;
  EXPECT_EQ(read(lin_dir + "/per_class.csv").rfind("class,name,videos,correct,accuracy\n0,", 0), 0u);
  EXPECT_NE(read(lin_dir + "/linear.json").find("\"solver\": \"lbfgs\""), std::string::npos);
  expect_one_line_error(cli({"linear", "--load_features", feat, "--optimizer", "lbfgs"}), "'optimizer'");
  // Batch norm re-estimated on the train clips before the features.
  Result recal = cli(with({"retrieve", "--dataset", "ucf101", "--data_root", exported(), "--bn_recalibrate", "true"},
                          kTiny));
  ASSERT_EQ(recal.code, 0) << recal.err;
  EXPECT_NE(recal.out.find("batch norm re-estimated on the train clips (order 0)"), std::string::npos) << recal.out;
  expect_one_line_error(cli({"retrieve", "--bn_recalibrate", "maybe"}), "'bn_recalibrate'");
}

TEST(CliCommands, RetrieveErrors) {
  expect_one_line_error(cli({"retrieve", "--bogus", "1"}), "unknown key 'bogus'");
  expect_one_line_error(cli({"retrieve", "--frames", "x"}), "'frames'");
  expect_one_line_error(cli({"retrieve", "--dataset", "ucf101"}), "needs --data_root");
  expect_one_line_error(cli({"retrieve", "--dataset", "ucf101", "--data_root", "/nonexistent/frames"}),
                        "/nonexistent/frames");
  expect_one_line_error(cli({"retrieve", "--ks", "5,1"}), "'ks'");
  expect_one_line_error(cli({"retrieve", "--device", "gpu7"}), "'device'");
  expect_one_line_error(cli({"retrieve", "--load_features", "/nonexistent/feats"}), "/nonexistent/feats");
  expect_one_line_error(cli({"retrieve", "--checkpoint", "/nonexistent/run"}), "/nonexistent/run");
}

TEST(CliCommands, FinetuneTiny) {
  const std::string dir = fresh_dir("cli_finetune_run");
  Result r = cli(with({"finetune", "--synth_size", "16", "--synth_frames", "6", "--synth_train_per_class", "2",
                       "--synth_test_per_class", "1", "--epochs", "1", "--warmup_epochs", "0", "--out", dir},
                      with(kTiny, {"--batch", "4"})));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("video top-1"), std::string::npos) << r.out;
  for (const char* f : {"/loss.png", "/accuracy.png", "/confusion.png", "/per_class.csv", "/finetune.json"})
    EXPECT_TRUE(exists(dir + f)) << f;
  expect_one_line_error(cli({"finetune", "--dropout", "1.5"}), "'dropout'");
}

TEST(CliCommands, InfoListsEncoders) {
  Result r = cli({"info", "--encoders", "r3d_18,s3d", "--width_divisor", "8"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("r3d_18"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("code version"), std::string::npos) << r.out;
  expect_one_line_error(cli({"info", "--encoders", "resnet50"}), "resnet50");
}

// The code version is baked in at build time: running from inside another git
// repository does not record that repository's commit.
TEST(CliCommands, CodeVersionDoesNotDependOnTheWorkingDirectory) {
  auto version = [] {
    Result r = cli({"info", "--encoders", ""});
    const size_t a = r.out.find("code version");
    return r.out.substr(a, r.out.find('\n', a) - a);
  };
  const std::string here = version();
  char cwd[PATH_MAX];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  const std::string other = ::testing::TempDir() + "cli_other_repo";
  ASSERT_EQ(std::system(("rm -rf " + other + " && mkdir -p " + other + " && cd " + other +
                         " && git init -q && git -c user.email=t@t -c user.name=t commit -q --allow-empty -m x")
                            .c_str()),
            0);
  ASSERT_EQ(::chdir(other.c_str()), 0);
  const std::string there = version();
  ASSERT_EQ(::chdir(cwd), 0);
  EXPECT_EQ(there, here);
  EXPECT_NE(here.find("code version"), std::string::npos);
}

// precision = bf16 is refused on the CPU by every command that takes it.
TEST(CliCommands, Bf16OnTheCpuIsRefusedEverywhere) {
  const std::vector<std::string> bf16{"--device", "cpu", "--precision", "bf16"};
  for (const char* cmd : {"retrieve", "linear", "finetune", "bench", "demo"})
    expect_one_line_error(cli(with({cmd}, bf16)), "precision = bf16 needs a GPU");
  expect_one_line_error(cli(with({"pretrain", "--steps", "2", "--warmup_steps", "0"}, bf16)), "precision = bf16 needs a GPU");
  expect_one_line_error(cli(with({"linear", "--load_features", "/nonexistent"}, bf16)), "precision = bf16 needs a GPU");
}
