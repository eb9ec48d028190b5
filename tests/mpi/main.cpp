// tests/mpi/main.cpp: the main() of build/mpi_tests, the multi-process
// GoogleTest binary run under mpirun (tests/test_dist_mpirun.cpp does, with
// 2 and 3 ranks). Every rank runs the tests; rank 0 prints GoogleTest's usual
// output, the other ranks print only their failures, each line prefixed
// "[rank r]". The exit code is non-zero on every rank when any rank failed
// (the failure count is all-reduced). Not the tests (tests/mpi/test_mpi_*.cpp).
#include <gtest/gtest.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "tests/mpi/mpi_util.h"

namespace {

// Failures of a rank other than 0, one line each.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  // The test's name is kept here: asking UnitTest for the current test from
  // OnTestPartResult deadlocks (GoogleTest holds its mutex while reporting).
  void OnTestStart(const ::testing::TestInfo& info) override {
    test_ = std::string(info.test_suite_name()) + "." + info.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::cout << "[rank " << rank_ << "] " << test_ << " " << (r.file_name() ? r.file_name() : "?") << ":"
              << r.line_number() << ": " << r.message() << std::endl;
  }

 private:
  int rank_;
  std::string test_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  try {
    rank = mpitest::rank();
  } catch (const std::exception& e) {
    std::cerr << "mpi_tests: " << e.what() << std::endl;
    return 1;
  }
  if (rank != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }
  const int rc = RUN_ALL_TESTS();
  std::vector<double> failed{rc != 0 ? 1.0 : 0.0};
  mpitest::world()->all_reduce_host(failed);
  if (rank == 0 && failed[0] > 0)
    std::cout << "mpi_tests: " << failed[0] << " of " << mpitest::world_size() << " ranks failed" << std::endl;
  return failed[0] > 0 ? 1 : 0;
}
