// CPU reference kernels: host memory, copy/cast, fill, unary and binary
// elementwise ops on f32 and f64 (bf16 can only be copied and cast here).
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/backend.h"
#include "core/bf16.h"
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

template <class T>
static T apply_unary(UnaryOp op, T x, T s) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Rsqrt: return T(1) / std::sqrt(x);
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    case UnaryOp::Abs: return std::abs(x);
    case UnaryOp::Square: return x * x;
    case UnaryOp::Sign: return T((x > T(0)) - (x < T(0)));
    case UnaryOp::AddScalar: return x + s;
    case UnaryOp::MulScalar: return x * s;
    case UnaryOp::PowScalar: return std::pow(x, s);
    case UnaryOp::RsubScalar: return s - x;
    case UnaryOp::RdivScalar: return s / x;
    case UnaryOp::GtScalar: return x > s ? T(1) : T(0);
  }
  return x;
}

template <class T>
static T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Maximum: return a > b || std::isnan(a) ? a : b;
    case BinaryOp::Minimum: return a < b || std::isnan(a) ? a : b;
    case BinaryOp::Pow: return std::pow(a, b);
    case BinaryOp::Gt: return a > b ? T(1) : T(0);
    case BinaryOp::Ge: return a >= b ? T(1) : T(0);
    case BinaryOp::Eq: return a == b ? T(1) : T(0);
    case BinaryOp::ReluGrad: return b > T(0) ? a : T(0);
  }
  return a;
}

template <class T>
static void unary_typed(UnaryOp op, const Tensor& a, T s, Tensor& out) {
  const T* x = static_cast<const T*>(a.data_ptr());
  T* y = static_cast<T*>(out.data_ptr());
  if (a.is_contiguous() && out.is_contiguous()) {
    const int64_t n = a.numel();
    for (int64_t i = 0; i < n; ++i) y[i] = apply_unary(op, x[i], s);
    return;
  }
  for_each_offset(out.shape(), a.strides(), out.strides(), out.strides(), 0, 0, 0,
                  [&](int64_t i, int64_t o, int64_t) { y[o] = apply_unary(op, x[i], s); });
}

void unary(UnaryOp op, const Tensor& a, double scalar, Tensor& out) {
  check_compute_dtype(a, unary_name(op));
  if (a.dtype() == DType::F32)
    unary_typed<float>(op, a, float(scalar), out);
  else
    unary_typed<double>(op, a, scalar, out);
}

template <class T>
static void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const T* pa = static_cast<const T*>(a.data_ptr());
  const T* pb = static_cast<const T*>(b.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  if (a.is_contiguous() && b.is_contiguous() && out.is_contiguous()) {
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i) po[i] = apply_binary(op, pa[i], pb[i]);
    return;
  }
  for_each_offset(out.shape(), a.strides(), b.strides(), out.strides(), 0, 0, 0,
                  [&](int64_t i, int64_t j, int64_t o) { po[o] = apply_binary(op, pa[i], pb[j]); });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  check_compute_dtype(a, binary_name(op));
  if (a.dtype() == DType::F32)
    binary_typed<float>(op, a, b, out);
  else
    binary_typed<double>(op, a, b, out);
}

}  // namespace vd::cpu
