// Pieces shared by the CUDA batch-norm kernels (cuda/batch_norm.cu and the
// fused cuda/batch_norm_act.cu): [C] parameter views, the deterministic
// per-channel column sums (fixed chunks, a fixed shared-memory tree, chunk
// results added in order; no atomics), scratch memory, and the row geometry.
// Private to those two files (an anonymous namespace: one copy per file).
#pragma once
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
// kBwd with `mask` (the fused ReLU's output y, else null): dy counts only
// where mask > 0, as relu's gradient (BinaryOp::ReluGrad) would have left it.
template <class T, int M>
__global__ void column_partials(const T* x, const T* dy, const T* mask, int64_t rows, int64_t C, int64_t chunk,
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
        const A g = mask && !(to_acc(mask[r * C + c]) > A(0)) ? A(0) : to_acc(dy[r * C + c]);
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

}  // namespace

}  // namespace vd::cuda
