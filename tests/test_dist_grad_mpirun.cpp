// tests/test_dist_grad_mpirun.cpp: runs the multi-process suites of the
// differentiable collectives, gradient buckets and SyncBatchNorm
// (tests/mpi/test_mpi_dist_grad.cpp, MpiGrad*) under mpirun on 1, 2 and 3
// ranks from the main suite (tests/test_dist_util.h run_mpi). Skipped
// without MPI outside CI, failed in CI.
#include <gtest/gtest.h>

#include "tests/test_dist_util.h"

namespace {
const char* kGrad = "MpiGrad*";
}  // namespace

TEST(DistGradMpirun, On2Ranks) {
  VD_REQUIRE_MPI();
  EXPECT_MPI_OK(disttest::run_mpi(2, kGrad, 120));
}

TEST(DistGradMpirun, On3Ranks) {
  VD_REQUIRE_MPI();
  EXPECT_MPI_OK(disttest::run_mpi(3, kGrad, 120));
}

TEST(DistGradMpirun, On1Rank) {
  VD_REQUIRE_MPI();
  EXPECT_MPI_OK(disttest::run_mpi(1, kGrad, 60));
}
