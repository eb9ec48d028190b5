// Raw window ops (conv3d, pooling), batch norm (plain and fused with the
// residual add and ReLU) and softmax: shape checks, output allocation and
// the device switch. Kernels: core/cpu/ and cuda/.
#include "core/backend.h"
#include "core/ops.h"


namespace vd::ops {

// Checks a window against a channels-last input [N, T, H, W, C]; returns the
// output's [To, Ho, Wo].
static std::array<int64_t, 3> window_output(const Shape& x, const Window3d& win, const char* op) {
  VD_CHECK(x.size() == 5, op << ": expected input [N, T, H, W, C], got " << shape_str(x));
  std::array<int64_t, 3> out{};
  for (int i = 0; i < 3; ++i) {
    VD_CHECK(win.kernel[size_t(i)] > 0 && win.stride[size_t(i)] > 0 && win.dilation[size_t(i)] > 0 &&
                 win.padding[size_t(i)] >= 0,
             op << ": invalid window " << win.str()
                << "; hint: kernel, stride and dilation must be positive, padding non-negative");
    out[size_t(i)] = win.out_size(i, x[size_t(i) + 1]);
    VD_CHECK(out[size_t(i)] > 0, op << ": input " << shape_str(x) << " too small for window "
                                    << win.str() << " (output size " << out[size_t(i)]
                                    << " on axis " << "THW"[i] << ")");
  }
  return out;
}

Tensor conv3d(const Tensor& x, const Tensor& w, const Window3d& win) {
  check_same_device(x, w, "conv3d");
  check_same_dtype(x, w, "conv3d");
  VD_CHECK(w.dim() == 5 && x.dim() == 5 && w.size(4) == x.size(4),
           "conv3d: expected x [N, T, H, W, Cin] and weight [Cout, kT, kH, kW, Cin], got x "
               << describe(x) << " and weight " << describe(w));
  VD_CHECK(w.size(1) == win.kernel[0] && w.size(2) == win.kernel[1] && w.size(3) == win.kernel[2],
           "conv3d: weight " << describe(w) << " does not match " << win.str());
  auto o = window_output(x.shape(), win, "conv3d");
  Tensor y = Tensor::empty({x.size(0), o[0], o[1], o[2], w.size(0)}, x.dtype(), x.device());
  VD_DISPATCH(x.device(), conv3d_forward, contiguous(x), contiguous(w), win, y);
  return y;
}

Tensor conv3d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Window3d& win) {
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  VD_DISPATCH(dy.device(), conv3d_backward_data, contiguous(dy), contiguous(w), win, dx);
  return dx;
}

Tensor conv3d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, const Window3d& win) {
  Tensor dw = Tensor::empty(w_shape, dy.dtype(), dy.device());
  VD_DISPATCH(dy.device(), conv3d_backward_weight, contiguous(x), contiguous(dy), win, dw);
  return dw;
}

static Tensor pool_output(const Tensor& x, const Window3d& win, const char* op) {
  auto o = window_output(x.shape(), win, op);
  for (int i = 0; i < 3; ++i)
    VD_CHECK(win.padding[size_t(i)] * 2 <= win.kernel[size_t(i)],
             op << ": padding " << win.padding[size_t(i)] << " exceeds half the kernel "
                << win.kernel[size_t(i)] << " (" << win.str() << ")");
  return Tensor::empty({x.size(0), o[0], o[1], o[2], x.size(4)}, x.dtype(), x.device());
}

Tensor max_pool3d(const Tensor& x, const Window3d& win) {
  Tensor y = pool_output(x, win, "max_pool3d");
  VD_DISPATCH(x.device(), max_pool3d_forward, contiguous(x), win, y);
  return y;
}

Tensor max_pool3d_backward(const Tensor& x, const Tensor& dy, const Window3d& win) {
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  VD_DISPATCH(x.device(), max_pool3d_backward, contiguous(x), contiguous(dy), win, dx);
  return dx;
}

Tensor avg_pool3d(const Tensor& x, const Window3d& win, bool count_include_pad) {
  Tensor y = pool_output(x, win, "avg_pool3d");
  VD_DISPATCH(x.device(), avg_pool3d_forward, contiguous(x), win, count_include_pad, y);
  return y;
}

Tensor avg_pool3d_backward(const Tensor& dy, const Shape& x_shape, const Window3d& win,
                           bool count_include_pad) {
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  VD_DISPATCH(dy.device(), avg_pool3d_backward, contiguous(dy), win, count_include_pad, dx);
  return dx;
}

// Softmax over the last axis, rows of a [M, K] view.
Tensor softmax(const Tensor& x, bool log) {
  VD_CHECK(x.dim() >= 1, "softmax: expected at least one dim, got " << describe(x));
  Tensor xc = contiguous(x);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  VD_DISPATCH(x.device(), softmax_forward, xc, log, y);
  return y;
}

Tensor softmax_backward(const Tensor& y, const Tensor& dy, bool log) {
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
  VD_DISPATCH(y.device(), softmax_backward, contiguous(y), contiguous(dy), log, dx);
  return dx;
}

// Batch norm over the last axis: x viewed as [M, C].
static DType stats_dtype(const Tensor& x) { return x.dtype() == DType::F64 ? DType::F64 : DType::F32; }

static void check_channels(const Tensor& x, const Tensor& t, const char* what, const char* op) {
  if (!t.defined()) return;
  check_same_device(x, t, op);
  VD_CHECK(t.dim() == 1 && t.size(0) == x.size(-1),
           op << ": expected " << what << " [" << x.size(-1) << "] for x " << describe(x)
              << ", got " << describe(t) << "; hint: C is x's last (channels-last) axis");
}

void batch_norm_stats(const Tensor& x, double eps, Tensor& mean, Tensor& invstd) {
  VD_CHECK(x.dim() >= 2 && x.numel() > 0,
           "batch_norm: expected x [N, C] or [N, T, H, W, C] with elements, got " << describe(x));
  mean = Tensor::empty({x.size(-1)}, stats_dtype(x), x.device());
  invstd = Tensor::empty({x.size(-1)}, stats_dtype(x), x.device());
  VD_DISPATCH(x.device(), batch_norm_stats, contiguous(x), eps, mean, invstd);
}

Tensor batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& gamma, const Tensor& beta) {
  VD_CHECK(x.dim() >= 1, "batch_norm: expected x [..., C], got " << describe(x));
  check_channels(x, mean, "mean", "batch_norm");
  check_channels(x, invstd, "invstd", "batch_norm");
  check_channels(x, gamma, "gamma", "batch_norm");
  check_channels(x, beta, "beta", "batch_norm");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  VD_DISPATCH(x.device(), batch_norm_apply, contiguous(x), mean, invstd, gamma, beta, y);
  return y;
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                         const Tensor& invstd, const Tensor& gamma, bool training, Tensor& dx,
                         Tensor& dgamma, Tensor& dbeta) {
  dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  const DType pd = gamma.defined() ? gamma.dtype() : stats_dtype(x);
  dgamma = Tensor::empty({x.size(-1)}, pd, x.device());
  dbeta = Tensor::empty({x.size(-1)}, pd, x.device());
  VD_DISPATCH(x.device(), batch_norm_backward, contiguous(dy), contiguous(x), mean, invstd, gamma,
              training, dx, dgamma, dbeta);
}

// --- fused batch norm + residual add + ReLU (issue 18) ---------------------------
// x, residual: [..., C] (residual x's shape and dtype, or undefined).
Tensor batch_norm_act(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                      const Tensor& beta, const Tensor& residual) {
  VD_CHECK(x.dim() >= 1, "batch_norm_act: expected x [..., C], got " << describe(x));
  check_channels(x, mean, "mean", "batch_norm_act");
  check_channels(x, invstd, "invstd", "batch_norm_act");
  check_channels(x, gamma, "gamma", "batch_norm_act");
  check_channels(x, beta, "beta", "batch_norm_act");
  if (residual.defined()) {
    check_same_device(x, residual, "batch_norm_act");
    check_same_dtype(x, residual, "batch_norm_act");
    VD_CHECK(residual.shape() == x.shape(),
             "batch_norm_act: expected the residual in x's shape " << describe(x) << ", got "
                 << describe(residual) << "; hint: the fused add does not broadcast");
  }
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  VD_DISPATCH(x.device(), batch_norm_act_forward, contiguous(x), mean, invstd, gamma, beta,
              residual.defined() ? contiguous(residual) : Tensor(), y);
  return y;
}

void batch_norm_act_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& mean,
                             const Tensor& invstd, const Tensor& gamma, bool training,
                             bool want_residual, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                             Tensor& dresidual) {
  VD_CHECK(dy.shape() == x.shape() && y.shape() == x.shape(),
           "batch_norm_act_backward: expected dy and y in x's shape " << describe(x) << ", got dy "
               << describe(dy) << " and y " << describe(y));
  dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  const DType pd = gamma.defined() ? gamma.dtype() : stats_dtype(x);
  dgamma = Tensor::empty({x.size(-1)}, pd, x.device());
  dbeta = Tensor::empty({x.size(-1)}, pd, x.device());
  dresidual = want_residual ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
  VD_DISPATCH(x.device(), batch_norm_act_backward, contiguous(dy), contiguous(y), contiguous(x), mean,
              invstd, gamma, training, dx, dgamma, dbeta, dresidual);
}

}  // namespace vd::ops
