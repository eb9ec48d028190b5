// CUDA batch normalisation over the last (channel) axis, with the CPU
// kernels' formulas (core/cpu/batch_norm.cpp): batch statistics (two passes:
// mean, then mean squared deviation), the affine apply, and the backward.
// Per-channel sums are deterministic: rows are cut into a shape-dependent
// number of chunks, each chunk reduced by a fixed shared-memory tree, chunk
// results added in order; no atomics. x may be bf16 with f32 statistics and
// parameters (the bf16 precision mode); f32 x uses f32, f64 x uses f64.
//
// x, y, dy, dx: [M, C] contiguous; mean, invstd, gamma, beta, dgamma, dbeta: [C]
// (any stride; gamma/beta/dgamma/dbeta/dx may be undefined, as on the CPU).
// The column sums, parameter views and scratch are cuda/batch_norm_common.cuh.
#include "core/backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/batch_norm_common.cuh"
#include "cuda/kernels.cuh"

namespace vd::cuda {

namespace {

template <class A>
__global__ void stats_finish(const A* sum_x, const A* sum_sq, int64_t C, A inv_m, A eps, Vec<A> mean,
                             Vec<A> invstd, A* mean_dense) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x) {
    if (sum_sq == nullptr) {  // pass 1: the mean
      mean_dense[c] = sum_x[c] * inv_m;
      continue;
    }
    mean.p[c * mean.stride] = mean_dense[c];
    invstd.p[c * invstd.stride] = A(1) / m_sqrt(sum_sq[c] * inv_m + eps);
  }
}

template <class T>
__global__ void apply_kernel(const T* x, int64_t n, int64_t C, Vec<typename Acc<T>::type> mean,
                             Vec<typename Acc<T>::type> invstd, Vec<typename Acc<T>::type> gamma,
                             Vec<typename Acc<T>::type> beta, T* y) {
  using A = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % C;
    const A scale = invstd.at(c) * gamma.at(c);
    const A shift = beta.at(c) - mean.at(c) * scale;
    y[i] = from_acc<T>(to_acc(x[i]) * scale + shift);
  }
}

// training: dx = gamma invstd (dy - sdy/M - xhat sdyx/M); eval: gamma invstd dy.
template <class T>
__global__ void dx_kernel(const T* x, const T* dy, int64_t n, int64_t C, Vec<typename Acc<T>::type> mean,
                          Vec<typename Acc<T>::type> invstd, Vec<typename Acc<T>::type> gamma,
                          const typename Acc<T>::type* sdy, const typename Acc<T>::type* sdyx,
                          typename Acc<T>::type inv_m, bool training, T* dx) {
  using A = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % C;
    const A is = invstd.at(c), k = gamma.at(c) * is, g = to_acc(dy[i]);
    if (!training) {
      dx[i] = from_acc<T>(k * g);
      continue;
    }
    const A xhat = (to_acc(x[i]) - mean.at(c)) * is;
    dx[i] = from_acc<T>(k * (g - sdy[c] * inv_m - xhat * sdyx[c] * inv_m));
  }
}

template <class T>
void stats_typed(const Tensor& x, double eps, Tensor& mean, Tensor& invstd) {
  using A = typename Acc<T>::type;
  const Rows r = rows_of(x);
  if (r.C == 0) return;
  Vec<A> vm = vec<A>(mean, r.C, A(0), "mean", x), vi = vec<A>(invstd, r.C, A(1), "invstd", x);
  VD_CHECK(vm.p && vi.p, "batch_norm_stats (CUDA): mean and invstd outputs must be defined");
  Scratch part(size_t(r.S * r.C) * sizeof(A)), sums(size_t(2 * r.C) * sizeof(A)),
      mu(size_t(r.C) * sizeof(A));
  cudaStream_t st = stream();
  const dim3 grid(unsigned(ceil_div(r.C, 32)), unsigned(r.S)), block(32, 8);
  const T* xp = static_cast<const T*>(x.data_ptr());
  const A inv_m = A(1) / A(std::max<int64_t>(1, r.M));
  A* sum_x = sums.as<A>();
  A* sum_sq = sums.as<A>() + r.C;
  Vec<A> vmu;
  vmu.p = mu.as<A>();
  column_partials<T, kSum><<<grid, block, 0, st>>>(xp, nullptr, nullptr, r.M, r.C, r.chunk, vmu, vi,
                                                   part.as<A>(), nullptr);
  column_finish<A><<<grid_for(r.C, 256), 256, 0, st>>>(part.as<A>(), nullptr, r.S, r.C, sum_x, nullptr);
  stats_finish<A><<<grid_for(r.C, 256), 256, 0, st>>>(sum_x, nullptr, r.C, inv_m, A(eps), vm, vi,
                                                      mu.as<A>());
  column_partials<T, kSqDev><<<grid, block, 0, st>>>(xp, nullptr, nullptr, r.M, r.C, r.chunk, vmu, vi,
                                                     part.as<A>(), nullptr);
  column_finish<A><<<grid_for(r.C, 256), 256, 0, st>>>(part.as<A>(), nullptr, r.S, r.C, sum_sq, nullptr);
  stats_finish<A><<<grid_for(r.C, 256), 256, 0, st>>>(sum_x, sum_sq, r.C, inv_m, A(eps), vm, vi,
                                                      mu.as<A>());
  VD_CUDA_LAUNCH("batch_norm_stats");
}

template <class T>
void apply_typed(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                 const Tensor& beta, Tensor& y) {
  using A = typename Acc<T>::type;
  const Rows r = rows_of(x);
  const int64_t n = x.numel();
  if (n == 0) return;
  apply_kernel<T><<<grid_for(n, 256), 256, 0, stream()>>>(
      static_cast<const T*>(x.data_ptr()), n, r.C, vec<A>(mean, r.C, A(0), "mean", x),
      vec<A>(invstd, r.C, A(1), "invstd", x), vec<A>(gamma, r.C, A(1), "gamma", x),
      vec<A>(beta, r.C, A(0), "beta", x), static_cast<T*>(y.data_ptr()));
  VD_CUDA_LAUNCH("batch_norm_apply");
}

template <class T>
void backward_typed(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                    const Tensor& gamma, bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  using A = typename Acc<T>::type;
  const Rows r = rows_of(x);
  if (r.C == 0) return;
  const Vec<A> vm = vec<A>(mean, r.C, A(0), "mean", x), vi = vec<A>(invstd, r.C, A(1), "invstd", x),
               vg = vec<A>(gamma, r.C, A(1), "gamma", x);
  Scratch part(size_t(2 * r.S * r.C) * sizeof(A)), sums(size_t(2 * r.C) * sizeof(A));
  cudaStream_t st = stream();
  const dim3 grid(unsigned(ceil_div(r.C, 32)), unsigned(r.S)), block(32, 8);
  A* p0 = part.as<A>();
  A* p1 = part.as<A>() + r.S * r.C;
  A* sdy = sums.as<A>();
  A* sdyx = sums.as<A>() + r.C;
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  column_partials<T, kBwd><<<grid, block, 0, st>>>(xp, dyp, nullptr, r.M, r.C, r.chunk, vm, vi, p0, p1);
  column_finish<A><<<grid_for(r.C, 256), 256, 0, st>>>(p0, p1, r.S, r.C, sdy, sdyx);
  if (dbeta.defined())
    store_vec<A><<<grid_for(r.C, 256), 256, 0, st>>>(sdy, r.C, vec<A>(dbeta, r.C, A(0), "dbeta", x));
  if (dgamma.defined())
    store_vec<A><<<grid_for(r.C, 256), 256, 0, st>>>(sdyx, r.C, vec<A>(dgamma, r.C, A(0), "dgamma", x));
  if (dx.defined() && dx.numel() > 0) {
    VD_CHECK(dx.dtype() == x.dtype() && dx.is_contiguous() && dx.numel() == x.numel(),
             "batch_norm_backward (CUDA): dx " << describe(dx) << " must match x " << describe(x));
    dx_kernel<T><<<grid_for(x.numel(), 256), 256, 0, st>>>(
        xp, dyp, x.numel(), r.C, vm, vi, vg, sdy, sdyx, A(1) / A(std::max<int64_t>(1, r.M)), training,
        static_cast<T*>(dx.data_ptr()));
  }
  VD_CUDA_LAUNCH("batch_norm_backward");
}

}  // namespace

void batch_norm_stats(const Tensor& x, double eps, Tensor& mean, Tensor& invstd) {
  by_dtype(x.dtype(), [&](auto tag) { stats_typed<decltype(tag)>(x, eps, mean, invstd); });
}

void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                      const Tensor& beta, Tensor& y) {
  VD_CHECK(y.dtype() == x.dtype() && y.is_contiguous() && y.numel() == x.numel(),
           "batch_norm_apply (CUDA): y " << describe(y) << " must match x " << describe(x));
  by_dtype(x.dtype(), [&](auto tag) { apply_typed<decltype(tag)>(x, mean, invstd, gamma, beta, y); });
}

void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                         const Tensor& gamma, bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  VD_CHECK(dy.dtype() == x.dtype() && dy.is_contiguous() && dy.numel() == x.numel(),
           "batch_norm_backward (CUDA): dy " << describe(dy) << " must match x " << describe(x));
  by_dtype(x.dtype(), [&](auto tag) {
    backward_typed<decltype(tag)>(dy, x, mean, invstd, gamma, training, dx, dgamma, dbeta);
  });
}

}  // namespace vd::cuda
