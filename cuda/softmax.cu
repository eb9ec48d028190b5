// CUDA softmax and log-softmax over the last axis, forward and backward, with
// the CPU kernels' formulas (core/cpu/softmax.cpp): each row subtracts its
// maximum (a row of -inf uses 0), sums exp in the compute type (f32 for
// f32/bf16, f64 for f64). One warp per row; the warp's lanes stride through
// the row and combine by a fixed butterfly, so results repeat bit for bit.
// Not the losses (autograd/functions_loss.cpp).
//
// x, y, dy, dx: [M, K] contiguous (leading dims flattened).
#include "core/backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"

namespace vd::cuda {

namespace {

template <class A>
__device__ __forceinline__ A warp_sum(A v) {
#pragma unroll
  for (int m = 16; m > 0; m /= 2) v += __shfl_xor_sync(0xffffffffu, v, m);
  return v;
}

template <class A>
__device__ __forceinline__ A warp_max(A v) {
#pragma unroll
  for (int m = 16; m > 0; m /= 2) {
    const A o = __shfl_xor_sync(0xffffffffu, v, m);
    v = v < o ? o : v;
  }
  return v;
}

template <class T>
__global__ void softmax_fwd(const T* x, int64_t M, int64_t K, bool log, T* y) {
  using A = typename Acc<T>::type;
  const int lane = threadIdx.x % 32;
  for (int64_t row = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; row < M;
       row += int64_t(gridDim.x) * blockDim.x / 32) {
    const T* xr = x + row * K;
    T* yr = y + row * K;
    A mx = m_neg_inf<A>();
    for (int64_t k = lane; k < K; k += 32) {
      const A v = to_acc(xr[k]);
      mx = mx < v ? v : mx;
    }
    mx = warp_max(mx);
    if (isinf(mx) && mx < A(0)) mx = A(0);
    A s = A(0);
    for (int64_t k = lane; k < K; k += 32) s += m_exp(to_acc(xr[k]) - mx);
    s = warp_sum(s);
    const A lse = mx + m_log(s);
    for (int64_t k = lane; k < K; k += 32) {
      const A v = to_acc(xr[k]);
      yr[k] = from_acc<T>(log ? v - lse : m_exp(v - mx) / s);
    }
  }
}

// softmax: dx = y (dy - sum(dy y)); log_softmax: dx = dy - exp(y) sum(dy)
template <class T>
__global__ void softmax_bwd(const T* y, const T* dy, int64_t M, int64_t K, bool log, T* dx) {
  using A = typename Acc<T>::type;
  const int lane = threadIdx.x % 32;
  for (int64_t row = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; row < M;
       row += int64_t(gridDim.x) * blockDim.x / 32) {
    const T *yr = y + row * K, *gr = dy + row * K;
    T* dr = dx + row * K;
    A s = A(0);
    for (int64_t k = lane; k < K; k += 32) s += log ? to_acc(gr[k]) : to_acc(gr[k]) * to_acc(yr[k]);
    s = warp_sum(s);
    for (int64_t k = lane; k < K; k += 32) {
      const A g = to_acc(gr[k]), v = to_acc(yr[k]);
      dr[k] = from_acc<T>(log ? g - m_exp(v) * s : v * (g - s));
    }
  }
}

void rows(const Tensor& x, int64_t& M, int64_t& K) {
  K = x.dim() == 0 ? 1 : x.size(-1);
  M = K == 0 ? 0 : x.numel() / K;
}

void check_pair(const Tensor& a, const Tensor& b, const char* op) {
  VD_CHECK(
      a.is_contiguous() && b.is_contiguous() && a.dtype() == b.dtype() && a.numel() == b.numel(),
      op << ": expected contiguous tensors of one dtype and size, got " << describe(a) << " and "
         << describe(b));
}

}  // namespace

void softmax_forward(const Tensor& x, bool log, Tensor& y) {
  check_pair(x, y, "softmax");
  int64_t M, K;
  rows(x, M, K);
  if (M == 0) return;
  by_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    softmax_fwd<T><<<grid_for(M * 32, 256), 256, 0, stream()>>>(
        static_cast<const T*>(x.data_ptr()), M, K, log, static_cast<T*>(y.data_ptr()));
  });
  VD_CUDA_LAUNCH("softmax_forward");
}

void softmax_backward(const Tensor& y, const Tensor& dy, bool log, Tensor& dx) {
  check_pair(y, dy, "softmax_backward");
  check_pair(y, dx, "softmax_backward");
  int64_t M, K;
  rows(y, M, K);
  if (M == 0) return;
  by_dtype(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    softmax_bwd<T><<<grid_for(M * 32, 256), 256, 0, stream()>>>(
        static_cast<const T*>(y.data_ptr()), static_cast<const T*>(dy.data_ptr()), M, K, log,
        static_cast<T*>(dx.data_ptr()));
  });
  VD_CUDA_LAUNCH("softmax_backward");
}

}  // namespace vd::cuda
