// Error construction: prefixes the message with the source location.
#include "core/errors.h"

namespace vd {

void throw_error(const char* file, int line, const std::string& message) {
  std::ostringstream os;
  os << file << ":" << line << ": " << message;
  throw Error(os.str());
}

}  // namespace vd
