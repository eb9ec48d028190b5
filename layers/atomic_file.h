// layers/atomic_file.h: the two steps every durable writer of the engine
// shares (checkpoints, safetensors files): writing all bytes to a file
// descriptor, and publishing a finished temporary file over its final path
// (fsync, close, rename, fsync of the folder), so that a reader sees the old
// file or the new one, never half of one. Errors are vd::Error naming the
// file; a failed publish removes the temporary. Not here: what the files hold.
#pragma once
#include <cstddef>
#include <string>

namespace vd {

// Writes all `n` bytes (retrying on EINTR); `what` starts the message
// ("checkpoint: writing X failed: No space left on device; hint: is the disk full?").
void write_all(int fd, const void* data, size_t n, const std::string& tmp, const char* what);

// fsync and close `fd` (the temporary `tmp`), rename it over `path`, fsync
// the folder. On any failure `tmp` is removed and vd::Error thrown.
void publish_file(int fd, const std::string& tmp, const std::string& path, const char* what);

}  // namespace vd
