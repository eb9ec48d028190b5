// vididi/npy.h: writing NumPy's .npy format (version 1.0: the magic
// "\x93NUMPY", a little-endian header dict {'descr': '<f4', 'fortran_order':
// False, 'shape': (rows, cols), } padded with blanks to a multiple of 64
// bytes, then the float32 data in C order), which numpy.load and the
// temporal-localisation toolkits (ActionFormer, OpenTAD) read. The file is
// written whole through data::write_file (checked, removed on failure).
// Not here: reading .npy files, other dtypes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vd::vididi {

// The bytes of a [rows, cols] float32 array (data.size() == rows * cols).
std::string npy_bytes(const std::vector<float>& data, int64_t rows, int64_t cols);
void write_npy(const std::string& path, const std::vector<float>& data, int64_t rows, int64_t cols);

}  // namespace vd::vididi
