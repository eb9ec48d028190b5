// Finite-difference gradient checks (f64) of the lead's differentiable core
// ops: elementwise (with broadcasting such as [3,1,4] against [2,1]),
// reductions, views, concat/stack, matmul and linear, on contiguous and
// strided (transposed, narrowed) inputs.
#include <gtest/gtest.h>

#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

namespace {
// A leaf with values in [0.5, 2.5): safe for log, sqrt, rsqrt, pow, div.
Tensor positive_leaf(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  Tensor t = Tensor::uniform(s, 0.5, 2.5, &gen, DType::F64);
  t.requires_grad_(true);
  return t;
}
using V = std::vector<Tensor>;
}  // namespace

TEST(GradcheckCore, BinaryOpsWithBroadcasting) {
  Tensor a = leaf({3, 1, 4}, 1), b = leaf({2, 1}, 2);
  Tensor pa = positive_leaf({3, 1, 4}, 3), pb = positive_leaf({2, 1}, 4);
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return add(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return sub(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return mul(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return div(v[0], v[1]); }, {a, pb}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return maximum(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return minimum(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return pow(v[0], v[1]); }, {pa, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return v[0] * v[1] - v[1] / v[0] + v[0]; }, {pa, b}));
}

TEST(GradcheckCore, BinaryOpsOnStridedInputs) {
  Tensor a = transposed_leaf({3, 4, 5}, 5), b = narrowed_leaf({4, 5}, 1, 6);
  Tensor pb = positive_leaf({4, 5}, 7);
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return add(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return mul(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return div(v[0], v[1]); }, {a, pb}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return maximum(v[0], v[1]); }, {a, b}));
}

TEST(GradcheckCore, ScalarAndUnaryOps) {
  Tensor x = transposed_leaf({3, 4}, 8), p = positive_leaf({3, 4}, 9);
  const std::vector<std::pair<const char*, Fn>> on_any = {
      {"add_s", [](const V& v) { return add(v[0], 1.5); }},
      {"mul_s", [](const V& v) { return mul(v[0], -2.5); }},
      {"rsub", [](const V& v) { return rsub(3.0, v[0]); }},
      {"neg", [](const V& v) { return neg(v[0]); }},
      {"exp", [](const V& v) { return exp(v[0]); }},
      {"relu", [](const V& v) { return relu(v[0]); }},
      {"abs", [](const V& v) { return abs(v[0]); }},
      {"square", [](const V& v) { return square(v[0]); }},
      {"operators", [](const V& v) { return 2.0 * v[0] + 1.0 - (-v[0]) / 4.0 - 3.0; }},
  };
  for (auto& [name, f] : on_any) EXPECT_TRUE(gradcheck_ok(f, {x})) << name;
  const std::vector<std::pair<const char*, Fn>> on_positive = {
      {"log", [](const V& v) { return log(v[0]); }},
      {"sqrt", [](const V& v) { return sqrt(v[0]); }},
      {"rsqrt", [](const V& v) { return rsqrt(v[0]); }},
      {"pow_s", [](const V& v) { return pow(v[0], 2.7); }},
      {"pow_neg", [](const V& v) { return pow(v[0], -1.5); }},
      {"rdiv", [](const V& v) { return rdiv(2.0, v[0]); }},
      {"scalar_div", [](const V& v) { return 2.0 / v[0] - v[0] / 3.0; }},
  };
  for (auto& [name, f] : on_positive) EXPECT_TRUE(gradcheck_ok(f, {p})) << name;
}

TEST(GradcheckCore, Reductions) {
  Tensor x = transposed_leaf({3, 4, 5}, 10);
  const std::vector<std::pair<const char*, Fn>> fs = {
      {"sum_all", [](const V& v) { return sum(v[0]); }},
      {"sum_1", [](const V& v) { return sum(v[0], {1}); }},
      {"sum_02_keep", [](const V& v) { return sum(v[0], {0, 2}, true); }},
      {"mean_neg", [](const V& v) { return mean(v[0], {-1}); }},
      {"mean_all", [](const V& v) { return mean(v[0]); }},
      {"var_unbiased", [](const V& v) { return var(v[0], {0, 1}); }},
      {"var_biased_keep", [](const V& v) { return var(v[0], {2}, 0, true); }},
      {"amax_1", [](const V& v) { return amax(v[0], {1}); }},
      {"amax_all", [](const V& v) { return amax(v[0]); }},
      {"method_sum_mean", [](const V& v) { return v[0].sum({0}) * v[0].mean({0}); }},
  };
  for (auto& [name, f] : fs) EXPECT_TRUE(gradcheck_ok(f, {x})) << name;
}

TEST(GradcheckCore, AmaxTiesShareTheGradient) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 3, 3, 2}, {4});
  x.requires_grad_(true);
  amax(x).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 0.5, 0.5, 0}));
}

TEST(GradcheckCore, Views) {
  Tensor x = narrowed_leaf({2, 3, 4}, 2, 11);
  const std::vector<std::pair<const char*, Fn>> fs = {
      {"reshape", [](const V& v) { return reshape(v[0], {4, -1}); }},
      {"permute", [](const V& v) { return permute(v[0], {2, 0, 1}); }},
      {"transpose", [](const V& v) { return transpose(v[0], 0, 2); }},
      {"narrow", [](const V& v) { return narrow(v[0], 1, 1, 2); }},
      {"select", [](const V& v) { return select(v[0], 2, 3); }},
      {"unsqueeze", [](const V& v) { return unsqueeze(v[0], 1); }},
      {"flatten", [](const V& v) { return flatten(v[0]); }},
      {"contiguous", [](const V& v) { return contiguous(transpose(v[0], 1, 2)); }},
      {"clone", [](const V& v) { return clone(v[0]); }},
      {"to_device", [](const V& v) { return to_device(v[0], Device::cpu()); }},
      {"to_dtype_same", [](const V& v) { return to_dtype(v[0], DType::F64); }},
      {"methods", [](const V& v) { return v[0].transpose(0, 1).reshape({3, 8}).narrow(1, 2, 5).select(0, 1); }},
      {"view_then_mul", [](const V& v) { return mul(transpose(v[0], 1, 2), reshape(v[0], {2, 4, 3})); }},
  };
  for (auto& [name, f] : fs) EXPECT_TRUE(gradcheck_ok(f, {x})) << name;
}

TEST(GradcheckCore, ToDtypeRoundTripGradientIsCast) {
  Tensor x = leaf({3}, 12);
  Tensor y = to_dtype(to_dtype(x, DType::F32) * 2.0, DType::F64);
  EXPECT_EQ(y.dtype(), DType::F64);
  y.sum().backward();
  EXPECT_EQ(x.grad().dtype(), DType::F64);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 2, 2}));
}

TEST(GradcheckCore, ConcatAndStack) {
  Tensor a = leaf({2, 3}, 13), b = transposed_leaf({4, 3}, 14), c = leaf({2, 3}, 15);
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return concat({v[0], v[1], v[0]}, 0); }, {a, b}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return concat({v[0], v[1]}, -1); }, {a, c}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return stack({v[0], v[1]}, 1); }, {a, c}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return stack({v[0], v[1]}, 0); }, {a, c}));
}

TEST(GradcheckCore, MatmulAndLinear) {
  Tensor a = leaf({3, 4}, 16), b = leaf({4, 5}, 17);
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return matmul(v[0], v[1]); }, {a, b}));
  Tensor at = transposed_leaf({3, 4}, 18), bt = transposed_leaf({4, 5}, 19);
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return matmul(v[0], v[1]); }, {at, bt}));
  Tensor ba = transposed_leaf({2, 3, 4}, 20), bb = narrowed_leaf({2, 4, 2}, 2, 21);
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return matmul(v[0], v[1]); }, {ba, bb}));
  Tensor x = narrowed_leaf({4, 3}, 1, 22), w = transposed_leaf({5, 3}, 23), bias = leaf({5}, 24);
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return linear(v[0], v[1], v[2]); }, {x, w, bias}));
  EXPECT_TRUE(gradcheck_ok([](const V& v) { return linear(v[0], v[1], Tensor()); }, {x, w}));
}

TEST(GradcheckCore, MatmulOfTransposedViewsMatchesHandComputed) {
  // a^T with a = [[1, 2], [3, 4]] viewed, not copied: a^T @ I = [[1, 3], [2, 4]].
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor eye = Tensor::from_vector(std::vector<double>{1, 0, 0, 1}, {2, 2});
  EXPECT_EQ(matmul(transpose(a, 0, 1), eye).to_vector(), (std::vector<double>{1, 3, 2, 4}));
  EXPECT_EQ(matmul(eye, transpose(a, 0, 1)).to_vector(), (std::vector<double>{1, 3, 2, 4}));
}
