// tests/mpi/test_mpi_dist_grad.cpp: the differentiable collectives
// (dist/functions.h), the gradient buckets (dist/grad_buckets.h) and
// SyncBatchNorm (layers/batchnorm.h) on Open MPI, on whatever world mpirun
// started (the main suite runs them on 2 and 3 ranks:
// tests/test_dist_grad_mpirun.cpp). The same checks as the fake-world tests
// of the main suite (tests/test_dist_{functions,buckets,syncbn}.cpp), here
// through real processes: hand values in closed form of the world size W,
// the f64 finite-difference check of a loss spread over ranks, averaged
// gradients for tiny and single buckets, rank-dependent completion orders,
// SyncBN on 2 rows per rank against one process holding all 2W rows, and a
// gathered VICReg-style step with SyncBN and buckets against one process.
// Every test reaches the same collectives on every rank (EXPECT, no ASSERT
// before a collective; mpi_util.h).
#include <gtest/gtest.h>

#include "dist/functions.h"
#include "dist/grad_buckets.h"
#include "tests/mpi/mpi_util.h"
#include "tests/test_dist_global_batch.h"
#include "tests/test_dist_grad_util.h"
#include "tests/test_dist_syncbn_util.h"

using namespace vd;
using namespace vd::testing;

namespace {
dist::Communicator& comm() { return *mpitest::world(); }

Tensor param(const Shape& s) {
  Tensor t = Tensor::zeros(s);
  t.requires_grad_(true);
  return t;
}

Tensor mixing_loss(const Tensor& g, const Tensor& w) {
  Tensor centred = g - mean(g, {0}, true);
  Tensor cov = matmul(transpose(centred, 0, 1), centred);
  return (square(cov) * 0.1).sum() + (exp(g * 0.5) * w).sum();
}
}  // namespace

TEST(MpiGradFunctions, AllGatherForwardAndSummedBackward) {
  const int r = comm().rank(), W = comm().world_size();
  // x_r = (r + 1) [[1, 2], [3, 4]]; L_r = sum(G * M_r), M_r[row] = 10 r + row.
  Tensor x = ops::unary(UnaryOp::MulScalar, Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}), r + 1);
  x.requires_grad_(true);
  Tensor g = dist::all_gather(comm(), x);
  std::vector<double> m;
  for (int i = 0; i < 2 * W; ++i) m.push_back(10.0 * r + i);
  (g * Tensor::from_vector(m, {2 * W, 1})).sum().backward();
  EXPECT_EQ(g.shape(), (Shape{2 * W, 2}));
  const std::vector<double> gv = g.to_vector();
  for (int s = 0; s < W; ++s)
    for (int i = 0; i < 4; ++i) EXPECT_EQ(gv[size_t(4 * s + i)], (s + 1) * (i + 1));
  for (int i = 0; i < 2; ++i) {
    double expect = 0;  // sum over s of M_s[2 r + i]
    for (int s = 0; s < W; ++s) expect += 10.0 * s + (2 * r + i);
    EXPECT_EQ(x.grad().to_vector()[size_t(2 * i)], expect);
    EXPECT_EQ(x.grad().to_vector()[size_t(2 * i + 1)], expect);
  }
}

TEST(MpiGradFunctions, AllReduceSumForwardAndBackward) {
  const int r = comm().rank(), W = comm().world_size();
  Tensor x = Tensor::full({3}, r + 1.0);  // f32
  x.requires_grad_(true);
  Tensor s = dist::all_reduce_sum(comm(), x);
  (s * double(10 * (r + 1))).sum().backward();
  EXPECT_EQ(s.to_vector(), std::vector<double>(3, W * (W + 1) / 2.0));
  EXPECT_EQ(x.grad().to_vector(), std::vector<double>(3, 10.0 * W * (W + 1) / 2.0));
}

TEST(MpiGradFunctions, GatheredLossMatchesFiniteDifferencesInF64) {
  const int r = comm().rank(), W = comm().world_size();
  Tensor x = rank_randn({3, 2}, 11, r), w = rank_randn({3 * W, 2}, 12, r);
  GlobalGradcheck res = global_gradcheck(
      comm(),
      [&](const std::vector<Tensor>& v) {
        Tensor stats = dist::all_reduce_sum(comm(), sum(square(v[0]), {0}));
        return mixing_loss(dist::all_gather(comm(), v[0]), w) + (stats * stats).sum() * 0.01;
      },
      {x});
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_EQ(res.checked, 6 * W);
}

TEST(MpiGradBuckets, AveragesEqualHandValuesForTinyAndSingleBuckets) {
  const int r = comm().rank(), W = comm().world_size();
  for (size_t cap : {size_t(1), size_t(16), dist::kDefaultBucketBytes}) {
    // dw_r = (r + 1) [1, 2, 3], dv_r = 2 (r + 1) v: means (W + 1) / 2 [1, 2, 3], (W + 1) v.
    Tensor w = param({3}), v = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
    v.requires_grad_(true);
    dist::GradBuckets gb(mpitest::world(), {{"w", w}, {"v", v}}, cap);
    Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
    const double waited = gb.backward((w * (x * double(r + 1))).sum() + square(v).sum() * double(r + 1));
    const double h = (W + 1) / 2.0;
    EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{h, 2 * h, 3 * h})) << "cap " << cap;
    EXPECT_EQ(v.grad().to_vector(), (std::vector<double>{W + 1.0, 2 * (W + 1.0), 3 * (W + 1.0), 4 * (W + 1.0)}));
    EXPECT_GE(waited, 0.0);
    EXPECT_EQ(gb.buckets().size(), cap == dist::kDefaultBucketBytes ? 1u : 2u);  // v (16 bytes) fills a 16-byte one
  }
}

TEST(MpiGradBuckets, AveragesEqualTheMeanOfTheRanksGradientsForAnyBucketSize) {
  const int r = comm().rank(), W = comm().world_size();
  std::vector<std::vector<std::vector<double>>> by_cap;
  for (size_t cap : {size_t(1), size_t(100), dist::kDefaultBucketBytes}) {
    auto model = embedder(false, DType::F32);
    auto loss_of = [](nn::Module& m, int rank) { return mean(square(m.forward(rank_randn({5, 5}, 21, rank, DType::F32)))); };
    dist::GradBuckets gb(mpitest::world(), model->named_parameters(), cap);
    gb.backward(loss_of(*model, r));
    const auto ps = model->named_parameters();
    std::vector<std::vector<double>> mean_grads(ps.size()), got;
    for (int s = 0; s < W; ++s) {  // every rank's plain gradients, averaged here in f64
      auto ref = embedder(false, DType::F32);
      loss_of(*ref, s).backward();
      const auto rp = ref->named_parameters();
      for (size_t i = 0; i < rp.size(); ++i) {
        auto g = rp[i].second.grad().to_vector();
        mean_grads[i].resize(g.size(), 0.0);
        for (size_t j = 0; j < g.size(); ++j) mean_grads[i][j] += g[j] / W;
      }
    }
    for (size_t i = 0; i < ps.size(); ++i) {
      got.push_back(ps[i].second.grad().to_vector());
      for (size_t j = 0; j < got[i].size(); ++j) EXPECT_NEAR(got[i][j], mean_grads[i][j], 1e-6) << ps[i].first;
    }
    by_cap.push_back(got);
  }
  // Many buckets, a few, one: on 2 ranks the same bits (a + b has one
  // rounding); on more, MPI may sum in another order per message size, so
  // within one rounding of the f32 average.
  for (size_t c = 1; c < by_cap.size(); ++c)
    for (size_t i = 0; i < by_cap[0].size(); ++i)
      for (size_t j = 0; j < by_cap[0][i].size(); ++j) {
        if (W == 2)
          EXPECT_EQ(by_cap[c][i][j], by_cap[0][i][j]);
        else
          EXPECT_NEAR(by_cap[c][i][j], by_cap[0][i][j], 1e-6 * std::max(1.0, std::abs(by_cap[0][i][j])));
      }
}

TEST(MpiGradBuckets, RankDependentCompletionOrderAndUnusedParameters) {
  // Buckets [p2], [p1], [p0]. Rank 0 completes p0 first, rank 1 p2 first
  // (nodes newest first); u is used on rank 0 only, z nowhere. Buckets
  // still start in the same order everywhere, so the results are exact.
  const int r = comm().rank(), W = comm().world_size();
  Tensor p0 = param({2}), p1 = param({3}), p2 = param({4}), u = param({2}), z = param({1});
  dist::GradBuckets gb(mpitest::world(), {{"z", z}, {"u", u}, {"p0", p0}, {"p1", p1}, {"p2", p2}}, 1);
  Tensor loss = r % 2 == 0 ? (p2 * 2.0).sum() + (p1 * 3.0).sum() + (p0 * 4.0).sum()
                           : (p0 * 4.0).sum() + (p1 * 3.0).sum() + (p2 * 2.0).sum();
  if (r == 0) loss = loss + (u * double(W)).sum();
  gb.backward(loss);
  EXPECT_EQ(p0.grad().to_vector(), std::vector<double>(2, 4.0));
  EXPECT_EQ(p1.grad().to_vector(), std::vector<double>(3, 3.0));
  EXPECT_EQ(p2.grad().to_vector(), std::vector<double>(4, 2.0));
  if (W > 1) {  // at world size 1 the buckets add nothing: u as rank 0 left it, z without one
    EXPECT_EQ(u.grad().to_vector(), std::vector<double>(2, 1.0));  // (W + 0 + ...) / W
  }
  EXPECT_EQ(z.grad().defined(), W > 1);
  if (z.grad().defined()) {
    EXPECT_EQ(z.grad().to_vector(), std::vector<double>(1, 0.0));
  }
}

TEST(MpiGradSyncBn, TwoRowsPerRankEqualOneProcessWithAllRows) {
  const int r = comm().rank(), W = comm().world_size();
  for (DType dtype : {DType::F64, DType::F32})
    for (bool video : {true, false}) {
      const double tol = dtype == DType::F64 ? 1e-12 : 1e-5;
      const int64_t n = 2;
      const Shape whole = video ? Shape{n * W, 2, 3, 2, 3} : Shape{4 * n * W, 3};
      const int64_t per = whole[0] / W;
      Tensor x = ops::unary(UnaryOp::AddScalar, rank_randn(whole, 41, 0, dtype), -1.5);
      Tensor wt = rank_randn(whole, 42, 0, dtype);
      auto ref_bn = make_bn(video, 3, dtype);
      BnResult ref = run_bn(*ref_bn, x, wt, 2);
      auto bn = make_bn(video, 3, dtype);
      bn->set_sync(mpitest::world());
      EXPECT_EQ(bn->syncs(), W > 1);
      bn->set_sync(mpitest::world(), /*at_world_1=*/true);  // also under mpirun -np 1
      BnResult got = run_bn(*bn, rows(x, r * per, per), rows(wt, r * per, per), 2);
      expect_matches_whole_batch(comm(), got, ref, r * per, per, tol);
    }
}

TEST(MpiGradGlobalBatch, GatheredLossWithSyncBnAndBucketsIsTheOneProcessStep) {
  for (bool with_bn : {true, false})
    for (DType dtype : {DType::F64, DType::F32})
      for (size_t cap : {size_t(64), dist::kDefaultBucketBytes})
        check_global_batch_step(comm(), with_bn, dtype, cap, dtype == DType::F64 ? 1e-12 : 2e-5);
}
