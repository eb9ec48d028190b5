// Device-side helpers shared by the .cu files of cuda/: element types and
// their compute types (bf16 and f32 compute in f32, f64 in f64), math
// overloads, strided index walking over up to 8 dims for up to 3 tensors,
// launch sizes, and the dtype switch by_dtype. Private to cuda/; host code
// that includes it must be nvcc.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/tensor.h"

namespace vd::cuda {

using bf16_t = __nv_bfloat16;

// Calls f(T()) with T the element type of dtype t (float, double or
// bf16_t), so that one generic lambda serves the three dtypes:
//   by_dtype(x.dtype(), [&](auto tag) { launch<decltype(tag)>(...); });
template <class F>
void by_dtype(DType t, F f) {
  switch (t) {
    case DType::F32: f(float()); break;
    case DType::F64: f(double()); break;
    case DType::BF16: f(bf16_t()); break;
  }
}

// Compute type of an element type.
template <class T> struct Acc { using type = float; };
template <> struct Acc<double> { using type = double; };

__device__ __forceinline__ float to_acc(float v) { return v; }
__device__ __forceinline__ double to_acc(double v) { return v; }
__device__ __forceinline__ float to_acc(bf16_t v) { return __bfloat162float(v); }

template <class T> __device__ __forceinline__ T from_acc(float v);
template <class T> __device__ __forceinline__ T from_acc(double v);
template <> __device__ __forceinline__ float from_acc<float>(float v) { return v; }
template <> __device__ __forceinline__ double from_acc<double>(float v) { return v; }
template <> __device__ __forceinline__ bf16_t from_acc<bf16_t>(float v) { return __float2bfloat16(v); }
template <> __device__ __forceinline__ float from_acc<float>(double v) { return float(v); }
template <> __device__ __forceinline__ double from_acc<double>(double v) { return v; }
// As the CPU: f64 -> f32 -> bf16 (round to nearest even at each step).
template <> __device__ __forceinline__ bf16_t from_acc<bf16_t>(double v) {
  return __float2bfloat16(float(v));
}

__device__ __forceinline__ float m_exp(float x) { return expf(x); }
__device__ __forceinline__ double m_exp(double x) { return exp(x); }
__device__ __forceinline__ float m_log(float x) { return logf(x); }
__device__ __forceinline__ double m_log(double x) { return log(x); }
__device__ __forceinline__ float m_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double m_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float m_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double m_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float m_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double m_abs(double x) { return fabs(x); }
template <class C> __device__ __forceinline__ C m_neg_inf() { return C(-INFINITY); }

constexpr int kMaxDims = 8;

// Geometry of up to three same-shape tensors: sizes and per-tensor strides,
// with adjacent dims merged where every tensor allows it (host: make_strided).
struct Strided {
  int nd = 0;
  bool contiguous = false;  // every tensor dense row-major: offset = index
  int64_t size[kMaxDims];
  int64_t stride[3][kMaxDims];
};

// Element offsets of linear (row-major) index i in each tensor.
template <int K>
__device__ __forceinline__ void offsets(const Strided& g, int64_t i, int64_t (&off)[K]) {
  if (g.contiguous) {
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] = i;
    return;
  }
#pragma unroll
  for (int k = 0; k < K; ++k) off[k] = 0;
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d >= g.nd) continue;
    const int64_t q = i / g.size[d], r = i - q * g.size[d];
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] += r * g.stride[k][d];
    i = q;
  }
}

// Builds the geometry of `shape` for the given tensors' strides (1 to 3).
// `what` names the op in the error for ranks over 8.
Strided make_strided(const Shape& shape, const Shape* const* strides, int count, const char* what);

// Grid size for a grid-stride loop over n items with `threads` per block.
inline unsigned grid_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > 65535 * 16 ? 65535 * 16 : b));
}

}  // namespace vd::cuda
