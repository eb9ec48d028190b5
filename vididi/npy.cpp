// vididi/npy.cpp: the .npy writer (see npy.h).
#include "vididi/npy.h"

#include <cstring>

#include "core/errors.h"
#include "data/image.h"

namespace vd::vididi {

std::string npy_bytes(const std::vector<float>& data, int64_t rows, int64_t cols) {
  VD_CHECK(rows >= 0 && cols >= 0 && int64_t(data.size()) == rows * cols,
           "npy_bytes: expected " << rows << " x " << cols << " values, got " << data.size());
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "), }";
  const size_t unpadded = 10 + dict.size() + 1;  // magic 6, version 2, length 2, dict, '\n'
  dict += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(dict.size());
  out += char(len & 0xff);
  out += char(len >> 8);
  out += dict;
  const size_t at = out.size();
  out.resize(at + data.size() * sizeof(float));
  std::memcpy(&out[at], data.data(), data.size() * sizeof(float));  // little-endian hosts (x86-64, aarch64)
  return out;
}

void write_npy(const std::string& path, const std::vector<float>& data, int64_t rows, int64_t cols) {
  data::write_file(path, npy_bytes(data, rows, cols));
}

}  // namespace vd::vididi
