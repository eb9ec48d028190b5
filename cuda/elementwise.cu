// CUDA elementwise kernels: copy with dtype casts between any strides, fill,
// unary and binary ops (operands already broadcast by core/ops.cpp, stride 0
// where broadcast) in f32, f64 and bf16 (bf16 computes in f32). One kernel per
// element type walks any strides; dense tensors skip the index arithmetic.
// The op formulas equal the CPU's (core/cpu/elementwise.cpp).
#include "core/backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"

namespace vd::cuda {

Strided make_strided(const Shape& shape, const Shape* const* strides, int count, const char* what) {
  Strided g;
  // Drop size-1 dims, then merge dim d into d+1 where every tensor is dense across them.
  std::vector<int64_t> sz;
  std::vector<std::vector<int64_t>> st(static_cast<size_t>(count));
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!sz.empty()) {
      bool merge = true;
      for (int k = 0; k < count; ++k)
        merge = merge && st[size_t(k)].back() == (*strides[k])[d] * shape[d];
      if (merge) {
        sz.back() *= shape[d];
        for (int k = 0; k < count; ++k) st[size_t(k)].back() = (*strides[k])[d];
        continue;
      }
    }
    sz.push_back(shape[d]);
    for (int k = 0; k < count; ++k) st[size_t(k)].push_back((*strides[k])[d]);
  }
  VD_CHECK(sz.size() <= size_t(kMaxDims),
           what << ": the CUDA kernels walk at most " << kMaxDims << " non-mergeable dims, got shape "
                << shape_str(shape) << "; hint: make the operand contiguous first");
  g.nd = int(sz.size());
  g.contiguous = true;
  for (int d = 0; d < g.nd; ++d) {
    g.size[d] = sz[size_t(d)];
    for (int k = 0; k < 3; ++k) g.stride[k][d] = k < count ? st[size_t(k)][size_t(d)] : 0;
  }
  for (int k = 0; k < count; ++k)
    g.contiguous = g.contiguous && (g.nd == 0 || (g.nd == 1 && st[size_t(k)][0] == 1));
  return g;
}

namespace {

constexpr int kThreads = 256;

// --- copy and fill -------------------------------------------------------------------

template <class S, class D>
__global__ void copy_kernel(Strided g, const S* src, D* dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[2];
    offsets<2>(g, i, off);
    dst[off[1]] = from_acc<D>(to_acc(src[off[0]]));
  }
}

template <class T>
__global__ void fill_kernel(Strided g, T* dst, T value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[1];
    offsets<1>(g, i, off);
    dst[off[0]] = value;
  }
}

template <class S, class D>
void launch_copy(const Strided& g, const Tensor& src, Tensor& dst) {
  const int64_t n = dst.numel();
  copy_kernel<S, D><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
      g, static_cast<const S*>(src.data_ptr()), static_cast<D*>(dst.data_ptr()), n);
  VD_CUDA_LAUNCH("copy");
}

template <class S>
void copy_from(const Strided& g, const Tensor& src, Tensor& dst) {
  switch (dst.dtype()) {
    case DType::F32: return launch_copy<S, float>(g, src, dst);
    case DType::F64: return launch_copy<S, double>(g, src, dst);
    case DType::BF16: return launch_copy<S, bf16_t>(g, src, dst);
  }
}

// --- unary and binary ------------------------------------------------------------------

template <class C>
__device__ __forceinline__ C apply_unary(UnaryOp op, C x, C s) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return m_exp(x);
    case UnaryOp::Log: return m_log(x);
    case UnaryOp::Sqrt: return m_sqrt(x);
    case UnaryOp::Rsqrt: return C(1) / m_sqrt(x);
    case UnaryOp::Relu: return x > C(0) ? x : C(0);
    case UnaryOp::Abs: return m_abs(x);
    case UnaryOp::Square: return x * x;
    case UnaryOp::Sign: return C((x > C(0)) - (x < C(0)));
    case UnaryOp::AddScalar: return x + s;
    case UnaryOp::MulScalar: return x * s;
    case UnaryOp::PowScalar: return m_pow(x, s);
    case UnaryOp::RsubScalar: return s - x;
    case UnaryOp::RdivScalar: return s / x;
    case UnaryOp::GtScalar: return x > s ? C(1) : C(0);
  }
  return x;
}

template <class C>
__device__ __forceinline__ C apply_binary(BinaryOp op, C a, C b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Maximum: return a > b || isnan(a) ? a : b;
    case BinaryOp::Minimum: return a < b || isnan(a) ? a : b;
    case BinaryOp::Pow: return m_pow(a, b);
    case BinaryOp::Gt: return a > b ? C(1) : C(0);
    case BinaryOp::Ge: return a >= b ? C(1) : C(0);
    case BinaryOp::Eq: return a == b ? C(1) : C(0);
    case BinaryOp::ReluGrad: return b > C(0) ? a : C(0);
  }
  return a;
}

template <class T, class C>
__global__ void unary_kernel(UnaryOp op, Strided g, const T* a, C s, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[2];
    offsets<2>(g, i, off);
    out[off[1]] = from_acc<T>(apply_unary<C>(op, to_acc(a[off[0]]), s));
  }
}

template <class T>
__global__ void binary_kernel(BinaryOp op, Strided g, const T* a, const T* b, T* out, int64_t n) {
  using C = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[3];
    offsets<3>(g, i, off);
    out[off[2]] = from_acc<T>(apply_binary<C>(op, to_acc(a[off[0]]), to_acc(b[off[1]])));
  }
}

template <class T>
void launch_unary(UnaryOp op, const Strided& g, const Tensor& a, double s, Tensor& out) {
  using C = typename Acc<T>::type;
  const int64_t n = out.numel();
  unary_kernel<T, C><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
      op, g, static_cast<const T*>(a.data_ptr()), C(s), static_cast<T*>(out.data_ptr()), n);
  VD_CUDA_LAUNCH(unary_name(op));
}

template <class T>
void launch_binary(BinaryOp op, const Strided& g, const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  binary_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
      op, g, static_cast<const T*>(a.data_ptr()), static_cast<const T*>(b.data_ptr()),
      static_cast<T*>(out.data_ptr()), n);
  VD_CUDA_LAUNCH(binary_name(op));
}

void check_same_dtypes(const Tensor& a, const Tensor& out, const char* op) {
  VD_CHECK(a.dtype() == out.dtype(), op << ": dtypes differ: " << describe(a) << " and output "
                                        << describe(out) << "; hint: cast with .to(dtype)");
}

}  // namespace

// --- the kernel_list.inc entry points ------------------------------------------------

void copy(const Tensor& src, Tensor& dst) {
  if (dst.numel() == 0) return;
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    VD_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(),
                                  size_t(dst.numel()) * dtype_size(dst.dtype()),
                                  cudaMemcpyDeviceToDevice, stream()));
    return;
  }
  const Shape* st[2] = {&src.strides(), &dst.strides()};
  const Strided g = make_strided(dst.shape(), st, 2, "copy");
  switch (src.dtype()) {
    case DType::F32: return copy_from<float>(g, src, dst);
    case DType::F64: return copy_from<double>(g, src, dst);
    case DType::BF16: return copy_from<bf16_t>(g, src, dst);
  }
}

void fill(Tensor& dst, double value) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const Shape* st[1] = {&dst.strides()};
  const Strided g = make_strided(dst.shape(), st, 1, "fill");
  const unsigned grid = grid_for(n, kThreads);
  switch (dst.dtype()) {
    case DType::F32:
      fill_kernel<float><<<grid, kThreads, 0, stream()>>>(g, dst.data<float>(), float(value), n);
      break;
    case DType::F64:
      fill_kernel<double><<<grid, kThreads, 0, stream()>>>(g, dst.data<double>(), value, n);
      break;
    case DType::BF16:
      fill_kernel<bf16_t><<<grid, kThreads, 0, stream()>>>(
          g, static_cast<bf16_t*>(dst.data_ptr()), __float2bfloat16(float(value)), n);
      break;
  }
  VD_CUDA_LAUNCH("fill");
}

void unary(UnaryOp op, const Tensor& a, double scalar, Tensor& out) {
  check_same_dtypes(a, out, unary_name(op));
  if (out.numel() == 0) return;
  const Shape* st[2] = {&a.strides(), &out.strides()};
  const Strided g = make_strided(out.shape(), st, 2, unary_name(op));
  switch (a.dtype()) {
    case DType::F32: return launch_unary<float>(op, g, a, scalar, out);
    case DType::F64: return launch_unary<double>(op, g, a, scalar, out);
    case DType::BF16: return launch_unary<bf16_t>(op, g, a, scalar, out);
  }
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  check_same_dtypes(a, out, binary_name(op));
  check_same_dtypes(b, out, binary_name(op));
  if (out.numel() == 0) return;
  const Shape* st[3] = {&a.strides(), &b.strides(), &out.strides()};
  const Strided g = make_strided(out.shape(), st, 3, binary_name(op));
  switch (a.dtype()) {
    case DType::F32: return launch_binary<float>(op, g, a, b, out);
    case DType::F64: return launch_binary<double>(op, g, a, b, out);
    case DType::BF16: return launch_binary<bf16_t>(op, g, a, b, out);
  }
}

}  // namespace vd::cuda
