// tests/test_dist_util.h: helpers of the main suite's distributed tests: run
// a child process with a time bound and its output captured (run_child), run
// the multi-process tests under mpirun (run_mpi: `mpirun -np N --oversubscribe
// build/mpi_tests --gtest_filter=...`, with the variables Open MPI needs to
// run as root), and the skip-or-fail rule when the build has no MPI
// (VD_REQUIRE_MPI). A new multi-process suite is a tests/mpi/test_mpi_*.cpp
// (it joins build/mpi_tests by wildcard) plus a main-suite test that runs it:
//   TEST(DistBuckets, On2Ranks) { VD_REQUIRE_MPI(); EXPECT_MPI_OK(disttest::run_mpi(2, "MpiBuckets.*", 120)); }
#pragma once
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dist/communicator.h"

extern char** environ;

namespace disttest {

struct ChildRun {
  int code = -1;           // exit code, or 128 + signal
  bool timed_out = false;  // killed after timeout_s
  double seconds = 0;      // wall time until it ended
  std::string output;      // stdout and stderr, interleaved
};

// Runs argv (argv[0] looked up in PATH) in its own process group with `env`
// ("NAME=value") added to this process's environment; past timeout_s the
// whole group is killed.
inline ChildRun run_child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          double timeout_s) {
  ChildRun run;
  int fds[2];
  if (::pipe(fds) != 0) {
    run.output = "pipe() failed";
    return run;
  }
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.push_back(*e);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const std::string& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execvpe(cargv[0], cargv.data(), cenv.data());
    std::fprintf(stderr, "exec %s: %s\n", cargv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  int status = 0;
  bool exited = false, eof = false;
  char buf[4096];
  while (!exited || !eof) {
    if (!eof) {
      pollfd p{fds[0], POLLIN, 0};
      ::poll(&p, 1, 50);
      for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) {
          run.output.append(buf, size_t(n));
          continue;
        }
        if (n == 0) eof = true;
        break;
      }
    }
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      run.seconds = elapsed();
    }
    if (exited && !eof) {  // a grandchild may hold the pipe: drain what is there, briefly
      if (elapsed() > run.seconds + 2) break;
    }
    if (!exited && elapsed() > timeout_s) {
      run.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited = true;
      run.seconds = elapsed();
      break;
    }
  }
  ::kill(-pid, SIGKILL);  // whatever of the group is left
  ::close(fds[0]);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

// build/mpi_tests, next to the running tests binary.
inline std::string mpi_tests_binary() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = n > 0 ? std::string(self, size_t(n)) : std::string("build/tests");
  dir = dir.substr(0, dir.rfind('/') + 1);
  return dir + "mpi_tests";
}

// The environment Open MPI needs here: running as root, and no CMA single-copy
// transfers (refused in containers without ptrace rights).
inline std::vector<std::string> mpi_env() {
  return {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
          "OMPI_MCA_btl_vader_single_copy_mechanism=none", "OMPI_MCA_rmaps_base_oversubscribe=1"};
}

// `mpirun -np ranks --oversubscribe mpi_tests --gtest_filter=filter`, bounded
// by timeout_s (DISABLED_ tests named by the filter are run).
inline ChildRun run_mpi(int ranks, const std::string& filter, double timeout_s = 60,
                        const std::vector<std::string>& extra_env = {}) {
  if (::access(mpi_tests_binary().c_str(), X_OK) != 0) {
    ChildRun missing;
    missing.output = mpi_tests_binary() + " is missing; build it: make " + mpi_tests_binary();
    return missing;
  }
  std::vector<std::string> argv{"mpirun", "-np", std::to_string(ranks), "--oversubscribe", "--bind-to", "none",
                                mpi_tests_binary(), "--gtest_filter=" + filter};
  if (filter.find("DISABLED_") != std::string::npos) argv.push_back("--gtest_also_run_disabled_tests");
  std::vector<std::string> env = mpi_env();
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return run_child(argv, env, timeout_s);
}

inline ::testing::AssertionResult mpi_ok(const ChildRun& r) {
  if (!r.timed_out && r.code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << (r.timed_out ? "mpirun timed out" : "mpirun exited with code ")
                                       << (r.timed_out ? "" : std::to_string(r.code)) << " after " << r.seconds
                                       << " s; its output:\n"
                                       << r.output;
}

}  // namespace disttest

#define EXPECT_MPI_OK(run) EXPECT_TRUE(::disttest::mpi_ok(run))

// Without MPI in the build the multi-process tests cannot run: skipped on a
// developer's machine, a failure in CI (env CI set), where deps install it.
#define VD_REQUIRE_MPI()                                                                              \
  do {                                                                                               \
    if (!::vd::dist::built_with_mpi()) {                                                             \
      if (std::getenv("CI")) FAIL() << "built without MPI; scripts/deps.sh installs libopenmpi-dev"; \
      GTEST_SKIP() << "built without MPI (install openmpi-bin libopenmpi-dev and rebuild)";         \
    }                                                                                                \
  } while (0)
