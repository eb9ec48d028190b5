// CPU fused batch norm + residual add + ReLU over the last (channel) axis,
// f32 and f64: the reference of cuda/batch_norm_act.cu. It does the
// composition's arithmetic in the composition's order, so that its results
// equal batch_norm_apply -> add -> relu (and relu's, add's and
// batch_norm_backward's gradients) bit for bit:
//   forward  y = max(0, (x * scale + shift) + r), scale = T(invstd * gamma),
//            shift = T(beta - mean * invstd * gamma), each step in T;
//   backward g = y > 0 ? dy : 0 (relu's mask read from the output),
//            dr = g, and batch_norm_backward's formulas with g for dy
//            (the sums in the same fixed order, core/cpu/batch_norm_sums.h).
// Not the statistics (batch_norm_stats in core/cpu/batch_norm.cpp) and not
// the running-statistics update (autograd/functions_nn.cpp).
//
// x, r, y, dy, dx, dr: [M, C] contiguous (leading dims flattened); mean,
// invstd, gamma, beta, dgamma, dbeta: [C] of f32 or f64; gamma/beta, r, dx
// and dr may be undefined (no affine: gamma 1, beta 0; no residual).
#include <algorithm>
#include <vector>

#include "core/backend.h"
#include "core/cpu/batch_norm_sums.h"
#include "core/cpu/dtype_check.h"

namespace vd::cpu {

namespace {

using bn::channel_sums;
using bn::channel_values;
using bn::kMinSplit;
using bn::store_channels;
using bn::write_dx;

template <class T>
void forward_typed(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                   const Tensor& beta, const Tensor& residual, Tensor& y) {
  const int64_t C = x.size(-1), M = x.numel() / std::max<int64_t>(1, C);
  const std::vector<double> mu = channel_values(mean, C, 0), is = channel_values(invstd, C, 1);
  const std::vector<double> ga = channel_values(gamma, C, 1), be = channel_values(beta, C, 0);
  // As batch_norm_apply: y = x * scale + shift, scale and shift rounded to T.
  std::vector<T> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (size_t c = 0; c < size_t(C); ++c) {
    scale[c] = T(is[c] * ga[c]);
    shift[c] = T(be[c] - mu[c] * is[c] * ga[c]);
  }
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* rp = residual.defined() ? static_cast<const T*>(residual.data_ptr()) : nullptr;
  T* yp = static_cast<T*>(y.data_ptr());
  parallel2(M, kMinSplit, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = m * C + c;
        T v = xp[i] * scale[size_t(c)] + shift[size_t(c)];  // batch_norm_apply
        if (rp) v = v + rp[i];                              // add
        yp[i] = v > T(0) ? v : T(0);                        // relu
      }
  });
}

template <class T>
void backward_typed(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& mean,
                    const Tensor& invstd, const Tensor& gamma, bool training, Tensor& dx,
                    Tensor& dgamma, Tensor& dbeta, Tensor& dresidual) {
  const int64_t C = x.size(-1), M = x.numel() / std::max<int64_t>(1, C);
  const std::vector<double> mu = channel_values(mean, C, 0), is = channel_values(invstd, C, 1);
  const std::vector<double> ga = channel_values(gamma, C, 1);
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* yp = static_cast<const T*>(y.data_ptr());
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  T* drp = dresidual.defined() ? static_cast<T*>(dresidual.data_ptr()) : nullptr;
  // relu's gradient (BinaryOp::ReluGrad): the mask y > 0 equals z > 0 for z = y's input.
  auto masked = [&](int64_t i) { return yp[i] > T(0) ? dyp[i] : T(0); };
  const std::vector<double> sdy = channel_sums(M, C, [&](int64_t m0, int64_t m1, double* s) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c) {
        const T g = masked(m * C + c);
        if (drp) drp[m * C + c] = g;  // add's gradient to the residual
        s[c] += double(g);
      }
  });
  const std::vector<double> sdyx = channel_sums(M, C, [&](int64_t m0, int64_t m1, double* s) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c)
        s[c] += double(masked(m * C + c)) * (double(xp[m * C + c]) - mu[size_t(c)]) * is[size_t(c)];
  });
  store_channels(dbeta, sdy);
  store_channels(dgamma, sdyx);
  if (!dx.defined()) return;
  write_dx(M, C, xp, masked, mu, is, ga, sdy, sdyx, training, static_cast<T*>(dx.data_ptr()));
}

}  // namespace

void batch_norm_act_forward(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                            const Tensor& gamma, const Tensor& beta, const Tensor& residual,
                            Tensor& y) {
  check_float_dtype(x, "batch_norm_act");
  if (x.dtype() == DType::F32)
    forward_typed<float>(x, mean, invstd, gamma, beta, residual, y);
  else
    forward_typed<double>(x, mean, invstd, gamma, beta, residual, y);
}

void batch_norm_act_backward(const Tensor& dy, const Tensor& y, const Tensor& x,
                             const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                             bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                             Tensor& dresidual) {
  check_float_dtype(x, "batch_norm_act_backward");
  if (x.dtype() == DType::F32)
    backward_typed<float>(dy, y, x, mean, invstd, gamma, training, dx, dgamma, dbeta, dresidual);
  else
    backward_typed<double>(dy, y, x, mean, invstd, gamma, training, dx, dgamma, dbeta, dresidual);
}

}  // namespace vd::cpu
