// tests/test_dist_mpirun.cpp: the multi-process tests (build/mpi_tests,
// tests/mpi/) run from the main suite under mpirun on 2 and 3 ranks: the
// collectives against hand-computed values, and the end of a job whose rank
// skips a collective, returns early or dies (one timeout line, every rank
// ended within a bound). Skipped without MPI outside CI, failed in CI.
#include <gtest/gtest.h>

#include "core/backend.h"
#include "tests/test_dist_util.h"

namespace {

const char* kCollectives = "MpiCollectives.*:MpiRefusals.*";

// The line of dist/timeout.h for an all-reduce of a 3 s communicator.
const char* kTimeoutLine = "all_reduce waited 3 s for the other ranks (timeout; dist_timeout = 3); the run ends; "
                           "the last checkpoint stays loadable";

}  // namespace

TEST(DistMpirun, CollectivesOn2Ranks) {
  VD_REQUIRE_MPI();
  EXPECT_MPI_OK(disttest::run_mpi(2, kCollectives, 120));
}

TEST(DistMpirun, CollectivesOn3Ranks) {
  VD_REQUIRE_MPI();
  EXPECT_MPI_OK(disttest::run_mpi(3, kCollectives, 120));
}

TEST(DistMpirun, CollectivesOn1RankUnderMpirun) {
  VD_REQUIRE_MPI();
  EXPECT_MPI_OK(disttest::run_mpi(1, kCollectives, 60));
}

// Without a launcher the mpi backend is an MPI of one (singleton MPI_Init):
// useful to measure the backend's overhead.
TEST(DistMpirun, CollectivesOn1RankWithoutLauncher) {
  VD_REQUIRE_MPI();
  const disttest::ChildRun r =
      disttest::run_child({disttest::mpi_tests_binary(), std::string("--gtest_filter=") + kCollectives},
                          disttest::mpi_env(), 60);
  EXPECT_MPI_OK(r);
}

TEST(DistMpirun, SkippedCollectiveEndsEveryRankWithOneLine) {
  VD_REQUIRE_MPI();
  const disttest::ChildRun r = disttest::run_mpi(2, "MpiEnd.DISABLED_SkippedCollectiveEndsTheJob", 60);
  EXPECT_FALSE(r.timed_out) << r.output;
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(std::string("vididi: rank 0 of 2: ") + kTimeoutLine), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("is still running"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 3 + 15) << r.output;
}

TEST(DistMpirun, SkippedCollectiveOn3Ranks) {
  VD_REQUIRE_MPI();
  const disttest::ChildRun r = disttest::run_mpi(3, "MpiEnd.DISABLED_SkippedCollectiveEndsTheJob", 60);
  EXPECT_FALSE(r.timed_out) << r.output;
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(kTimeoutLine), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 3 + 15) << r.output;
}

TEST(DistMpirun, RankThatReturnsEarlyEndsTheJobWithinTheTimeout) {
  VD_REQUIRE_MPI();
  const disttest::ChildRun r = disttest::run_mpi(2, "MpiEnd.DISABLED_RankThatReturnsEarlyEndsTheJob", 60);
  EXPECT_FALSE(r.timed_out) << r.output;
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(kTimeoutLine), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("is still running"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 3 + 15) << r.output;
}

TEST(DistMpirun, RankThatDiesEndsTheJobAtOnce) {
  VD_REQUIRE_MPI();
  const disttest::ChildRun r = disttest::run_mpi(2, "MpiEnd.DISABLED_RankThatDiesEndsTheJob", 60);
  EXPECT_FALSE(r.timed_out) << r.output;
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("is still running"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 20) << "mpirun should end the others long before their 60 s timeout\n" << r.output;
}

// NCCL across GPUs (the unique id through MPI): where a machine has two.
TEST(DistMpirun, NcclOn2Gpus) {
  VD_REQUIRE_MPI();
  if (!vd::dist::built_with_nccl() || vd::cuda::device_count() < 2)
    GTEST_SKIP() << "needs NCCL and 2 GPUs";
  EXPECT_MPI_OK(disttest::run_mpi(2, "MpiNccl.*", 120));
}
