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
#include "core/backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"

namespace vd::cuda {

namespace {

// A [C] parameter vector: pointer, stride, and the value used when absent.
template <class P>
struct Vec {
  P* p = nullptr;
  int64_t stride = 1;
  P fallback = P(0);
  __device__ __forceinline__ P at(int64_t c) const { return p ? p[c * stride] : fallback; }
};

enum Mode { kSum = 0, kSqDev = 1, kBwd = 2 };

// part0/part1: [S, C]; rows [s * chunk, (s + 1) * chunk) of column block x.
template <class T, int M>
__global__ void column_partials(const T* x, const T* dy, int64_t rows, int64_t C, int64_t chunk,
                                Vec<typename Acc<T>::type> mean, Vec<typename Acc<T>::type> invstd,
                                typename Acc<T>::type* part0, typename Acc<T>::type* part1) {
  using A = typename Acc<T>::type;
  __shared__ A s0[8][33], s1[8][33];
  const int64_t c = blockIdx.x * int64_t(32) + threadIdx.x, s = blockIdx.y;
  A a0 = A(0), a1 = A(0);
  if (c < C) {
    const A mu = M == kSum ? A(0) : mean.at(c);
    const A is = M == kBwd ? invstd.at(c) : A(1);
    const int64_t r1 = min(rows, (s + 1) * chunk);
    for (int64_t r = s * chunk + threadIdx.y; r < r1; r += 8) {
      const A v = to_acc(x[r * C + c]);
      if (M == kSum) {
        a0 += v;
      } else if (M == kSqDev) {
        a0 += (v - mu) * (v - mu);
      } else {
        const A g = to_acc(dy[r * C + c]);
        a0 += g;
        a1 += g * (v - mu) * is;
      }
    }
  }
  s0[threadIdx.y][threadIdx.x] = a0;
  s1[threadIdx.y][threadIdx.x] = a1;
  __syncthreads();
  for (int h = 4; h > 0; h /= 2) {
    if (threadIdx.y < h) {
      s0[threadIdx.y][threadIdx.x] += s0[threadIdx.y + h][threadIdx.x];
      s1[threadIdx.y][threadIdx.x] += s1[threadIdx.y + h][threadIdx.x];
    }
    __syncthreads();
  }
  if (threadIdx.y == 0 && c < C) {
    part0[s * C + c] = s0[0][threadIdx.x];
    if (M == kBwd) part1[s * C + c] = s1[0][threadIdx.x];
  }
}

// Sums the S partials of each channel in order into sum0/sum1 ([C], dense).
template <class A>
__global__ void column_finish(const A* part0, const A* part1, int64_t S, int64_t C, A* sum0, A* sum1) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x) {
    A a0 = A(0), a1 = A(0);
    for (int64_t s = 0; s < S; ++s) {
      a0 += part0[s * C + c];
      if (part1) a1 += part1[s * C + c];
    }
    sum0[c] = a0;
    if (sum1) sum1[c] = a1;
  }
}

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

template <class A>
__global__ void store_vec(const A* src, int64_t C, Vec<A> dst) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x)
    dst.p[c * dst.stride] = src[c];
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Scratch memory from the caching allocator, released (stream-ordered) at scope exit.
struct Scratch {
  void* p;
  size_t n;
  explicit Scratch(size_t bytes) : p(alloc(bytes ? bytes : 1)), n(bytes ? bytes : 1) {}
  ~Scratch() { release(p, n); }
  template <class A> A* as() const { return static_cast<A*>(p); }
};

// [C] parameter of the compute type A (f32 for f32/bf16 x, f64 for f64 x).
template <class A>
Vec<A> vec(const Tensor& t, int64_t C, A fallback, const char* name, const Tensor& x) {
  Vec<A> v;
  v.fallback = fallback;
  if (!t.defined()) return v;
  const DType want = sizeof(A) == 8 ? DType::F64 : DType::F32;
  VD_CHECK(t.dtype() == want && t.dim() == 1 && t.size(0) == C && t.is_cuda(),
           "batch_norm (CUDA): " << name << " must be [" << C << "] " << dtype_name(want)
                                 << " on the GPU for x " << describe(x) << ", got " << describe(t)
                                 << "; hint: bf16 and f32 x take f32 statistics and parameters");
  v.p = static_cast<A*>(t.data_ptr());
  v.stride = t.strides()[0];
  return v;
}

struct Rows {
  int64_t M, C, S, chunk;
};

Rows rows_of(const Tensor& x) {
  VD_CHECK(x.dim() >= 1 && x.is_contiguous(),
           "batch_norm (CUDA): expected a contiguous [.., C] x, got " << describe(x));
  Rows r;
  r.C = x.size(-1);
  r.M = r.C == 0 ? 0 : x.numel() / r.C;
  // Enough blocks to fill the GPU, chunks of at least 64 rows; depends on the shape only.
  r.S = std::max<int64_t>(1, std::min(ceil_div(1024, ceil_div(r.C, 32)), ceil_div(r.M, 64)));
  r.S = std::min<int64_t>(r.S, 65535);
  r.chunk = std::max<int64_t>(1, ceil_div(r.M, r.S));
  return r;
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
  column_partials<T, kSum><<<grid, block, 0, st>>>(xp, nullptr, r.M, r.C, r.chunk, vmu, vi,
                                                   part.as<A>(), nullptr);
  column_finish<A><<<grid_for(r.C, 256), 256, 0, st>>>(part.as<A>(), nullptr, r.S, r.C, sum_x, nullptr);
  stats_finish<A><<<grid_for(r.C, 256), 256, 0, st>>>(sum_x, nullptr, r.C, inv_m, A(eps), vm, vi,
                                                      mu.as<A>());
  column_partials<T, kSqDev><<<grid, block, 0, st>>>(xp, nullptr, r.M, r.C, r.chunk, vmu, vi,
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
  column_partials<T, kBwd><<<grid, block, 0, st>>>(xp, dyp, r.M, r.C, r.chunk, vm, vi, p0, p1);
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
