// CPU 3-D convolution, the backend's kernels (core/kernel_list.inc):
// forward, backward-data and backward-weight, channels-last, f32 and f64.
// This file only chooses the path; the work is done by the fast paths of
// core/cpu/fast/ -- the direct AVX2 tiles of narrow f32 layers
// (conv3d_direct.h) first, vol2col + gemm (conv3d_vol2col.h) for every case
// they decline. Not the reference a reader should start from: that is
// core/cpu/conv3d_reference.h, plain direct loops, which the tests compare
// both fast paths with. The CUDA twin is cuda/conv3d.cpp (cuDNN).
//
// x: [N, T, H, W, Cin], w: [Cout, kT, kH, kW, Cin], y: [N, To, Ho, Wo, Cout]
#include "core/backend.h"
#include "core/cpu/dtype_check.h"
#include "core/cpu/fast/conv3d_direct.h"
#include "core/cpu/fast/conv3d_vol2col.h"

namespace vd::cpu {

void conv3d_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  check_float_dtype(x, "conv3d");
  if (conv3d_direct_forward(x, w, win, y)) return;
  conv3d_vol2col_forward(x, w, win, y);
}

void conv3d_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  check_float_dtype(dy, "conv3d_backward_data");
  if (conv3d_direct_backward_data(dy, w, win, dx)) return;
  conv3d_vol2col_backward_data(dy, w, win, dx);
}

void conv3d_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  check_float_dtype(dy, "conv3d_backward_weight");
  if (conv3d_direct_backward_weight(x, dy, win, dw)) return;
  conv3d_vol2col_backward_weight(x, dy, win, dw);
}

}  // namespace vd::cpu
