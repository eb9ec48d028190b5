// core/cpu/fast/conv3d_vol2col.h: the general fast path of CPU 3-D
// convolution, vol2col + gemm, for every layer the direct kernels
// (conv3d_direct.h) decline. Not the reference (core/cpu/conv3d_reference.h)
// and not the entry point: core/cpu/conv3d.cpp calls these after the direct
// kernels declined. The caller has checked shapes and dtype (f32 or f64).
#pragma once

#include "core/op_types.h"
#include "core/tensor.h"

namespace vd::cpu {

// x: [N, T, H, W, Cin], w: [Cout, kT, kH, kW, Cin], y: [N, To, Ho, Wo, Cout]
void conv3d_vol2col_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y);
// dx = the gradient of conv(x, w) with respect to x, for the upstream dy.
void conv3d_vol2col_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx);
// dw = the gradient of conv(x, w) with respect to w, for the upstream dy.
void conv3d_vol2col_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw);

}  // namespace vd::cpu
