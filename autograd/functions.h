// The differentiable operations: what models, losses and users call. Each one
// computes its forward with the raw ops of core/ops.h and, when an input needs
// a gradient, records its backward on the tape (autograd/node.h). Forward and
// backward sit side by side in autograd/functions_*.cpp. Layouts are
// channels-last: video x [N, T, H, W, C], Conv3d weight [Cout, kT, kH, kW, Cin].
#pragma once
#include <vector>

#include "autograd/node.h"
#include "core/op_types.h"
#include "core/tensor.h"

namespace vd {

// --- elementwise (broadcasting as NumPy) --- functions_elementwise.cpp ---------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // ties share the gradient equally
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);      // a > 0 where b's gradient is needed
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor pow(const Tensor& a, double s);
Tensor rsub(double s, const Tensor& a);  // s - a
Tensor rdiv(double s, const Tensor& a);  // s / a
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor rsqrt(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor square(const Tensor& a);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(double s, const Tensor& a);

// --- reductions (empty dims = all) --- functions_reduce.cpp ---------------------
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Variance with `correction` subtracted from the count (1 = unbiased, as torch.var).
Tensor var(const Tensor& a, const std::vector<int64_t>& dims = {}, int64_t correction = 1,
           bool keepdim = false);
// Maximum; the gradient is shared equally among tied maxima.
Tensor amax(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// --- shape and movement --- functions_views.cpp -----------------------------------
Tensor reshape(const Tensor& a, const Shape& shape);
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& a, int64_t d0, int64_t d1);
Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& a, int64_t dim, int64_t index);
Tensor unsqueeze(const Tensor& a, int64_t dim);
Tensor flatten(const Tensor& a, int64_t start_dim = 1);  // [N, ...] -> [N, prod(...)]
Tensor contiguous(const Tensor& a);
Tensor clone(const Tensor& a);
Tensor to_device(const Tensor& a, Device device);
Tensor to_dtype(const Tensor& a, DType dtype);
Tensor concat(const std::vector<Tensor>& ts, int64_t dim);
Tensor stack(const std::vector<Tensor>& ts, int64_t dim);

// --- linear algebra --- functions_linalg.cpp ---------------------------------------
// [M,K] @ [K,N] or [B,M,K] @ [B,K,N].
Tensor matmul(const Tensor& a, const Tensor& b);
// x: [N, in], w: [out, in], b: [out] or undefined -> [N, out]
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

// --- network layers (channels-last) --- functions_nn.cpp -----------------------------
// x: [N, T, H, W, Cin], w: [Cout, kT, kH, kW, Cin], bias: [Cout] or undefined
// -> [N, To, Ho, Wo, Cout]. win.kernel must equal w's (kT, kH, kW).
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& bias, const Window3d& win);
Tensor max_pool3d(const Tensor& x, const Window3d& win);
Tensor avg_pool3d(const Tensor& x, const Window3d& win, bool count_include_pad = true);
// [N, T, H, W, C] -> [N, C]: mean over T, H, W (AdaptiveAvgPool3d to 1, flattened).
Tensor global_avg_pool3d(const Tensor& x);
// Batch norm over the last axis of x: [N, C] or [N, T, H, W, C]. In training,
// batch statistics normalise and running_mean/var (buffers, updated in place,
// unbiased variance) move by `momentum`; in eval the running ones normalise.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// relu(batch_norm(x) [+ residual]) fused (issue 18): the same statistics and
// running-statistics update as batch_norm, one node that keeps x, the
// statistics and its output (not the batch norm's output nor the sum), and
// bit for bit the composition's values and gradients on the CPU. residual:
// x's shape and dtype, or undefined (then relu(batch_norm(x))).
Tensor batch_norm_act(const Tensor& x, const Tensor& residual, const Tensor& gamma, const Tensor& beta,
                      Tensor& running_mean, Tensor& running_var, bool training, double momentum = 0.1,
                      double eps = 1e-5);
// RoIAlign (torchvision.ops.roi_align, definition in core/op_types.h):
// x: [N, H, W, C] (a video map pooled over T), boxes: [R, 5] rows (batch
// index, x1, y1, x2, y2) in input pixels, in x's dtype and device ->
// [R, PH, PW, C]. Differentiable w.r.t. x only: boxes are constants (no
// gradient flows to them even when they require one).
Tensor roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p);

// --- softmax and losses (over the last axis) --- functions_loss.cpp -------------------
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);
// logits: [N, K], labels: N class indices -> mean negative log-likelihood.
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels);
Tensor mse_loss(const Tensor& a, const Tensor& b);  // mean of squared differences
// x / max(||x||_2, eps) along `dim`, as torch.nn.functional.normalize.
Tensor l2_normalize(const Tensor& x, int64_t dim = -1, double eps = 1e-12);
// a: [N, D], b: [M, D] -> [N, M] cosine similarities.
Tensor cosine_similarity_matrix(const Tensor& a, const Tensor& b, double eps = 1e-8);

}  // namespace vd
