// CUDA reductions (sum, max) over any set of dims, deterministic: no atomics;
// each output's reduced range is cut into a number of chunks that depends
// only on the shape, each chunk is reduced by a fixed tree (warp shuffles or
// shared memory), and the chunk results are added in chunk order. Sums
// accumulate in f32 for f32/bf16 and in f64 for f64; max propagates NaN as
// the CPU does. Not the batch-norm statistics (cuda/batch_norm.cu).
#include "core/backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"

namespace vd::cuda {

namespace {

template <bool IsMax, class C>
__device__ __forceinline__ C combine(C a, C b) {
  if (!IsMax) return a + b;
  if (isnan(a)) return a;
  return (b > a || isnan(b)) ? b : a;
}

template <bool IsMax, class C>
__device__ __forceinline__ C identity() {
  return IsMax ? m_neg_inf<C>() : C(0);
}

// Row mode (the reduced dims are innermost, stride 1): one warp per (output,
// chunk); lanes stride through the chunk, then a butterfly over the warp.
// part: [S, O] partial results.
template <class T, bool IsMax>
__global__ void reduce_rows(Strided keep, Strided red, const T* a, int64_t O, int64_t R,
                            int64_t S, int64_t chunk, typename Acc<T>::type* part) {
  using C = typename Acc<T>::type;
  const int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= O * S) return;
  const int64_t o = warp / S, s = warp % S;
  int64_t ko[2];
  offsets<2>(keep, o, ko);
  const int64_t r0 = s * chunk, r1 = min(R, r0 + chunk);
  C acc = identity<IsMax, C>();
  for (int64_t r = r0 + lane; r < r1; r += 32) {
    int64_t ro[1];
    offsets<1>(red, r, ro);
    acc = combine<IsMax>(acc, to_acc(a[ko[0] + ro[0]]));
  }
#pragma unroll
  for (int m = 16; m > 0; m /= 2) acc = combine<IsMax>(acc, __shfl_xor_sync(0xffffffffu, acc, m));
  if (lane == 0) part[s * O + o] = acc;
}

// Column mode (an output dim is innermost): a block of 32 x 8 threads takes
// 32 consecutive outputs and one chunk; each of the 8 rows strides through
// the chunk, then a fixed tree over the rows in shared memory.
template <class T, bool IsMax>
__global__ void reduce_cols(Strided keep, Strided red, const T* a, int64_t O, int64_t R,
                            int64_t chunk, typename Acc<T>::type* part) {
  using C = typename Acc<T>::type;
  __shared__ C sh[8][33];
  const int64_t o = blockIdx.x * int64_t(32) + threadIdx.x;
  const int64_t s = blockIdx.y;
  C acc = identity<IsMax, C>();
  if (o < O) {
    int64_t ko[2];
    offsets<2>(keep, o, ko);
    const int64_t r0 = s * chunk, r1 = min(R, r0 + chunk);
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) {
      int64_t ro[1];
      offsets<1>(red, r, ro);
      acc = combine<IsMax>(acc, to_acc(a[ko[0] + ro[0]]));
    }
  }
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  for (int h = 4; h > 0; h /= 2) {
    if (threadIdx.y < h)
      sh[threadIdx.y][threadIdx.x] =
          combine<IsMax>(sh[threadIdx.y][threadIdx.x], sh[threadIdx.y + h][threadIdx.x]);
    __syncthreads();
  }
  if (threadIdx.y == 0 && o < O) part[s * O + o] = sh[0][threadIdx.x];
}

// out[o] = the S partials combined in order.
template <class T, bool IsMax>
__global__ void reduce_finish(Strided keep, const typename Acc<T>::type* part, int64_t O, int64_t S,
                              T* out) {
  using C = typename Acc<T>::type;
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < O;
       o += int64_t(gridDim.x) * blockDim.x) {
    C acc = identity<IsMax, C>();
    for (int64_t s = 0; s < S; ++s) acc = combine<IsMax>(acc, part[s * O + o]);
    int64_t ko[2];
    offsets<2>(keep, o, ko);
    out[ko[1]] = from_acc<T>(acc);
  }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <class T, bool IsMax>
void reduce_typed(const Tensor& a, Tensor& out) {
  using C = typename Acc<T>::type;
  // Split a's dims into kept (with in and out strides) and reduced ones.
  Shape ks, kin, kout, rs, rin;
  for (size_t i = 0; i < a.shape().size(); ++i) {
    if (a.shape()[i] == 1) continue;
    if (out.shape()[i] == 1) {
      rs.push_back(a.shape()[i]);
      rin.push_back(a.strides()[i]);
    } else {
      ks.push_back(a.shape()[i]);
      kin.push_back(a.strides()[i]);
      kout.push_back(out.strides()[i]);
    }
  }
  const Shape* kst[2] = {&kin, &kout};
  const Shape* rst[1] = {&rin};
  const Strided keep = make_strided(ks, kst, 2, "reduce");
  const Strided red = make_strided(rs, rst, 1, "reduce");
  const int64_t O = shape_numel(ks), R = shape_numel(rs);
  if (O == 0) return;
  const bool rows = red.nd > 0 && red.stride[0][red.nd - 1] == 1 &&
                    !(keep.nd > 0 && keep.stride[0][keep.nd - 1] == 1 && R < 64);
  // Chunks: enough parallel work, each chunk at least 1024 (rows) / 256 (cols) long.
  int64_t S;
  if (rows)
    S = std::max<int64_t>(1, std::min(ceil_div(8192, O), ceil_div(R, 1024)));
  else
    S = std::max<int64_t>(1, std::min(ceil_div(2048, ceil_div(O, 32)), ceil_div(R, 256)));
  S = std::min<int64_t>(S, 65535);
  const int64_t chunk = std::max<int64_t>(1, ceil_div(R, S));
  void* ws = alloc(size_t(S * O) * sizeof(C));
  C* part = static_cast<C*>(ws);
  const T* ap = static_cast<const T*>(a.data_ptr());
  cudaStream_t st = stream();
  if (rows) {
    const int64_t threads = O * S * 32;
    reduce_rows<T, IsMax><<<unsigned(ceil_div(threads, 256)), 256, 0, st>>>(keep, red, ap, O, R, S,
                                                                              chunk, part);
  } else {
    dim3 grid(unsigned(ceil_div(O, 32)), unsigned(S));
    reduce_cols<T, IsMax><<<grid, dim3(32, 8), 0, st>>>(keep, red, ap, O, R, chunk, part);
  }
  VD_CUDA_LAUNCH(rows ? "reduce_rows" : "reduce_cols");
  reduce_finish<T, IsMax><<<grid_for(O, 256), 256, 0, st>>>(keep, part, O, S,
                                                            static_cast<T*>(out.data_ptr()));
  VD_CUDA_LAUNCH("reduce_finish");
  release(ws, size_t(S * O) * sizeof(C));  // reuse is stream-ordered (cuda/allocator.cpp)
}

template <class T>
void reduce_op(ReduceOp op, const Tensor& a, Tensor& out) {
  if (op == ReduceOp::Sum)
    reduce_typed<T, false>(a, out);
  else
    reduce_typed<T, true>(a, out);
}

}  // namespace

void reduce(ReduceOp op, const Tensor& a, Tensor& out) {
  VD_CHECK(a.dtype() == out.dtype(), "reduce: dtypes differ: " << describe(a) << " and output "
                                                               << describe(out));
  VD_CHECK(a.dim() == out.dim(), "reduce: output " << describe(out) << " must keep the rank of "
                                                   << describe(a) << " (size 1 on reduced dims)");
  switch (a.dtype()) {
    case DType::F32: return reduce_op<float>(op, a, out);
    case DType::F64: return reduce_op<double>(op, a, out);
    case DType::BF16: return reduce_op<bf16_t>(op, a, out);
  }
}

}  // namespace vd::cuda
