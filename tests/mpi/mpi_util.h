// tests/mpi/mpi_util.h: what the multi-process tests (tests/mpi/test_mpi_*.cpp,
// run under mpirun as build/mpi_tests) share: the world communicator (the mpi
// backend over the launcher's variables), the rank and world size, and the
// rule that keeps every rank in step. Not a test by itself; the main() is
// tests/mpi/main.cpp.
//
// Every rank runs the same tests in the same order, so collectives match. A
// test must reach the same collectives on every rank: check with EXPECT_*
// after the collectives (an ASSERT_* that returns early on one rank leaves
// the others waiting until the timeout). The world communicator's timeout is
// VD_MPI_TEST_TIMEOUT seconds (default 60).
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "dist/communicator.h"
#include "dist/launch.h"

namespace mpitest {

inline double timeout_s() {
  const char* t = std::getenv("VD_MPI_TEST_TIMEOUT");
  return t && *t ? std::atof(t) : 60.0;
}

// The communicator of every test (made on first use, by main()).
inline std::shared_ptr<vd::dist::Communicator>& world() {
  static std::shared_ptr<vd::dist::Communicator> comm = vd::dist::make_communicator(
      vd::dist::Backend::Mpi, vd::dist::launch_from_environment(), vd::Device::cpu(), timeout_s());
  return comm;
}

inline int rank() { return world()->rank(); }
inline int world_size() { return world()->world_size(); }

// Another communicator over the same ranks with its own timeout (the tests
// of the end of a job use a short one).
inline std::shared_ptr<vd::dist::Communicator> with_timeout(double seconds) {
  return vd::dist::make_communicator(vd::dist::Backend::Mpi, vd::dist::launch_from_environment(), vd::Device::cpu(),
                                     seconds);
}

}  // namespace mpitest
