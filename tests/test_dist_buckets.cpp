// tests/test_dist_buckets.cpp: dist::GradBuckets in one process. The bucket
// assignment (reverse order, sizes, a parameter larger than a bucket alone,
// dtype boundaries, frozen and duplicate parameters); world size 1 (bitwise
// the plain backward, nothing added); and on the thread-played fake world of
// 2 and 3 ranks (tests/test_dist_fake.h): averages equal to hand values and
// to the mean of the ranks' own gradients, identical for many tiny buckets
// and one bucket, buckets started during backward and strictly in order,
// unused parameters, and the refusal of a gradient that grows after its
// bucket started. Open MPI twin: tests/mpi/test_mpi_dist_grad.cpp.
#include <gtest/gtest.h>

#include "dist/grad_buckets.h"
#include "layers/layers.h"
#include "tests/test_dist_fake.h"
#include "tests/test_dist_grad_util.h"
#include "tests/test_util.h"

using namespace vd;
using namespace vd::testing;

namespace {
Tensor param(const Shape& s, DType dtype = DType::F32) {
  Tensor t = Tensor::zeros(s, dtype);
  t.requires_grad_(true);
  return t;
}

std::shared_ptr<nn::Sequential> mlp(uint64_t seed) {
  Generator gen(seed);
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(4, 6, &gen), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(6, 3, &gen)});
}

Tensor mlp_loss(nn::Module& m, int rank) {
  return mean(square(m.forward(rank_randn({5, 4}, 21, rank, DType::F32))));
}
}  // namespace

TEST(DistBuckets, AssignmentInReverseOrderBySize) {
  // f32 bytes: a 40, b 80, c 400, d 20, e 120; cap 128.
  nn::NamedTensors ps{{"a", param({10})}, {"b", param({4, 5})}, {"c", param({100})},
                      {"d", param({5})},  {"e", param({30})}};
  dist::GradBuckets gb(dist::single_process(), ps, 128);
  const auto& bs = gb.buckets();
  ASSERT_EQ(bs.size(), 4u);
  EXPECT_EQ(bs[0].params, (std::vector<size_t>{4}));     // e (120 + d's 20 > 128)
  EXPECT_EQ(bs[1].params, (std::vector<size_t>{3}));     // d (20 + c's 400 > 128)
  EXPECT_EQ(bs[2].params, (std::vector<size_t>{2}));     // c alone: larger than a bucket
  EXPECT_EQ(bs[3].params, (std::vector<size_t>{1, 0}));  // b, a: 120
  EXPECT_EQ(bs[2].bytes, 400u);
  EXPECT_EQ(bs[3].bytes, 120u);
  EXPECT_EQ(bs[3].numel, 30);

  dist::GradBuckets one(dist::single_process(), ps);  // 25 MiB: one bucket, reversed
  ASSERT_EQ(one.buckets().size(), 1u);
  EXPECT_EQ(one.buckets()[0].params, (std::vector<size_t>{4, 3, 2, 1, 0}));
  EXPECT_EQ(one.bucket_bytes(), dist::kDefaultBucketBytes);

  dist::GradBuckets tiny(dist::single_process(), ps, 1);  // one parameter each
  EXPECT_EQ(tiny.buckets().size(), 5u);
}

TEST(DistBuckets, AssignmentSplitsAtADtypeChangeAndSkipsFrozenParameters) {
  Tensor frozen = Tensor::zeros({3});
  nn::NamedTensors ps{{"a", param({2})}, {"b", param({2}, DType::F64)}, {"frozen", frozen}, {"c", param({2}, DType::F64)}};
  dist::GradBuckets gb(dist::single_process(), ps, 1 << 20);
  ASSERT_EQ(gb.parameters().size(), 3u);  // frozen left out
  ASSERT_EQ(gb.buckets().size(), 2u);
  EXPECT_EQ(gb.buckets()[0].params, (std::vector<size_t>{2, 1}));  // c, b (f64)
  EXPECT_EQ(gb.buckets()[0].dtype, DType::F64);
  EXPECT_EQ(gb.buckets()[1].params, (std::vector<size_t>{0}));     // a (f32)
  Tensor a = param({2});
  EXPECT_NE(error_of([&] { dist::GradBuckets(dist::single_process(), {{"a", a}, {"again", a}}); })
                .find("listed twice"),
            std::string::npos);
}

TEST(DistBuckets, WorldOneIsThePlainBackwardBitForBit) {
  auto plain = mlp(3), bucketed = mlp(3);
  Tensor unused_p = param({2}), unused_b = param({2});
  mlp_loss(*plain, 0).backward();
  nn::NamedTensors ps = bucketed->named_parameters();
  ps.emplace_back("unused", unused_b);
  dist::GradBuckets gb(dist::single_process(), ps, 16);
  EXPECT_EQ(gb.backward(mlp_loss(*bucketed, 0)), 0.0);
  const auto a = plain->named_parameters(), b = bucketed->named_parameters();
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].second.grad().to_vector(), b[i].second.grad().to_vector()) << a[i].first;
  EXPECT_FALSE(unused_b.grad().defined());  // nothing added at world size 1
  EXPECT_EQ(gb.last_wait_seconds(), 0.0);
}

TEST(DistBuckets, AveragesEqualHandValuesOnTwoAndThreeRanks) {
  for (int W : {2, 3})
    for (size_t cap : {size_t(1), size_t(16), dist::kDefaultBucketBytes}) {
      FakeWorld world(W);
      world.run([&](dist::Communicator& comm, int r) {
        // loss_r = sum(w * x_r) + (r + 1) sum(v^2), x_r = (r + 1) [1, 2, 3]:
        // dw_r = (r + 1) [1, 2, 3], dv_r = 2 (r + 1) v; means (W + 1) / 2 [1, 2, 3], (W + 1) v.
        Tensor w = param({3}), v = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
        v.requires_grad_(true);
        dist::GradBuckets gb(borrow(comm), {{"w", w}, {"v", v}}, cap);
        Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
        gb.backward((w * (x * double(r + 1))).sum() + square(v).sum() * double(r + 1));
        const double h = (W + 1) / 2.0;
        EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{h, 2 * h, 3 * h})) << "W " << W << " cap " << cap;
        EXPECT_EQ(v.grad().to_vector(), (std::vector<double>{W + 1.0, 2 * (W + 1.0), 3 * (W + 1.0), 4 * (W + 1.0)}));
        EXPECT_GE(gb.last_wait_seconds(), 0.0);
      });
    }
}

TEST(DistBuckets, AveragesEqualTheMeanOfTheRanksGradientsForAnyBucketSize) {
  for (int W : {2, 3}) {
    std::vector<std::vector<std::vector<double>>> by_cap;  // [cap][param] from rank 0
    for (size_t cap : {size_t(1), size_t(100), dist::kDefaultBucketBytes}) {
      FakeWorld world(W);
      std::vector<std::vector<double>> got;
      world.run([&](dist::Communicator& comm, int r) {
        auto model = mlp(5);
        dist::GradBuckets gb(borrow(comm), model->named_parameters(), cap);
        gb.backward(mlp_loss(*model, r));
        // Reference: every rank's plain gradients, averaged here in f64.
        const auto ps = model->named_parameters();
        std::vector<std::vector<double>> mean_grads(ps.size());
        for (int s = 0; s < W; ++s) {
          auto ref = mlp(5);
          mlp_loss(*ref, s).backward();
          const auto rp = ref->named_parameters();
          for (size_t i = 0; i < rp.size(); ++i) {
            auto g = rp[i].second.grad().to_vector();
            mean_grads[i].resize(g.size(), 0.0);
            for (size_t j = 0; j < g.size(); ++j) mean_grads[i][j] += g[j] / W;
          }
        }
        for (size_t i = 0; i < ps.size(); ++i) {
          auto g = ps[i].second.grad().to_vector();
          for (size_t j = 0; j < g.size(); ++j) EXPECT_NEAR(g[j], mean_grads[i][j], 1e-6) << ps[i].first;
          if (r == 0) got.push_back(g);
        }
        if (W == 3 && cap == 1) {
          EXPECT_EQ(gb.buckets().size(), 4u);
        }
      });
      by_cap.push_back(got);
    }
    EXPECT_EQ(by_cap[0], by_cap[1]) << "world " << W;  // many buckets, a few, one: same bits
    EXPECT_EQ(by_cap[0], by_cap[2]) << "world " << W;
  }
}

TEST(DistBuckets, BucketsStartDuringBackwardStrictlyInOrder) {
  FakeWorld world(2);
  world.run([&](dist::Communicator& comm, int r) {
    auto& fake = dynamic_cast<FakeComm&>(comm);
    Tensor p0 = param({2}), p1 = param({3});
    dist::GradBuckets gb(borrow(comm), {{"p0", p0}, {"p1", p1}}, 1);  // buckets [p1], [p0]
    // p1 only in the oldest node, p0 only in the newest: p0 completes first,
    // but its bucket (1) waits for bucket 0 (p1).
    Tensor h = p1 * 2.0;
    Tensor loss = h.sum() + (p0 * 3.0).sum();
    autograd::backward(loss, Tensor(), false, gb.hook());
    EXPECT_EQ(fake.async_numels, (std::vector<int64_t>{3, 2}));  // both started before finish
    gb.finish();
    EXPECT_EQ(fake.async_calls, 2);
    EXPECT_EQ(p0.grad().to_vector(), std::vector<double>(2, 3.0));
    EXPECT_EQ(p1.grad().to_vector(), std::vector<double>(3, 2.0));
  });
}

TEST(DistBuckets, UnusedParametersContributeZerosAndGetAGradient) {
  FakeWorld world(2);
  world.run([&](dist::Communicator& comm, int r) {
    // u is used on rank 0 only, z nowhere; each sits in its own bucket so
    // rank 1 can start nothing after w until finish(): same order, later.
    Tensor w = param({2}), u = param({2}), z = param({2});
    dist::GradBuckets gb(borrow(comm), {{"z", z}, {"u", u}, {"w", w}}, 1);
    Tensor loss = (w * 1.0).sum();
    if (r == 0) loss = loss + (u * 4.0).sum();
    gb.backward(loss);
    EXPECT_EQ(w.grad().to_vector(), std::vector<double>(2, 1.0));
    EXPECT_EQ(u.grad().to_vector(), std::vector<double>(2, 2.0));  // (4 + 0) / 2 on both ranks
    ASSERT_TRUE(z.grad().defined());
    EXPECT_EQ(z.grad().to_vector(), std::vector<double>(2, 0.0));
  });
}

TEST(DistBuckets, AGradientThatGrowsAfterItsBucketStartedIsRefused) {
  FakeWorld world(2);
  world.run([&](dist::Communicator& comm, int) {
    Tensor w = param({2});
    dist::GradBuckets gb(borrow(comm), {{"w", w}}, 1);
    autograd::backward((w * 2.0).sum(), Tensor(), false, gb.hook());  // starts w's bucket
    const std::string e = error_of([&] { autograd::backward((w * 3.0).sum(), Tensor(), false, gb.hook()); });
    EXPECT_NE(e.find("grew after its bucket"), std::string::npos) << e;
  });
}
