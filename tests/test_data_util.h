// tests/test_data_util.h: helpers shared by the data tests: a temporary
// folder removed at scope exit, file writing, the fixture folder, a check
// that a call throws DataError whose message contains given pieces, and a
// shell runner (for the tests that call ffmpeg and python3).
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "data/error.h"

namespace vd::data::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vididi_data_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// tests/data/, found from this header's path (the tests run from the repo root).
inline std::string fixture(const std::string& rel) {
  return (std::filesystem::path(__FILE__).parent_path() / "data" / rel).string();
}

// Fails unless f throws DataError whose message contains every piece.
inline void expect_data_error(const std::function<void()>& f, const std::vector<std::string>& pieces) {
  try {
    f();
    ADD_FAILURE() << "expected DataError, nothing was thrown";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    for (const std::string& p : pieces)
      EXPECT_NE(msg.find(p), std::string::npos) << "message lacks '" << p << "': " << msg;
  }
}

// Runs a shell command; returns its exit status and puts stdout+stderr (or,
// with merge_stderr = false, stdout alone) in out.
inline int shell(const std::string& cmd, std::string& out, bool merge_stderr = true) {
  out.clear();
  FILE* p = popen((merge_stderr ? cmd + " 2>&1" : cmd).c_str(), "r");
  if (!p) return -1;
  char buf[512];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace vd::data::testing
