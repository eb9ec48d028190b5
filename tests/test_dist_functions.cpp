// tests/test_dist_functions.cpp: the differentiable collectives of
// dist/functions.h in one process: at world size 1 (the real single-process
// communicator) f64 finite-difference gradchecks and identity forwards; at
// world sizes 2 and 3 on the thread-played fake world (tests/test_dist_fake.h)
// hand-computed forwards and backwards and the finite-difference check of a
// loss spread over ranks. The same checks run on Open MPI in
// tests/mpi/test_mpi_dist_grad.cpp.
#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "dist/functions.h"
#include "tests/test_dist_fake.h"
#include "tests/test_dist_grad_util.h"
#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

namespace {
// A loss of the gathered batch G [W n, D] that mixes rows (as VICReg's
// covariance does) and depends on the rank through `w`: every element of
// every rank's input reaches every rank's loss.
Tensor mixing_loss(const Tensor& g, const Tensor& w) {
  Tensor centred = g - mean(g, {0}, true);
  Tensor cov = matmul(transpose(centred, 0, 1), centred);  // [D, D]
  return (square(cov) * 0.1).sum() + (exp(g * 0.5) * w).sum();
}
}  // namespace

TEST(DistFunctions, GradcheckAtWorldOne) {
  auto comm = dist::single_process();
  Tensor x = leaf({4, 3}, 1), w = leaf({4, 3}, 2).detach();
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& v) { return mixing_loss(dist::all_gather(*comm, v[0]), w); }, {x}));
  EXPECT_TRUE(gradcheck_ok(
      [&](const std::vector<Tensor>& v) { return exp(dist::all_reduce_sum(*comm, v[0])) * w; }, {x}));
}

TEST(DistFunctions, WorldOneForwardIsTheIdentityOnANewNode) {
  auto comm = dist::single_process();
  Tensor x = leaf({2, 3}, 3);
  Tensor g = dist::all_gather(*comm, x), s = dist::all_reduce_sum(*comm, x);
  EXPECT_EQ(g.to_vector(), x.to_vector());
  EXPECT_EQ(s.to_vector(), x.to_vector());
  EXPECT_TRUE(x.is_leaf());  // the tape node sits on the output, never on x
  EXPECT_FALSE(g.same_storage(x));
  (g * 2.0 + s).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<double>(6, 3.0));
}

TEST(DistFunctions, AllGatherHandValuesOnTwoAndThreeRanks) {
  for (int W : {2, 3}) {
    FakeWorld world(W);
    world.run([&](dist::Communicator& comm, int r) {
      // x_r = (r + 1) * [[1, 2], [3, 4]]; L_r = sum(G * c_r), c_r = (r + 1) * ones.
      Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
      x = ops::unary(UnaryOp::MulScalar, x, r + 1);
      x.requires_grad_(true);
      Tensor g = dist::all_gather(comm, x);
      ASSERT_EQ(g.shape(), (Shape{2 * W, 2}));
      const std::vector<double> gv = g.to_vector();
      for (int s = 0; s < W; ++s)
        for (int i = 0; i < 4; ++i) EXPECT_EQ(gv[size_t(4 * s + i)], (s + 1) * (i + 1));
      // Each rank's loss weights the whole G by (r + 1); dx_r = sum_s (s + 1).
      (g * double(r + 1)).sum().backward();
      EXPECT_EQ(x.grad().to_vector(), std::vector<double>(4, W * (W + 1) / 2.0));
    });
  }
}

TEST(DistFunctions, AllGatherKeepsOwnRowsOfTheSummedGradient) {
  // L_r = sum(G * M_r) with M_r [2W, 1] = 10 r + row index: dx_r[i] = sum_s M_s[r*2 + i].
  const int W = 3;
  FakeWorld world(W);
  world.run([&](dist::Communicator& comm, int r) {
    Tensor x = leaf({2, 1}, 7 + uint64_t(r));
    std::vector<double> m;
    for (int i = 0; i < 2 * W; ++i) m.push_back(10.0 * r + i);
    (dist::all_gather(comm, x) * Tensor::from_vector(m, {2 * W, 1})).sum().backward();
    for (int i = 0; i < 2; ++i) {
      double expect = 0;
      for (int s = 0; s < W; ++s) expect += 10.0 * s + (2 * r + i);
      EXPECT_EQ(x.grad().to_vector()[size_t(i)], expect) << "rank " << r << " row " << i;
    }
  });
}

TEST(DistFunctions, AllReduceSumHandValues) {
  const int W = 3;
  FakeWorld world(W);
  world.run([&](dist::Communicator& comm, int r) {
    Tensor x = Tensor::full({3}, r + 1.0, DType::F64);
    x.requires_grad_(true);
    Tensor s = dist::all_reduce_sum(comm, x);
    EXPECT_EQ(s.to_vector(), std::vector<double>(3, 6.0));  // 1 + 2 + 3
    (s * double(10 * (r + 1))).sum().backward();
    EXPECT_EQ(x.grad().to_vector(), std::vector<double>(3, 60.0));  // 10 + 20 + 30
  });
}

TEST(DistFunctions, GatheredLossMatchesFiniteDifferencesOfTheGlobalLoss) {
  for (int W : {2, 3}) {
    FakeWorld world(W);
    world.run([&](dist::Communicator& comm, int r) {
      Tensor x = rank_randn({3, 2}, 11, r), w = rank_randn({3 * W, 2}, 12, r);
      GlobalGradcheck res = global_gradcheck(
          comm,
          [&](const std::vector<Tensor>& v) {
            Tensor stats = dist::all_reduce_sum(comm, sum(square(v[0]), {0}));  // [2]
            return mixing_loss(dist::all_gather(comm, v[0]), w) + (stats * stats).sum() * 0.01;
          },
          {x});
      EXPECT_TRUE(res.ok) << res.message;
      EXPECT_EQ(res.checked, 6 * W);
    });
  }
}
