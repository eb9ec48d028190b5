// CUDA kernels of the fused optimizer step (core/kernel_list.inc, block
// "fused optimizer"): one thread per element of the flat buffers, which finds
// its segment's row by binary search over the table's offsets, and the LARS
// segmented norms (per-chunk partial sums in a fixed tree order, then each
// segment's partials added in chunk order: deterministic). The arithmetic
// is core/cpu/optim.cpp's, operation by operation with the _rn intrinsics
// (no contraction into FMAs), so the update matches the CPU bit for bit;
// the LARS norms are added in another order than the CPU's, so LARS agrees
// to rounding of the f64 sums.
#include "core/backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"

namespace vd::cuda {

namespace {

namespace C = fused_col;
constexpr int kThreads = 256;

// The row whose segment holds element (or chunk) i: the last row with
// table[row][col] <= i (rows of 0 elements share the next row's offset).
__device__ __forceinline__ int find_row(const double* t, int rows, int col, int64_t i) {
  int lo = 0, hi = rows - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (int64_t(t[int64_t(mid) * C::Count + col]) <= i)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }

// d = g + p * wd, or g when wd is 0 (as the CPU's decayed()).
__device__ __forceinline__ float decayed(float g, float p, double wd) {
  return wd != 0 ? add(g, mul(p, float(wd))) : g;
}

__global__ void sgd_kernel(const double* t, int rows, float* P, const float* G, float* B, bf16_t* W,
                           int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const double* row = t + int64_t(find_row(t, rows, C::Offset, i)) * C::Count;
    if (row[C::Active] == 0) continue;
    const double wd = row[C::WeightDecay], mu = row[C::Momentum];
    float d = decayed(G[i], P[i], wd);
    if (mu != 0) {
      const float fmu = float(mu);
      B[i] = row[C::First] != 0 ? d : add(mul(B[i], fmu), mul(d, float(1.0 - row[C::Dampening])));
      d = row[C::Nesterov] != 0 ? add(d, mul(B[i], fmu)) : B[i];
    }
    P[i] = add(P[i], mul(d, float(-row[C::Lr])));
    if (W) W[i] = __float2bfloat16_rn(P[i]);
  }
}

// One block per chunk of kFusedNormChunk elements of a segment: partial
// (sum p^2, sum d^2) in f64, threads striding in a fixed order, then a tree.
__global__ void sumsq_partial_kernel(const double* t, int rows, const float* P, const float* G,
                                     double* partial) {
  __shared__ double sp[kThreads], sd[kThreads];
  const int64_t c = blockIdx.x;
  const double* row = t + int64_t(find_row(t, rows, C::ChunkBegin, c)) * C::Count;
  const int64_t o = int64_t(row[C::Offset]), n = int64_t(row[C::Numel]);
  const int64_t begin = o + (c - int64_t(row[C::ChunkBegin])) * kFusedNormChunk;
  if (begin >= o + n) return;  // past the last chunk (the grid is an upper bound)
  const int64_t end = begin + kFusedNormChunk < o + n ? begin + kFusedNormChunk : o + n;
  double ap = 0, ad = 0;
  if (row[C::Active] != 0 && row[C::Exclude] == 0) {
    const double wd = row[C::WeightDecay];
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      const float d = decayed(G[i], P[i], wd);
      ap += double(mul(P[i], P[i]));
      ad += double(mul(d, d));
    }
  }
  sp[threadIdx.x] = ap;
  sd[threadIdx.x] = ad;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2) {
    if (int(threadIdx.x) < s) {
      sp[threadIdx.x] += sp[threadIdx.x + s];
      sd[threadIdx.x] += sd[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    partial[2 * c] = sp[0];
    partial[2 * c + 1] = sd[0];
  }
}

__global__ void sumsq_finish_kernel(const double* t, int rows, const double* partial, double* sums) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s >= rows) return;
  const double* row = t + int64_t(s) * C::Count;
  double ap = 0, ad = 0;
  if (row[C::Active] != 0 && row[C::Exclude] == 0) {
    const int64_t c0 = int64_t(row[C::ChunkBegin]);
    const int64_t chunks = (int64_t(row[C::Numel]) + kFusedNormChunk - 1) / kFusedNormChunk;
    for (int64_t c = c0; c < c0 + chunks; ++c) {
      ap += partial[2 * c];
      ad += partial[2 * c + 1];
    }
  }
  sums[2 * s] = ap;
  sums[2 * s + 1] = ad;
}

__global__ void lars_kernel(const double* t, int rows, const double* S, float* P, const float* G,
                            float* M, bf16_t* W, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int s = find_row(t, rows, C::Offset, i);
    const double* row = t + int64_t(s) * C::Count;
    if (row[C::Active] == 0) continue;
    const bool exclude = row[C::Exclude] != 0;
    float d = decayed(G[i], P[i], exclude ? 0.0 : row[C::WeightDecay]);
    if (!exclude) {
      const float pn = __fsqrt_rn(float(S[2 * s])), dn = __fsqrt_rn(float(S[2 * s + 1]));
      const float ok = mul(pn > 0.0f ? 1.0f : 0.0f, dn > 0.0f ? 1.0f : 0.0f);
      const float not_ok = __fsub_rn(1.0f, ok);
      const float q = add(mul(ok, __fdiv_rn(mul(pn, float(row[C::Eta])), add(dn, not_ok))), not_ok);
      d = mul(d, q);
    }
    M[i] = add(mul(M[i], float(row[C::Momentum])), d);
    P[i] = add(P[i], mul(M[i], float(-row[C::Lr])));
    if (W) W[i] = __float2bfloat16_rn(P[i]);
  }
}

__global__ void adamw_kernel(const double* t, int rows, float* P, const float* G, float* Mm, float* V,
                             bf16_t* W, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const double* row = t + int64_t(find_row(t, rows, C::Offset, i)) * C::Count;
    if (row[C::Active] == 0) continue;
    const double lr = row[C::Lr], wd = row[C::WeightDecay], b1 = row[C::Beta1], b2 = row[C::Beta2];
    if (wd != 0) P[i] = mul(P[i], float(__dsub_rn(1.0, __dmul_rn(lr, wd))));  // as the host: no FMA
    const float g = G[i];
    Mm[i] = add(mul(Mm[i], float(b1)), mul(g, float(1.0 - b1)));
    V[i] = add(mul(V[i], float(b2)), mul(mul(g, g), float(1.0 - b2)));
    const float denom = add(mul(__fsqrt_rn(V[i]), float(1.0 / sqrt(row[C::Bc2]))), float(row[C::Eps]));
    P[i] = add(P[i], mul(__fdiv_rn(Mm[i], denom), float(-lr / row[C::Bc1])));
    if (W) W[i] = __float2bfloat16_rn(P[i]);
  }
}

const double* rows_ptr(const Tensor& table) { return static_cast<const double*>(table.data_ptr()); }
float* f32(const Tensor& t) { return static_cast<float*>(t.data_ptr()); }
bf16_t* bf16_or_null(const Tensor& t) { return t.defined() ? static_cast<bf16_t*>(t.data_ptr()) : nullptr; }

}  // namespace

void fused_sgd(const Tensor& table, Tensor& p, const Tensor& g, Tensor& buf, Tensor& work) {
  const int64_t n = p.numel();
  if (n == 0) return;
  sgd_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
      rows_ptr(table), int(table.shape()[0]), f32(p), f32(g), f32(buf), bf16_or_null(work), n);
  VD_CUDA_LAUNCH("fused_sgd");
}

void fused_lars_sumsq(const Tensor& table, const Tensor& p, const Tensor& g, Tensor& sums) {
  const int rows = int(table.shape()[0]);
  // An upper bound of the chunk count: sum over segments of ceil(numel / chunk).
  const int64_t bound = p.numel() / kFusedNormChunk + rows;
  Tensor partial = Tensor::empty({bound, 2}, DType::F64, p.device());
  sumsq_partial_kernel<<<unsigned(bound), kThreads, 0, stream()>>>(
      rows_ptr(table), rows, f32(p), f32(g), static_cast<double*>(partial.data_ptr()));
  VD_CUDA_LAUNCH("fused_lars_sumsq");
  sumsq_finish_kernel<<<unsigned((rows + kThreads - 1) / kThreads), kThreads, 0, stream()>>>(
      rows_ptr(table), rows, static_cast<const double*>(partial.data_ptr()),
      static_cast<double*>(sums.data_ptr()));
  VD_CUDA_LAUNCH("fused_lars_sumsq (finish)");
}

void fused_lars(const Tensor& table, const Tensor& sums, Tensor& p, const Tensor& g, Tensor& mu,
                Tensor& work) {
  const int64_t n = p.numel();
  if (n == 0) return;
  lars_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
      rows_ptr(table), int(table.shape()[0]), static_cast<const double*>(sums.data_ptr()), f32(p), f32(g),
      f32(mu), bf16_or_null(work), n);
  VD_CUDA_LAUNCH("fused_lars");
}

void fused_adamw(const Tensor& table, Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& work) {
  const int64_t n = p.numel();
  if (n == 0) return;
  adamw_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
      rows_ptr(table), int(table.shape()[0]), f32(p), f32(g), f32(m), f32(v), bf16_or_null(work), n);
  VD_CUDA_LAUNCH("fused_adamw");
}

}  // namespace vd::cuda
