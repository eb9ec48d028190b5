// Errors: vd::Error for internal errors (file:line, what was expected, what
// came, a hint) and vd::UsageError for the user's mistakes (no source
// location). Not a logging facility. Every check in the engine goes through
// VD_CHECK so that nothing aborts and every message has the same shape.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace vd {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A mistake in the user's input (a key, a value, a file, a folder): printed
// by the command line as one line without a source location. The message is
// complete ("bad value for 'lr' (run.cfg:3): expected ..."); key() names the
// setting when there is one and where() the place the value came from
// ("run.cfg:3", "--lr", a path), for callers that act on them.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what, std::string key = {}, std::string where = {})
      : Error(what), key_(std::move(key)), where_(std::move(where)) {}
  const std::string& key() const { return key_; }
  const std::string& where() const { return where_; }

 private:
  std::string key_, where_;
};

// Throws vd::Error with "file:line: message": an internal error, a broken
// invariant of the engine. Used by the macros below.
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

// VD_USER_CHECK(cond, "file.safetensors: 'x' expected ..."): a refusal of the
// user's input (a file, a value), thrown as vd::UsageError without a source
// location; the message must name the input.
#define VD_USER_CHECK(cond, ...)                                 \
  do {                                                           \
    if (!(cond)) {                                               \
      std::ostringstream vd_msg_;                                \
      vd_msg_ << __VA_ARGS__;                                    \
      throw ::vd::UsageError(vd_msg_.str());                     \
    }                                                            \
  } while (0)
