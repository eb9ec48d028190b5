// Data-parallel training under mpirun (the suites are in tests/mpi/): the
// trainer on 2 ranks equals one process of the global batch for every
// framework with and without SyncBN, and a 2-rank run resumes bitwise
// (tests/mpi/test_mpi_trainer.cpp).
#include <gtest/gtest.h>

#include "tests/test_dist_util.h"

TEST(DistTraining, TwoRanksEqualOneProcessOfTheGlobalBatch) {
  VD_REQUIRE_MPI();
  EXPECT_MPI_OK(disttest::run_mpi(2, "MpiTrainer.*", 300));
}
