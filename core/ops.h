// Raw tensor operations: shape, dtype and device checks, output allocation,
// and the one device switch per op (core/ops.cpp). No autograd here: the
// differentiable versions in autograd/functions.h call these, as do
// optimizers and evaluation code that needs no tape.
#pragma once
#include <vector>

#include "core/op_types.h"
#include "core/tensor.h"

namespace vd::ops {

// --- copies, casts, device moves ---------------------------------------------
Tensor contiguous(const Tensor& t);  // t itself when already contiguous
Tensor clone(const Tensor& t);       // always a fresh contiguous copy
Tensor to_device(const Tensor& t, Device device);
Tensor to_dtype(const Tensor& t, DType dtype);
void copy_(Tensor& dst, const Tensor& src);  // src broadcast to dst's shape
void fill_(Tensor& dst, double value);

// --- views (share storage) ---------------------------------------------------
Tensor reshape(const Tensor& t, Shape shape);  // a view when possible, else a copy
Tensor permute(const Tensor& t, const std::vector<int64_t>& dims);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor expand(const Tensor& t, const Shape& shape);  // broadcast view, stride 0
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor concat(const std::vector<Tensor>& ts, int64_t dim);

// --- elementwise -------------------------------------------------------------
Tensor unary(UnaryOp op, const Tensor& a, double scalar = 0);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
void binary_(BinaryOp op, Tensor& a, const Tensor& b);  // a = op(a, b), b broadcast to a
// Sums g over the dims that broadcasting added or stretched, giving `shape`.
Tensor sum_to(const Tensor& g, const Shape& shape);

// --- reductions ----------------------------------------------------------------
// Empty dims = all dims.
Tensor reduce(ReduceOp op, const Tensor& a, const std::vector<int64_t>& dims, bool keepdim);

// --- matrix products -----------------------------------------------------------
// [M,K] @ [K,N] or batched [B,M,K] @ [B,K,N]; trans_* transposes the last two dims.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// --- convolution, pooling, batch norm, softmax (see core/kernel_list.inc) -------
Tensor conv3d(const Tensor& x, const Tensor& w, const Window3d& win);
Tensor conv3d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                            const Window3d& win);
Tensor conv3d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape,
                              const Window3d& win);
Tensor max_pool3d(const Tensor& x, const Window3d& win);
Tensor max_pool3d_backward(const Tensor& x, const Tensor& dy, const Window3d& win);
Tensor avg_pool3d(const Tensor& x, const Window3d& win, bool count_include_pad);
Tensor avg_pool3d_backward(const Tensor& dy, const Shape& x_shape, const Window3d& win,
                           bool count_include_pad);
Tensor softmax(const Tensor& x, bool log);
Tensor softmax_backward(const Tensor& y, const Tensor& dy, bool log);
// Batch norm over the last axis of x [..., C]. Statistics mean/invstd are [C]
// f64 for f64 x, else f32; gamma/beta [C] or undefined (no affine).
void batch_norm_stats(const Tensor& x, double eps, Tensor& mean, Tensor& invstd);
Tensor batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& gamma, const Tensor& beta);
// dx (x's shape), dgamma, dbeta ([C], gamma's dtype or the statistics').
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                         const Tensor& invstd, const Tensor& gamma, bool training, Tensor& dx,
                         Tensor& dgamma, Tensor& dbeta);
// Fused batch norm + residual add + ReLU (issue 18): y = relu(apply(x) [+
// residual]), bit for bit the composition on the CPU; residual: x's shape
// and dtype, or undefined. Backward from the output y: dx, dgamma, dbeta as
// batch_norm_backward's of relu's gradient, and dresidual (x's shape, only
// when want_residual) that gradient itself.
Tensor batch_norm_act(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                      const Tensor& beta, const Tensor& residual);
void batch_norm_act_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& mean,
                             const Tensor& invstd, const Tensor& gamma, bool training,
                             bool want_residual, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                             Tensor& dresidual);

// --- RoIAlign (core/ops_roi.cpp; definition in core/op_types.h) ----------------
// x: [N, H, W, C], boxes: [R, 5] rows (batch index, x1, y1, x2, y2) in input
// pixels, x's dtype and device -> [R, PH, PW, C]. Backward: the gradient
// w.r.t. x (x_shape), from dy [R, PH, PW, C].
Tensor roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p);
Tensor roi_align_backward(const Tensor& dy, const Tensor& boxes, const Shape& x_shape,
                          const RoiAlignParams& p);

// --- fused optimizer step (helper fusedopt; core/ops_optim.cpp) ------------------
// Kernels of core/kernel_list.inc's block "fused optimizer": flat f32 [n]
// buffers, the f64 segment table [S, fused_col::Count] on their device,
// `work` undefined or a bf16 [n] working copy. In place on p and the state.
void fused_sgd_(const Tensor& table, Tensor& p, const Tensor& g, Tensor& buf, Tensor& work);
Tensor fused_lars_sumsq(const Tensor& table, const Tensor& p, const Tensor& g);  // [S, 2] f64
void fused_lars_(const Tensor& table, const Tensor& sums, Tensor& p, const Tensor& g, Tensor& mu,
                 Tensor& work);
void fused_adamw_(const Tensor& table, Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& work);

// --- checks shared by ops ----------------------------------------------------
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);

}  // namespace vd::ops
