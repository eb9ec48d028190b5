// layers/atomic_file.cpp: full writes and atomic publication (see atomic_file.h).
#include "layers/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace vd {

void write_all(int fd, const void* data, size_t n, const std::string& tmp, const char* what) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    VD_CHECK(w > 0, what << ": writing " << tmp << " failed: " << std::strerror(errno) << "; hint: is the disk full?");
    p += w;
    n -= size_t(w);
  }
}

void publish_file(int fd, const std::string& tmp, const std::string& path, const char* what) {
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    VD_FAIL(what << ": fsync/close of " << tmp << " failed: " << std::strerror(err) << "; hint: is the disk full?");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    VD_FAIL(what << ": cannot rename " << tmp << " to " << path << ": " << std::strerror(err));
  }
  // Make the rename itself durable.
  const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace vd
