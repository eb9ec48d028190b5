// Finite-difference gradient checks (f64) of softmax, log_softmax and the
// losses and similarities in autograd/functions_loss.cpp, on contiguous and
// strided inputs, including l2_normalize's clamp for a short row.
#include <gtest/gtest.h>

#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

TEST(GradcheckLoss, SoftmaxAndLogSoftmax) {
  for (const Tensor& x : {leaf({4, 7}, 1, 2.0), transposed_leaf({2, 3, 5}, 2), leaf({6}, 3)}) {
    EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return softmax(v[0]); }, {x}));
    EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return log_softmax(v[0]); }, {x}));
  }
}

TEST(GradcheckLoss, CrossEntropy) {
  Tensor x = leaf({5, 4}, 4, 2.0);
  EXPECT_TRUE(gradcheck_ok(
      [](const std::vector<Tensor>& v) { return cross_entropy(v[0], {0, 3, 3, 1, 2}); }, {x}));
  Tensor xt = transposed_leaf({3, 6}, 5);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return cross_entropy(v[0], {5, 0, 2}); }, {xt}));
}

TEST(GradcheckLoss, MseLoss) {
  Tensor a = leaf({3, 4}, 6), b = transposed_leaf({3, 4}, 7);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return mse_loss(v[0], v[1]); }, {a, b}));
}

TEST(GradcheckLoss, L2NormalizeAlongEachDim) {
  Tensor x = leaf({4, 5}, 8);
  for (int64_t dim : {0, 1, -1})
    EXPECT_TRUE(gradcheck_ok([dim](const std::vector<Tensor>& v) { return l2_normalize(v[0], dim); }, {x}))
        << "dim " << dim;
  // A row shorter than eps: the clamp makes it x / eps, whose gradient is 1 / eps.
  Tensor tiny = leaf({2, 3}, 9, 1e-4);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return l2_normalize(v[0], -1, 1e-2); }, {tiny},
                           autograd::GradcheckOptions().set_eps(1e-8).set_atol(1e-5)));
}

TEST(GradcheckLoss, CosineSimilarityMatrix) {
  Tensor a = leaf({4, 6}, 10), b = narrowed_leaf({5, 6}, 1, 11);
  EXPECT_TRUE(gradcheck_ok(
      [](const std::vector<Tensor>& v) { return cosine_similarity_matrix(v[0], v[1]); }, {a, b}));
}
