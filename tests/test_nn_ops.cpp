// Forward values of pooling, batch norm, softmax and the losses against
// hand-computed cases, the running-statistics update, f32 against f64, and the
// error messages of bad parameters, shapes and labels.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

namespace {
Tensor vec(std::vector<double> v, Shape s) { return Tensor::from_vector(v, s); }
void expect_near(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "element " << i;
}
}  // namespace

TEST(NnPool, MaxAndAvgOnHandComputedRow) {
  // x along W: 1 5 2 -3 4, two channels (second = -first); kernel 3, stride 2, padding 1.
  Tensor x = vec({1, -1, 5, -5, 2, -2, -3, 3, 4, -4}, {1, 1, 1, 5, 2});
  const Window3d win = window({1, 1, 3}, {1, 1, 2}, {0, 0, 1});
  // windows: {pad,1,5} {5,2,-3} {-3,4,pad}
  EXPECT_EQ(max_pool3d(x, win).to_vector(), (std::vector<double>{5, -1, 5, 3, 4, 3}));
  expect_near(avg_pool3d(x, win, true).to_vector(), {2, -2, 4.0 / 3, -4.0 / 3, 1.0 / 3, -1.0 / 3}, 1e-15);
  expect_near(avg_pool3d(x, win, false).to_vector(), {3, -3, 4.0 / 3, -4.0 / 3, 0.5, -0.5}, 1e-15);
}

TEST(NnPool, MaxPoolTieGoesToFirstAndBackwardRoutesThere) {
  Tensor x = vec({2, 2, 1, 2}, {1, 1, 1, 4, 1});
  x.requires_grad_(true);
  Tensor y = max_pool3d(x, window({1, 1, 4}));
  EXPECT_EQ(y.to_vector(), std::vector<double>{2});
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 0, 0, 0}));
}

TEST(NnPool, GlobalAvgPoolIsMeanOverTHW) {
  Tensor x = ops::reshape(Tensor::arange(24, DType::F64), {2, 2, 3, 1, 2});
  // sample 0 channel 0: 0,2,...,10 -> 5; channel 1: 6; sample 1: 17, 18
  EXPECT_EQ(global_avg_pool3d(x).to_vector(), (std::vector<double>{5, 6, 17, 18}));
}

TEST(NnPool, F32MatchesF64) {
  Generator gen(3);
  Tensor x = Tensor::randn({2, 4, 7, 6, 3}, &gen, DType::F64), xf = ops::to_dtype(x, DType::F32);
  const Window3d win = window({3, 3, 3}, {2, 2, 2}, {1, 1, 1});
  EXPECT_EQ(max_pool3d(xf, win).to_vector(), ops::to_dtype(max_pool3d(x, win), DType::F32).to_vector());
  EXPECT_LT(max_abs_diff(avg_pool3d(xf, win), avg_pool3d(x, win)), 1e-6);
}

TEST(NnBatchNorm, TrainingNormalisesAndUpdatesRunningStatsUnbiased) {
  // One channel with values 1, 2, 3, 6: mean 3, biased var 3.5, unbiased 14/3.
  Tensor x = vec({1, 2, 3, 6}, {4, 1});
  Tensor g = vec({2}, {1}), b = vec({0.5}, {1});
  Tensor rm = vec({1}, {1}), rv = vec({2}, {1});
  Tensor y = batch_norm(x, g, b, rm, rv, true, 0.1, 0.0);
  const double s = 1 / std::sqrt(3.5);
  expect_near(y.to_vector(), {-4 * s + 0.5, -2 * s + 0.5, 0.5, 6 * s + 0.5}, 1e-12);
  EXPECT_NEAR(rm.item(), 0.9 * 1 + 0.1 * 3, 1e-12);
  EXPECT_NEAR(rv.item(), 0.9 * 2 + 0.1 * 14.0 / 3, 1e-12);
  // Eval uses the running ones: (x - rm) / sqrt(rv + eps) * g + b.
  Tensor ye = batch_norm(x, g, b, rm, rv, false, 0.1, 1e-5);
  const double m = rm.item(), is = 1 / std::sqrt(rv.item() + 1e-5);
  expect_near(ye.to_vector(), {(1 - m) * is * 2 + 0.5, (2 - m) * is * 2 + 0.5, (3 - m) * is * 2 + 0.5,
                               (6 - m) * is * 2 + 0.5}, 1e-12);
  EXPECT_NEAR(rm.item(), 1.2, 1e-12);  // eval leaves them alone
}

TEST(NnBatchNorm, VideoLayoutNormalisesEachChannelToZeroMeanUnitVar) {
  Generator gen(4);
  Tensor x = ops::to_dtype(ops::unary(UnaryOp::AddScalar, Tensor::randn({2, 3, 4, 4, 5}, &gen, DType::F64), 2.0),
                           DType::F32);
  Tensor rm = Tensor::zeros({5}), rv = Tensor::ones({5});
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, true);
  Tensor flat = ops::reshape(y, {-1, 5});
  expect_near(ops::reduce(ReduceOp::Sum, flat, {0}, false).to_vector(), std::vector<double>(5, 0.0), 1e-4);
  Tensor sq = ops::reduce(ReduceOp::Sum, ops::unary(UnaryOp::Square, flat), {0}, false);
  expect_near(sq.to_vector(), std::vector<double>(5, 96.0 * (1 - 1e-5)), 2e-3);
  EXPECT_EQ(rm.dtype(), DType::F32);
}

TEST(NnSoftmax, HandComputedRowsAndStability) {
  Tensor x = vec({0, std::log(3.0), 1000, 1000}, {2, 2});
  expect_near(softmax(x).to_vector(), {0.25, 0.75, 0.5, 0.5}, 1e-15);
  // 1000 - (1000 + log 2) keeps about 13 significant digits of log 0.5.
  expect_near(log_softmax(x).to_vector(), {std::log(0.25), std::log(0.75), std::log(0.5), std::log(0.5)}, 1e-12);
}

TEST(NnLoss, CrossEntropyMseNormalizeCosineHandComputed) {
  Tensor logits = vec({0, std::log(3.0), 2, 2}, {2, 2});
  // -(log 0.75 + log 0.5) / 2
  EXPECT_NEAR(cross_entropy(logits, {1, 0}).item(), -(std::log(0.75) + std::log(0.5)) / 2, 1e-14);
  EXPECT_NEAR(mse_loss(vec({1, 2, 3}, {3}), vec({1, 0, 0}, {3})).item(), 13.0 / 3, 1e-15);
  expect_near(l2_normalize(vec({3, 4, 0, 0}, {2, 2})).to_vector(), {0.6, 0.8, 0, 0}, 1e-15);
  Tensor c = cosine_similarity_matrix(vec({1, 0, 1, 1}, {2, 2}), vec({0, 2, 3, 0, -1, -1}, {3, 2}));
  const double h = 1 / std::sqrt(2.0);
  expect_near(c.to_vector(), {0, 1, -h, h, h, -1}, 1e-15);
}

TEST(NnErrors, PoolParametersAndShapes) {
  Tensor x = Tensor::zeros({1, 4, 4, 4, 2});
  std::string m = error_of([&] { max_pool3d(x, window({3, 3, 3}, {1, 1, 1}, {2, 0, 0})); });
  EXPECT_NE(m.find("padding 2"), std::string::npos) << m;
  EXPECT_NE(m.find("kernel 3"), std::string::npos) << m;
  m = error_of([&] { avg_pool3d(x, window({0, 3, 3})); });
  EXPECT_NE(m.find("kernel (0,3,3)"), std::string::npos) << m;
  m = error_of([&] { max_pool3d(Tensor::zeros({4, 4, 2}), window({2, 2, 2})); });
  EXPECT_NE(m.find("[4, 4, 2]"), std::string::npos) << m;
  m = error_of([&] { avg_pool3d(x, window({5, 1, 1})); });
  EXPECT_NE(m.find("too small"), std::string::npos) << m;
  EXPECT_NE(m.find("[1, 4, 4, 4, 2]"), std::string::npos) << m;
  m = error_of([&] { global_avg_pool3d(Tensor::zeros({2, 3})); });
  EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
}

TEST(NnErrors, BatchNormShapesAndBatchSize) {
  Tensor x = Tensor::zeros({4, 3}), rm = Tensor::zeros({3}), rv = Tensor::ones({3});
  std::string m = error_of([&] { batch_norm(x, Tensor::ones({4}), Tensor(), rm, rv, true); });
  EXPECT_NE(m.find("gamma"), std::string::npos) << m;
  EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  EXPECT_NE(m.find("[4, 3]"), std::string::npos) << m;
  Tensor bad = Tensor::zeros({5});
  m = error_of([&] { batch_norm(x, Tensor(), Tensor(), bad, rv, true); });
  EXPECT_NE(m.find("[5]"), std::string::npos) << m;
  EXPECT_NE(m.find("[4, 3]"), std::string::npos) << m;
  m = error_of([&] { batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), rm, rv, true); });
  EXPECT_NE(m.find("more than one value per channel"), std::string::npos) << m;
  m = error_of([&] { batch_norm(Tensor::zeros({2, 3, 3}), Tensor(), Tensor(), rm, rv, true); });
  EXPECT_NE(m.find("[2, 3, 3]"), std::string::npos) << m;
}

TEST(NnErrors, LossesNameLabelsAndShapes) {
  Tensor logits = Tensor::zeros({2, 3});
  std::string m = error_of([&] { cross_entropy(logits, {0, 3}); });
  EXPECT_NE(m.find("label 3"), std::string::npos) << m;
  EXPECT_NE(m.find("[0, 3)"), std::string::npos) << m;
  m = error_of([&] { cross_entropy(logits, {-1, 0}); });
  EXPECT_NE(m.find("label -1"), std::string::npos) << m;
  m = error_of([&] { cross_entropy(logits, {0}); });
  EXPECT_NE(m.find("1 labels"), std::string::npos) << m;
  EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  m = error_of([&] { mse_loss(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})); });
  EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 2]"), std::string::npos) << m;
  m = error_of([&] { mse_loss(Tensor::zeros({2}), Tensor::zeros({2}, DType::F64)); });
  EXPECT_NE(m.find("f64"), std::string::npos) << m;
  m = error_of([&] { cosine_similarity_matrix(Tensor::zeros({2, 3}), Tensor::zeros({2, 4})); });
  EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[2, 4]"), std::string::npos) << m;
}
