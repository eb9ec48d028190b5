// data/error.h: the one exception type of the data layer, and the helper that
// formats its messages as "<where>: <what> (expected ..., got ...). Hint: ...".
// It is not the engine's error type (core/errors.h): data/ depends on nothing
// above the standard library, so the trainer can catch vd::data::DataError or
// plain std::runtime_error.
#pragma once

#include <stdexcept>
#include <string>

namespace vd::data {

class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// where: a path, "path:line", or a function name; what: what went wrong,
// stating what was expected and what came; hint: what the user can do.
[[noreturn]] inline void fail(const std::string& where, const std::string& what,
                              const std::string& hint = "") {
  std::string msg = where.empty() ? what : where + ": " + what;
  if (!hint.empty()) msg += ". Hint: " + hint;
  throw DataError(msg);
}

}  // namespace vd::data
