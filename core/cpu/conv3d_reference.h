// core/cpu/conv3d_reference.h: the CPU reference of 3-D convolution -- the
// three passes written as plain direct loops, in f32 and f64, for reading and
// for the tests to compare every fast path with. Not what ops::conv3d runs:
// core/cpu/conv3d.cpp sends the CPU's convolutions to the fast paths of
// core/cpu/fast/ (direct AVX2 tiles, vol2col + gemm), and CUDA has cuDNN.
//
// Layouts are channels-last, as everywhere in the engine:
//   x: [N, T, H, W, Cin], w: [Cout, kT, kH, kW, Cin], y: [N, To, Ho, Wo, Cout]
// with To = win.out_size(0, T) and likewise Ho, Wo. Every output tensor is
// allocated (and shaped) by the caller, as for the backend kernels of
// core/kernel_list.inc, whose signatures these copy; all tensors must be
// contiguous, on the CPU and of one dtype (f32 or f64).
#pragma once

#include "core/op_types.h"
#include "core/tensor.h"

namespace vd::cpu {

// y[n, to, ho, wo, o] = sum over (kt, kh, kw, i) of
//   x[n, to*st - pt + kt*dt, ho*sh - ph + kh*dh, wo*sw - pw + kw*dw, i] * w[o, kt, kh, kw, i]
// where taps that fall into the padding contribute 0.
void conv3d_reference_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y);

// dx = dL/dx for the upstream gradient dy = dL/dy: every product x * w of the
// forward sends dy * w back to its x element. dx: [N, T, H, W, Cin].
void conv3d_reference_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx);

// dw = dL/dw: every product x * w of the forward sends dy * x to its w
// element, summed over the batch and the output positions. dw: [Cout, kT, kH, kW, Cin].
void conv3d_reference_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw);

}  // namespace vd::cpu
