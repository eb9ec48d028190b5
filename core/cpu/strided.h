// Walks the elements of up to three same-shape tensors with arbitrary strides,
// calling f(off0, off1, off2) with element offsets, in row-major order. The
// CPU kernels use it for every non-contiguous case. Not a parallel loop.
#pragma once
#include <vector>

#include "core/shape.h"

namespace vd::cpu {

template <class F>
void for_each_offset(const Shape& shape, const Shape& s0, const Shape& s1, const Shape& s2,
                     int64_t o0, int64_t o1, int64_t o2, F f) {
  const int nd = int(shape.size());
  if (shape_numel(shape) == 0) return;
  if (nd == 0) {
    f(o0, o1, o2);
    return;
  }
  const int64_t inner = shape[size_t(nd - 1)];
  const int64_t i0 = s0[size_t(nd - 1)], i1 = s1[size_t(nd - 1)], i2 = s2[size_t(nd - 1)];
  std::vector<int64_t> idx(size_t(nd), 0);
  for (;;) {
    for (int64_t k = 0; k < inner; ++k) f(o0 + k * i0, o1 + k * i1, o2 + k * i2);
    int d = nd - 2;  // odometer over the outer dims
    for (; d >= 0; --d) {
      size_t u = size_t(d);
      o0 += s0[u];
      o1 += s1[u];
      o2 += s2[u];
      if (++idx[u] < shape[u]) break;
      o0 -= s0[u] * shape[u];
      o1 -= s1[u] * shape[u];
      o2 -= s2[u] * shape[u];
      idx[u] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace vd::cpu
