// tests/test_cli_util.h: helpers of the vididi command tests: run a
// subcommand in-process on an argv array, and check the error contract (one
// line on stderr naming the problem, exit code 1). Not the tests themselves.
#pragma once
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <sstream>
#include <string>
#include <vector>

#include "vididi/cli/cli.h"

namespace cli_test {

struct Result {
  int code;
  std::string out, err;
};

inline Result cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = vd::cli::run(args, out, err);
  return {code, out.str(), err.str()};
}

inline bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// An error is exactly one line on stderr containing `needle`, and the exit code is 1.
inline void expect_one_line_error(const Result& r, const std::string& needle) {
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

inline std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A run folder of this test process, removed first: a run refuses an `out`
// that already holds one (--resume or --overwrite), so reruns of the suite
// and concurrent suites must not share or reuse folders.
inline std::string fresh_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(d);
  return d;
}

// The whole file, or "" when it cannot be read.
inline std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace cli_test
