// Errors: one exception type carrying file:line, what was expected, what came,
// and a hint. Not a logging facility. Every check in the engine goes through
// VD_CHECK so that nothing aborts and every message has the same shape.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace vd {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws vd::Error with "file:line: message". Used by the macros below.
[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

}  // namespace vd

// VD_CHECK(cond, "add: shapes " << a << " and " << b << " differ; hint: ...")
#define VD_CHECK(cond, ...)                                      \
  do {                                                           \
    if (!(cond)) {                                               \
      std::ostringstream vd_msg_;                                \
      vd_msg_ << __VA_ARGS__;                                    \
      ::vd::throw_error(__FILE__, __LINE__, vd_msg_.str());      \
    }                                                            \
  } while (0)

#define VD_FAIL(...) VD_CHECK(false, __VA_ARGS__)
