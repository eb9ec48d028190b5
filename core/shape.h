// Shapes and strides: plain vectors of int64 with the few helpers every op
// needs (element count, contiguous strides, broadcasting, dim wrapping).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace vd {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2, 3, 4]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
// NumPy broadcasting; `op` names the caller in the error.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Wraps a possibly negative dim into [0, ndim); `op` names the caller.
int wrap_dim(int64_t dim, int ndim, const char* op);

}  // namespace vd
