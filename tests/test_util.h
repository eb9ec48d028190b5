// Helpers shared by every test file: the message of the vd::Error a call
// throws, so that tests can assert on what an error says.
#pragma once
#include <string>

#include "core/errors.h"

namespace vd::testing {

// Message of the vd::Error that f throws; "(no error)" when it does not throw.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const vd::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace vd::testing
