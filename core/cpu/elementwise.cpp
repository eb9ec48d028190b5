// CPU reference kernels: host memory, copy/cast, fill, unary and binary
// elementwise ops on f32 and f64 (bf16 can only be copied and cast here).
// Large contiguous unary and binary ops run on two threads.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/backend.h"
#include "core/bf16.h"
#include "core/cpu/parallel.h"
#include "core/cpu/strided.h"

namespace vd::cpu {

void* alloc(size_t nbytes) {
  void* p = std::aligned_alloc(64, (nbytes + 63) / 64 * 64);
  VD_CHECK(p, "cpu alloc: out of host memory asking for " << nbytes << " bytes");
  return p;
}

void release(void* ptr, size_t) { std::free(ptr); }

static double load(const void* base, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(base)[i];
    case DType::F64: return static_cast<const double*>(base)[i];
    case DType::BF16: return bf16_to_float(static_cast<const bf16*>(base)[i]);
  }
  return 0;
}

static void store(void* base, DType t, int64_t i, double v) {
  switch (t) {
    case DType::F32: static_cast<float*>(base)[i] = float(v); break;
    case DType::F64: static_cast<double*>(base)[i] = v; break;
    case DType::BF16: static_cast<bf16*>(base)[i] = float_to_bf16(float(v)); break;
  }
}

static void check_compute_dtype(const Tensor& t, const char* op) {
  VD_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64,
           op << ": the CPU computes in f32 or f64, got " << describe(t)
              << "; hint: bf16 is a GPU type, cast with .to(DType::F32)");
}

void copy(const Tensor& src, Tensor& dst) {
  const char* s = static_cast<const char*>(src.data_ptr());
  char* d = static_cast<char*>(dst.data_ptr());
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    std::memmove(d, s, size_t(src.numel()) * dtype_size(src.dtype()));
    return;
  }
  const DType ts = src.dtype(), td = dst.dtype();
  const Shape& sh = dst.shape();
  for_each_offset(sh, src.strides(), dst.strides(), dst.strides(), 0, 0, 0,
                  [&](int64_t i, int64_t o, int64_t) { store(d, td, o, load(s, ts, i)); });
}

void fill(Tensor& dst, double value) {
  void* d = dst.data_ptr();
  const DType t = dst.dtype();
  for_each_offset(dst.shape(), dst.strides(), dst.strides(), dst.strides(), 0, 0, 0,
                  [&](int64_t o, int64_t, int64_t) { store(d, t, o, value); });
}

// Contiguous tensors of this many elements or more are split in two halves
// on two threads (core/cpu/parallel.h).
constexpr int64_t kMinSplit = int64_t(1) << 16;

// out = f(a) elementwise, f chosen once per call so that the loop over a
// contiguous tensor is a plain (vectorisable) loop.
template <class T, class F>
static void map1(const Tensor& a, Tensor& out, F f) {
  const T* x = static_cast<const T*>(a.data_ptr());
  T* y = static_cast<T*>(out.data_ptr());
  if (a.is_contiguous() && out.is_contiguous()) {
    parallel2(a.numel(), kMinSplit, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) y[i] = f(x[i]);
    });
    return;
  }
  for_each_offset(out.shape(), a.strides(), out.strides(), out.strides(), 0, 0, 0,
                  [&](int64_t i, int64_t o, int64_t) { y[o] = f(x[i]); });
}

template <class T>
static void unary_typed(UnaryOp op, const Tensor& a, T s, Tensor& out) {
  switch (op) {
    case UnaryOp::Neg: return map1<T>(a, out, [](T x) { return -x; });
    case UnaryOp::Exp: return map1<T>(a, out, [](T x) { return std::exp(x); });
    case UnaryOp::Log: return map1<T>(a, out, [](T x) { return std::log(x); });
    case UnaryOp::Sqrt: return map1<T>(a, out, [](T x) { return std::sqrt(x); });
    case UnaryOp::Rsqrt: return map1<T>(a, out, [](T x) { return T(1) / std::sqrt(x); });
    case UnaryOp::Relu: return map1<T>(a, out, [](T x) { return x > T(0) ? x : T(0); });
    case UnaryOp::Abs: return map1<T>(a, out, [](T x) { return std::abs(x); });
    case UnaryOp::Square: return map1<T>(a, out, [](T x) { return x * x; });
    case UnaryOp::Sign: return map1<T>(a, out, [](T x) { return T((x > T(0)) - (x < T(0))); });
    case UnaryOp::AddScalar: return map1<T>(a, out, [s](T x) { return x + s; });
    case UnaryOp::MulScalar: return map1<T>(a, out, [s](T x) { return x * s; });
    case UnaryOp::PowScalar: return map1<T>(a, out, [s](T x) { return std::pow(x, s); });
    case UnaryOp::RsubScalar: return map1<T>(a, out, [s](T x) { return s - x; });
    case UnaryOp::RdivScalar: return map1<T>(a, out, [s](T x) { return s / x; });
    case UnaryOp::GtScalar: return map1<T>(a, out, [s](T x) { return x > s ? T(1) : T(0); });
  }
}

void unary(UnaryOp op, const Tensor& a, double scalar, Tensor& out) {
  check_compute_dtype(a, unary_name(op));
  if (a.dtype() == DType::F32)
    unary_typed<float>(op, a, float(scalar), out);
  else
    unary_typed<double>(op, a, scalar, out);
}

// out = f(a, b) elementwise (a and b broadcast to out by their strides).
template <class T, class F>
static void map2(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const T* pa = static_cast<const T*>(a.data_ptr());
  const T* pb = static_cast<const T*>(b.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  if (a.is_contiguous() && b.is_contiguous() && out.is_contiguous()) {
    parallel2(out.numel(), kMinSplit, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) po[i] = f(pa[i], pb[i]);
    });
    return;
  }
  for_each_offset(out.shape(), a.strides(), b.strides(), out.strides(), 0, 0, 0,
                  [&](int64_t i, int64_t j, int64_t o) { po[o] = f(pa[i], pb[j]); });
}

template <class T>
static void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  switch (op) {
    case BinaryOp::Add: return map2<T>(a, b, out, [](T x, T y) { return x + y; });
    case BinaryOp::Sub: return map2<T>(a, b, out, [](T x, T y) { return x - y; });
    case BinaryOp::Mul: return map2<T>(a, b, out, [](T x, T y) { return x * y; });
    case BinaryOp::Div: return map2<T>(a, b, out, [](T x, T y) { return x / y; });
    case BinaryOp::Maximum: return map2<T>(a, b, out, [](T x, T y) { return x > y || std::isnan(x) ? x : y; });
    case BinaryOp::Minimum: return map2<T>(a, b, out, [](T x, T y) { return x < y || std::isnan(x) ? x : y; });
    case BinaryOp::Pow: return map2<T>(a, b, out, [](T x, T y) { return std::pow(x, y); });
    case BinaryOp::Gt: return map2<T>(a, b, out, [](T x, T y) { return x > y ? T(1) : T(0); });
    case BinaryOp::Ge: return map2<T>(a, b, out, [](T x, T y) { return x >= y ? T(1) : T(0); });
    case BinaryOp::Eq: return map2<T>(a, b, out, [](T x, T y) { return x == y ? T(1) : T(0); });
    case BinaryOp::ReluGrad: return map2<T>(a, b, out, [](T x, T y) { return y > T(0) ? x : T(0); });
  }
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  check_compute_dtype(a, binary_name(op));
  if (a.dtype() == DType::F32)
    binary_typed<float>(op, a, b, out);
  else
    binary_typed<double>(op, a, b, out);
}

}  // namespace vd::cpu
