// CPU softmax and log-softmax over the last axis, f32 and f64, forward and
// backward. Each row subtracts its maximum and sums in f64. Not the losses
// built on them (autograd/functions_loss.cpp).
//
// x, y, dy, dx: [M, K] contiguous (leading dims flattened).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backend.h"
#include "core/cpu/dtype_check.h"

namespace vd::cpu {

namespace {

template <class T>
void forward_typed(const Tensor& x, bool log, Tensor& y) {
  const int64_t K = x.dim() == 0 ? 1 : x.size(-1), M = K == 0 ? 0 : x.numel() / K;
  const T* xp = static_cast<const T*>(x.data_ptr());
  T* yp = static_cast<T*>(y.data_ptr());
  for (int64_t m = 0; m < M; ++m) {
    const T* xr = xp + m * K;
    T* yr = yp + m * K;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, double(xr[k]));
    if (std::isinf(mx) && mx < 0) mx = 0;  // a row of -inf: avoid inf - inf
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(double(xr[k]) - mx);
    if (log) {
      const double lse = mx + std::log(s);
      for (int64_t k = 0; k < K; ++k) yr[k] = T(double(xr[k]) - lse);
    } else {
      for (int64_t k = 0; k < K; ++k) yr[k] = T(std::exp(double(xr[k]) - mx) / s);
    }
  }
}

// softmax:     dx = y * (dy - sum(dy * y))
// log_softmax: dx = dy - exp(y) * sum(dy)
template <class T>
void backward_typed(const Tensor& y, const Tensor& dy, bool log, Tensor& dx) {
  const int64_t K = y.dim() == 0 ? 1 : y.size(-1), M = K == 0 ? 0 : y.numel() / K;
  const T* yp = static_cast<const T*>(y.data_ptr());
  const T* gp = static_cast<const T*>(dy.data_ptr());
  T* dxp = static_cast<T*>(dx.data_ptr());
  for (int64_t m = 0; m < M; ++m) {
    const T *yr = yp + m * K, *gr = gp + m * K;
    T* dr = dxp + m * K;
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += log ? double(gr[k]) : double(gr[k]) * double(yr[k]);
    for (int64_t k = 0; k < K; ++k)
      dr[k] = log ? T(double(gr[k]) - std::exp(double(yr[k])) * s)
                  : T(double(yr[k]) * (double(gr[k]) - s));
  }
}

}  // namespace

void softmax_forward(const Tensor& x, bool log, Tensor& y) {
  check_float_dtype(x, "softmax");
  if (x.dtype() == DType::F32)
    forward_typed<float>(x, log, y);
  else
    forward_typed<double>(x, log, y);
}

void softmax_backward(const Tensor& y, const Tensor& dy, bool log, Tensor& dx) {
  check_float_dtype(y, "softmax_backward");
  if (y.dtype() == DType::F32)
    backward_typed<float>(y, dy, log, dx);
  else
    backward_typed<double>(y, dy, log, dx);
}

}  // namespace vd::cpu
