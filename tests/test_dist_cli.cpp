// The vididi command under mpirun on this CPU (2 ranks): `pretrain` trains
// with one run directory written by rank 0 and progress printed once; its
// checkpoint is refused by a run of 1 process naming both world sizes;
// `retrieve` on 2 ranks gives the R@k of 1 process; a rank killed mid-run
// ends the whole job within the timeout and leaves the last checkpoint
// loadable. The trainer's equivalence itself is tests/mpi/test_mpi_trainer.cpp.
#include <gtest/gtest.h>

#include <filesystem>

#include "layers/checkpoint.h"
#include "tests/test_cli_util.h"
#include "tests/test_dist_util.h"

using namespace cli_test;

namespace {
const std::vector<std::string> kData{"--synth_size", "16", "--synth_frames", "8", "--synth_train_per_class", "2",
                                     "--synth_test_per_class", "1", "--device", "cpu"};
const std::vector<std::string> kTrain{"--width_divisor", "16", "--projector_dim", "32", "--frames", "4",
                                      "--crop", "16", "--batch", "2", "--workers", "1", "--warmup_steps", "1",
                                      "--log_every", "1", "--dist_timeout", "60"};

std::string vididi_binary() {
  const std::string tests = disttest::mpi_tests_binary();  // <build>/mpi_tests
  return tests.substr(0, tests.rfind('/') + 1) + "vididi";
}

disttest::ChildRun mpirun(int ranks, const std::vector<std::string>& args, double timeout_s = 120) {
  std::vector<std::string> argv{"mpirun", "-np", std::to_string(ranks), "--oversubscribe", "--bind-to", "none",
                                vididi_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return disttest::run_child(argv, disttest::mpi_env(), timeout_s);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}
}  // namespace

TEST(DistCli, PretrainOnTwoRanksThenOneProcessRefusesItsCheckpoint) {
  VD_REQUIRE_MPI();
  ASSERT_EQ(::access(vididi_binary().c_str(), X_OK), 0) << vididi_binary() << " is missing: make it";
  const std::string out = fresh_dir("dist_pretrain");
  disttest::ChildRun r =
      mpirun(2, with(with({"pretrain", "--steps", "3", "--stop_after", "2", "--out", out}, kData), kTrain));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "pretraining r3d_18"), 1u) << r.output;  // rank 0 alone prints
  EXPECT_NE(r.output.find("data parallel: 2 ranks x batch 2 = 4 videos per step"), std::string::npos) << r.output;
  EXPECT_EQ(count(read(out + "/metrics.jsonl"), "\n"), 2u);
  const vd::Checkpoint ck = vd::read_checkpoint(out + "/checkpoint.vdc");
  EXPECT_EQ(ck.meta.extra.at("world_size"), "2");
  EXPECT_EQ(ck.meta.step, 2);
  // One process cannot continue it: the data order and the batch depend on the ranks.
  expect_one_line_error(cli({"pretrain", "--config", out + "/config.txt", "--resume", "auto", "--stop_after", "0"}),
                        "was written by a run of 2 rank(s), and this run has 1");
  // Two ranks can.
  r = mpirun(2, {"pretrain", "--config", out + "/config.txt", "--resume", "auto", "--stop_after", "0"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(read(out + "/metrics.jsonl"), "\n"), 3u);
  // A refusal decided by rank 0 for both (the folder holds a run) is printed once.
  r = mpirun(2, with(with({"pretrain", "--steps", "3", "--out", out}, kData), kTrain));
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(count(r.output, "already holds a run"), 1u) << r.output;
}

TEST(DistCli, RetrieveOnTwoRanksGivesTheRecallOfOneProcess) {
  VD_REQUIRE_MPI();
  ASSERT_EQ(::access(vididi_binary().c_str(), X_OK), 0) << vididi_binary() << " is missing: make it";
  const std::string one = fresh_dir("dist_retrieve1"), two = fresh_dir("dist_retrieve2");
  const std::vector<std::string> eval{"--width_divisor", "16", "--frames", "4", "--crop", "16", "--clips", "2",
                                      "--workers", "1", "--name", "x"};
  Result a = cli(with(with({"retrieve", "--out", one}, kData), eval));
  ASSERT_EQ(a.code, 0) << a.err;
  disttest::ChildRun b = mpirun(2, with(with({"retrieve", "--out", two}, kData), eval));
  ASSERT_EQ(b.code, 0) << b.output;
  EXPECT_EQ(count(b.output, "R@1"), count(a.out, "R@1")) << b.output;  // one table, printed by rank 0
  EXPECT_EQ(read(one + "/retrieval.json"), read(two + "/retrieval.json"));
}

// Rank 1 is killed (SIGKILL) once the first checkpoint exists: mpirun ends
// rank 0 at once, nothing hangs, and the checkpoint on disk is whole.
TEST(DistCli, AKilledRankEndsTheJobAndLeavesTheCheckpointLoadable) {
  VD_REQUIRE_MPI();
  ASSERT_EQ(::access(vididi_binary().c_str(), X_OK), 0) << vididi_binary() << " is missing: make it";
  const std::string out = fresh_dir("dist_killed");
  std::string cmd = vididi_binary() + " pretrain --steps 400 --checkpoint_every 2 --out " + out;
  for (const auto& a : with(kData, kTrain)) cmd += " " + a;
  // Each rank runs the shell; rank 1 kills its own vididi after the checkpoint appears.
  const std::string script =
      "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then " + cmd + " & pid=$!; " +
      "while [ ! -f " + out + "/checkpoint.vdc ]; do sleep 0.05; done; kill -9 $pid; wait $pid; exit 137; " +
      "else exec " + cmd + "; fi";
  disttest::ChildRun r = disttest::run_child(
      {"mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none", "sh", "-c", script}, disttest::mpi_env(), 120);
  EXPECT_FALSE(r.timed_out) << r.output;
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_LT(r.seconds, 60) << r.output;  // mpirun noticed at once, not after dist_timeout
  const vd::Checkpoint ck = vd::read_checkpoint(out + "/checkpoint.vdc");  // throws if torn
  EXPECT_GE(ck.meta.step, 2);
  EXPECT_EQ(ck.meta.extra.at("world_size"), "2");
}

// Commands without a data-parallel form refuse a launcher instead of running
// the same job twice into one folder.
TEST(DistCli, FinetuneRefusesToRunOnSeveralRanks) {
  VD_REQUIRE_MPI();
  ASSERT_EQ(::access(vididi_binary().c_str(), X_OK), 0) << vididi_binary() << " is missing: make it";
  disttest::ChildRun r = mpirun(2, with({"finetune", "--width_divisor", "16", "--frames", "4", "--crop", "16",
                                         "--epochs", "1", "--workers", "1"}, kData));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("finetune runs in one process, and this one is rank"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 60) << r.output;
}
