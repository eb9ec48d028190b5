// RoIAlign's geometry, shared by the CPU kernel (core/cpu/roi_align.cpp) and
// its CUDA twin (cuda/roi_align.cu) so that both place and weigh the same
// samples: a box's start, bin size and samples per bin, and the four taps of
// one bilinear sample. It follows torchvision's roi_align kernels
// (torchvision/csrc/ops/cpu/roi_align_kernel.cpp) step by step, computing in
// the element type T as they do. Header-only, host and device; not a kernel,
// and not the test's reference (tests/test_roi_align.cpp writes its own).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/op_types.h"

#ifdef __CUDACC__
#define VD_HOST_DEVICE __host__ __device__
#else
#define VD_HOST_DEVICE
#endif

namespace vd::roi {

// One box in feature-map coordinates.
template <class T>
struct Box {
  int64_t batch;       // image index into x's N
  T start_h, start_w;  // top-left corner
  T bin_h, bin_w;      // bin extent
  int64_t grid_h, grid_w;  // samples per bin per axis (may be <= 0: no samples)
  T count;             // divisor: max(grid_h * grid_w, 1)
};

// row: (batch index, x1, y1, x2, y2) in input pixels.
template <class T>
VD_HOST_DEVICE inline Box<T> make_box(const T* row, const RoiAlignParams& p) {
  Box<T> b;
  b.batch = int64_t(row[0]);
  const T scale = T(p.spatial_scale), shift = p.aligned ? T(0.5) : T(0);
  b.start_w = row[1] * scale - shift;
  b.start_h = row[2] * scale - shift;
  T width = row[3] * scale - shift - b.start_w;
  T height = row[4] * scale - shift - b.start_h;
  if (!p.aligned) {  // legacy: force malformed boxes to 1 x 1
    width = width > T(1) ? width : T(1);
    height = height > T(1) ? height : T(1);
  }
  b.bin_h = height / T(p.pooled_h);
  b.bin_w = width / T(p.pooled_w);
  b.grid_h = p.sampling_ratio > 0 ? p.sampling_ratio : int64_t(ceil(height / T(p.pooled_h)));
  b.grid_w = p.sampling_ratio > 0 ? p.sampling_ratio : int64_t(ceil(width / T(p.pooled_w)));
  const int64_t n = b.grid_h * b.grid_w;
  b.count = T(n > 1 ? n : 1);
  return b;
}

// Sample coordinate i (of `grid`) in bin `bin` along one axis.
template <class T>
VD_HOST_DEVICE inline T sample_at(T start, T bin_size, int64_t bin, int64_t i, int64_t grid) {
  return start + T(bin) * bin_size + T(T(i) + T(0.5)) * bin_size / T(grid);
}

// The four taps of a bilinear sample at (y, x) in an H x W map: offsets
// h * W + w and weights, in the order (low, low), (low, high), (high, low),
// (high, high). False (no taps) when the sample lies outside
// [-1, H] x [-1, W]; otherwise coordinates below 0 are taken as 0 and those
// at or past the last row/column as that row/column.
template <class T>
struct Taps {
  int64_t at[4];
  T w[4];
};

template <class T>
VD_HOST_DEVICE inline bool bilinear_taps(T y, T x, int64_t H, int64_t W, Taps<T>& t) {
  if (y < T(-1) || y > T(H) || x < T(-1) || x > T(W)) return false;
  if (y <= T(0)) y = T(0);
  if (x <= T(0)) x = T(0);
  int64_t y_lo = int64_t(y), x_lo = int64_t(x), y_hi, x_hi;
  if (y_lo >= H - 1) {
    y_hi = y_lo = H - 1;
    y = T(y_lo);
  } else {
    y_hi = y_lo + 1;
  }
  if (x_lo >= W - 1) {
    x_hi = x_lo = W - 1;
    x = T(x_lo);
  } else {
    x_hi = x_lo + 1;
  }
  const T ly = y - T(y_lo), lx = x - T(x_lo), hy = T(1) - ly, hx = T(1) - lx;
  t.at[0] = y_lo * W + x_lo;
  t.at[1] = y_lo * W + x_hi;
  t.at[2] = y_hi * W + x_lo;
  t.at[3] = y_hi * W + x_hi;
  t.w[0] = hy * hx;
  t.w[1] = hy * lx;
  t.w[2] = ly * hx;
  t.w[3] = ly * lx;
  return true;
}

}  // namespace vd::roi
