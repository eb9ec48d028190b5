// tests/mpi/test_mpi_end.cpp: how a job ends when a rank does not come: a
// rank that skips a collective, returns from main early, or dies. Each ends
// the whole job, so these are DISABLED_ in an ordinary run of mpi_tests and
// run one per mpirun by the main suite (DistMpirun.*, which checks the one
// timeout line and that mpirun ended within a bound). Not the collectives'
// values (test_mpi_collectives.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "tests/mpi/mpi_util.h"

using vd::Tensor;

// The last rank never calls the all-reduce (it sleeps far past the timeout):
// the others wait 3 s, print the line and MPI_Abort the job.
TEST(MpiEnd, DISABLED_SkippedCollectiveEndsTheJob) {
  auto c = mpitest::with_timeout(3);
  Tensor t = Tensor::ones({4});
  if (c->rank() == c->world_size() - 1) {
    std::this_thread::sleep_for(std::chrono::seconds(60));
  } else {
    c->all_reduce(t);
  }
  ADD_FAILURE() << "rank " << c->rank() << " is still running";
}

// The last rank returns from main (exit(0): atexit's MPI_Finalize waits for
// the others) while they wait in a collective: they time out after 3 s.
TEST(MpiEnd, DISABLED_RankThatReturnsEarlyEndsTheJob) {
  auto c = mpitest::with_timeout(3);
  Tensor t = Tensor::ones({4});
  if (c->rank() == c->world_size() - 1) std::exit(0);
  c->all_reduce(t);
  ADD_FAILURE() << "rank " << c->rank() << " is still running";
}

// The last rank dies (no MPI_Finalize, exit code 3): mpirun ends the others
// at once, long before their 60 s timeout.
TEST(MpiEnd, DISABLED_RankThatDiesEndsTheJob) {
  auto c = mpitest::with_timeout(60);
  Tensor t = Tensor::ones({4});
  if (c->rank() == c->world_size() - 1) std::_Exit(3);
  c->all_reduce(t);
  ADD_FAILURE() << "rank " << c->rank() << " is still running";
}
