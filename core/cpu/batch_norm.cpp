// CPU batch normalisation over the last (channel) axis, f32 and f64: batch
// statistics, the affine apply, and the backward of the apply. Rows are split
// in two halves on two threads (core/cpu/parallel.h); sums accumulate in f64
// in row order within a half, and the second half's is added to the first's,
// so results repeat bit for bit. Not the running-statistics update (that is
// autograd/functions_nn.cpp) and not the GPU path (cuda/).
//
// x, y, dy, dx: [M, C] contiguous (leading dims flattened); mean, invstd,
// gamma, beta, dgamma, dbeta: [C] of f32 or f64; gamma/beta may be undefined
// (no affine: gamma 1, beta 0).
#include <algorithm>
#include <cmath>
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
void stats_typed(const Tensor& x, double eps, Tensor& mean, Tensor& invstd) {
  const int64_t C = x.size(-1), M = x.numel() / std::max<int64_t>(1, C);
  const T* xp = static_cast<const T*>(x.data_ptr());
  std::vector<double> mu = channel_sums(M, C, [&](int64_t m0, int64_t m1, double* s) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c) s[c] += double(xp[m * C + c]);
  });
  for (double& v : mu) v /= double(std::max<int64_t>(1, M));
  std::vector<double> var = channel_sums(M, C, [&](int64_t m0, int64_t m1, double* s) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c) {
        const double d = double(xp[m * C + c]) - mu[size_t(c)];
        s[c] += d * d;
      }
  });
  for (double& v : var) v = 1.0 / std::sqrt(v / double(std::max<int64_t>(1, M)) + eps);
  store_channels(mean, mu);
  store_channels(invstd, var);
}

template <class T>
void apply_typed(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                 const Tensor& beta, Tensor& y) {
  const int64_t C = x.size(-1), M = x.numel() / std::max<int64_t>(1, C);
  const std::vector<double> mu = channel_values(mean, C, 0), is = channel_values(invstd, C, 1);
  const std::vector<double> ga = channel_values(gamma, C, 1), be = channel_values(beta, C, 0);
  // y = x * scale + shift
  std::vector<T> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (size_t c = 0; c < size_t(C); ++c) {
    scale[c] = T(is[c] * ga[c]);
    shift[c] = T(be[c] - mu[c] * is[c] * ga[c]);
  }
  const T* xp = static_cast<const T*>(x.data_ptr());
  T* yp = static_cast<T*>(y.data_ptr());
  parallel2(M, kMinSplit, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c) yp[m * C + c] = xp[m * C + c] * scale[size_t(c)] + shift[size_t(c)];
  });
}

// xhat = (x - mean) * invstd; dbeta = sum dy; dgamma = sum dy * xhat;
// training: dx = gamma * invstd / M * (M dy - dbeta - xhat dgamma);
// eval:     dx = gamma * invstd * dy.
template <class T>
void backward_typed(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                    const Tensor& gamma, bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const int64_t C = x.size(-1), M = x.numel() / std::max<int64_t>(1, C);
  const std::vector<double> mu = channel_values(mean, C, 0), is = channel_values(invstd, C, 1);
  const std::vector<double> ga = channel_values(gamma, C, 1);
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  const std::vector<double> sdy = channel_sums(M, C, [&](int64_t m0, int64_t m1, double* s) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c) s[c] += double(dyp[m * C + c]);
  });
  const std::vector<double> sdyx = channel_sums(M, C, [&](int64_t m0, int64_t m1, double* s) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c)
        s[c] += double(dyp[m * C + c]) * (double(xp[m * C + c]) - mu[size_t(c)]) * is[size_t(c)];
  });
  store_channels(dbeta, sdy);
  store_channels(dgamma, sdyx);
  if (!dx.defined()) return;
  auto g = [dyp](int64_t i) { return dyp[i]; };
  write_dx(M, C, xp, g, mu, is, ga, sdy, sdyx, training, static_cast<T*>(dx.data_ptr()));
}

}  // namespace

void batch_norm_stats(const Tensor& x, double eps, Tensor& mean, Tensor& invstd) {
  check_float_dtype(x, "batch_norm_stats");
  if (x.dtype() == DType::F32)
    stats_typed<float>(x, eps, mean, invstd);
  else
    stats_typed<double>(x, eps, mean, invstd);
}

void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                      const Tensor& gamma, const Tensor& beta, Tensor& y) {
  check_float_dtype(x, "batch_norm_apply");
  if (x.dtype() == DType::F32)
    apply_typed<float>(x, mean, invstd, gamma, beta, y);
  else
    apply_typed<double>(x, mean, invstd, gamma, beta, y);
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                         const Tensor& invstd, const Tensor& gamma, bool training, Tensor& dx,
                         Tensor& dgamma, Tensor& dbeta) {
  check_float_dtype(x, "batch_norm_backward");
  if (x.dtype() == DType::F32)
    backward_typed<float>(dy, x, mean, invstd, gamma, training, dx, dgamma, dbeta);
  else
    backward_typed<double>(dy, x, mean, invstd, gamma, training, dx, dgamma, dbeta);
}

}  // namespace vd::cpu
