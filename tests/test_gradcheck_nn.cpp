// Finite-difference gradient checks (f64) of the network layers in
// autograd/functions_nn.cpp: conv3d over strides, padding, dilation, non-cubic
// kernels, with and without bias and on non-contiguous inputs; max/avg pools
// with padding; global average pooling; batch norm on [N, C] and
// [N, T, H, W, C] in training and eval; and one directional check through a
// whole small network (conv3d -> batch_norm -> relu -> max_pool3d ->
// global_avg_pool3d -> linear -> cross_entropy).
#include <gtest/gtest.h>

#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

TEST(GradcheckNn, Conv3dPaddedWithBias) {
  Tensor x = leaf({2, 3, 4, 3, 2}, 1), w = leaf({3, 3, 3, 3, 2}, 2, 0.5), b = leaf({3}, 3);
  const Window3d win = window({3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return conv3d(v[0], v[1], v[2], win); },
                           {x, w, b}));
}

TEST(GradcheckNn, Conv3dStridedNonCubicNoBias) {
  Tensor x = leaf({1, 5, 6, 7, 2}, 4), w = leaf({2, 3, 2, 3, 2}, 5, 0.5);
  const Window3d win = window({3, 2, 3}, {2, 1, 3}, {1, 0, 2});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return conv3d(v[0], v[1], Tensor(), win); },
                           {x, w}));
}

TEST(GradcheckNn, Conv3dDilated) {
  Tensor x = leaf({1, 4, 6, 5, 2}, 6), w = leaf({2, 2, 3, 2, 2}, 7, 0.5), b = leaf({2}, 8);
  const Window3d win = window({2, 3, 2}, {1, 1, 1}, {0, 2, 1}, {2, 2, 3});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return conv3d(v[0], v[1], v[2], win); },
                           {x, w, b}));
}

TEST(GradcheckNn, Conv3dPointwiseOnNonContiguousInputs) {
  Tensor x = transposed_leaf({2, 2, 3, 3, 4}, 9);  // the channel axis is strided
  Tensor w = narrowed_leaf({3, 1, 1, 1, 4}, 4, 10);
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& v) { return conv3d(v[0], v[1], Tensor(), window({1, 1, 1})); }, {x, w}));
  Tensor x2 = narrowed_leaf({1, 3, 4, 4, 2}, 2, 11);
  Tensor w2 = leaf({2, 1, 3, 3, 2}, 12);
  const Window3d win = window({1, 3, 3}, {1, 2, 2}, {0, 1, 1});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return conv3d(v[0], v[1], Tensor(), win); },
                           {x2, w2}));
}

TEST(GradcheckNn, MaxPoolWithPadding) {
  // Random normal values: ties (kinks) have probability zero.
  Tensor x = leaf({1, 3, 5, 5, 2}, 13);
  for (const Window3d& win : {window({3, 3, 3}, {2, 2, 2}, {1, 1, 1}), window({1, 3, 3}, {1, 2, 2}, {0, 1, 1}),
                              window({2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {1, 2, 2})})
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return max_pool3d(v[0], win); }, {x}))
        << win.str();
}

TEST(GradcheckNn, AvgPoolWithPaddingBothDivisors) {
  Tensor x = transposed_leaf({1, 3, 5, 4, 3}, 14);
  for (bool include_pad : {true, false})
    for (const Window3d& win : {window({3, 3, 3}, {2, 2, 2}, {1, 1, 1}), window({2, 3, 1}, {1, 1, 1}, {1, 1, 0})})
      EXPECT_TRUE(gradcheck_ok(
          [&](const std::vector<Tensor>& v) { return avg_pool3d(v[0], win, include_pad); }, {x}))
          << win.str() << " count_include_pad " << include_pad;
}

TEST(GradcheckNn, GlobalAvgPool) {
  Tensor x = narrowed_leaf({2, 3, 2, 4, 3}, 1, 15);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return global_avg_pool3d(v[0]); }, {x}));
}

namespace {
// Batch norm with fresh running statistics per call (each finite-difference
// evaluation would otherwise move them).
Tensor bn(const std::vector<Tensor>& v, bool training, int64_t C) {
  Tensor rm = Tensor::full({C}, 0.2, DType::F64), rv = Tensor::full({C}, 1.5, DType::F64);
  return batch_norm(v[0], v[1], v[2], rm, rv, training, 0.1, 1e-5);
}
}  // namespace

TEST(GradcheckNn, BatchNormTrainAndEvalOnNC) {
  Tensor x = leaf({6, 4}, 16, 2.0), g = leaf({4}, 17), b = leaf({4}, 18);
  for (bool training : {true, false})
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return bn(v, training, 4); }, {x, g, b}))
        << "training " << training;
}

TEST(GradcheckNn, BatchNormTrainAndEvalOnVideo) {
  Tensor x = transposed_leaf({2, 2, 3, 3, 3}, 19), g = leaf({3}, 20), b = leaf({3}, 21);
  for (bool training : {true, false})
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return bn(v, training, 3); }, {x, g, b}))
        << "training " << training;
}

TEST(GradcheckNn, WholeSmallNetworkDirectional) {
  // conv3d -> batch_norm -> relu -> max_pool3d -> global_avg_pool3d -> linear -> cross_entropy
  Tensor x = leaf({3, 4, 6, 6, 2}, 22), w = leaf({4, 3, 3, 3, 2}, 23, 0.3), cb = leaf({4}, 24);
  Tensor g = leaf({4}, 25), b = leaf({4}, 26), lw = leaf({5, 4}, 27), lb = leaf({5}, 28);
  const std::vector<int64_t> labels{1, 4, 0};
  auto net = [&](const std::vector<Tensor>& v) {
    Tensor rm = Tensor::zeros({4}, DType::F64), rv = Tensor::ones({4}, DType::F64);
    Tensor h = conv3d(v[0], v[1], v[2], window({3, 3, 3}, {1, 2, 2}, {1, 1, 1}));
    h = relu(batch_norm(h, v[3], v[4], rm, rv, true));
    h = max_pool3d(h, window({2, 2, 2}, {2, 2, 2}));
    return cross_entropy(linear(global_avg_pool3d(h), v[5], v[6]), labels);
  };
  for (uint64_t seed : {1, 2, 3}) {
    auto r = autograd::directional_gradcheck(net, {x, w, cb, g, b, lw, lb}, seed, 1e-6, 1e-5);
    EXPECT_TRUE(r.ok) << r.message;
  }
}
