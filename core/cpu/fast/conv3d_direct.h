// core/cpu/fast/conv3d_direct.h: direct f32 3-D convolution on the CPU (no
// column buffer) for channels-last layers whose product side is narrow -- 8
// or 16 channels -- where vol2col + gemm spends most of its time copying and
// packing (the CPU-sized encoder's stem, layer1 and layer2,
// docs/CPU_PERFORMANCE.md). Not the general path: core/cpu/conv3d.cpp calls
// these first and falls back to vol2col + gemm (conv3d_vol2col.h) when one
// returns false. Not the reference (core/cpu/conv3d_reference.h). Needs AVX2
// and FMA at run time (checked once).
#pragma once

#include "core/op_types.h"
#include "core/tensor.h"

namespace vd::cpu {

// y = conv(x, w). Applies when x is f32, y has 8 or 16 channels, the
// dilation is 1 and the kernel is not 1x1x1.
bool conv3d_direct_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y);

// dx = the gradient of conv(x, w) with respect to x, as a convolution of dy
// with the flipped kernel. Applies when dy is f32, dx has 8 or 16
// channels, the stride and dilation are 1, the padding is below the kernel
// size and the kernel is not 1x1x1.
bool conv3d_direct_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx);

// dw = the gradient of conv(x, w) with respect to w. Applies when x is f32,
// dy has 8 or 16 channels, the dilation is 1 and the kernel is not
// 1x1x1.
bool conv3d_direct_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw);

// Turns the direct path off and on (on by default), so that tests and
// bench_cpu_conv can run both paths on one layer. Not thread-safe: set it
// between runs.
void set_conv3d_direct_enabled(bool enabled);

}  // namespace vd::cpu
