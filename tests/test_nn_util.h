// Helpers shared by the gradient-check and network-op tests (test_gradcheck_*.cpp,
// test_nn_*.cpp): seeded f64 leaves, contiguous or as strided views, a window
// builder, and a gtest assertion around autograd::gradcheck. Test support only.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"
#include "tests/test_util.h"

namespace vd::testing {

// A contiguous f64 leaf with N(0, 1) values from a fixed seed.
inline Tensor leaf(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator gen(seed);
  Tensor t = ops::unary(UnaryOp::MulScalar, Tensor::randn(shape, &gen, DType::F64), scale);
  t.requires_grad_(true);
  return t;
}

// A leaf with `shape` whose storage has the last two dims swapped (a transposed view).
inline Tensor transposed_leaf(Shape shape, uint64_t seed) {
  const int d = int(shape.size());
  std::swap(shape[size_t(d - 1)], shape[size_t(d - 2)]);
  Generator gen(seed);
  Tensor base = Tensor::randn(shape, &gen, DType::F64);
  std::vector<int64_t> perm;
  for (int i = 0; i < d; ++i) perm.push_back(i);
  std::swap(perm[size_t(d - 1)], perm[size_t(d - 2)]);
  Tensor t = ops::permute(base, perm);
  EXPECT_FALSE(t.is_contiguous());
  t.requires_grad_(true);
  return t;
}

// A leaf with `shape` narrowed out of a tensor 2 larger along `dim` (offset 1);
// dim > 0, so that the view is not contiguous.
inline Tensor narrowed_leaf(Shape shape, int64_t dim, uint64_t seed) {
  Shape big = shape;
  big[size_t(dim)] += 2;
  Generator gen(seed);
  Tensor t = ops::narrow(Tensor::randn(big, &gen, DType::F64), dim, 1, shape[size_t(dim)]);
  EXPECT_FALSE(t.is_contiguous());
  t.requires_grad_(true);
  return t;
}

inline Window3d window(std::array<int64_t, 3> k, std::array<int64_t, 3> s = {1, 1, 1},
                       std::array<int64_t, 3> p = {0, 0, 0}, std::array<int64_t, 3> d = {1, 1, 1}) {
  Window3d w;
  w.kernel = k;
  w.stride = s;
  w.padding = p;
  w.dilation = d;
  return w;
}

inline ::testing::AssertionResult grad_ok(const autograd::GradcheckResult& r) {
  if (!r.ok) return ::testing::AssertionFailure() << r.message;
  if (r.checked == 0) return ::testing::AssertionFailure() << "no element was checked";
  return ::testing::AssertionSuccess() << r.checked << " checked";
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

inline ::testing::AssertionResult gradcheck_ok(const Fn& f, const std::vector<Tensor>& inputs,
                                               const autograd::GradcheckOptions& opt = {}) {
  return grad_ok(autograd::gradcheck(f, inputs, opt));
}

// max |a - b| over all elements (same shapes expected).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  auto va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

}  // namespace vd::testing
