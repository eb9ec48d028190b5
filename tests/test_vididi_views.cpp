// Tests of ViDiDi's derivative views (vididi/derivatives.h) and pair
// schedules (vididi/schedule.h) against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "vididi/derivatives.h"
#include "vididi/schedule.h"

using namespace vd;
using namespace vd::vididi;

namespace {
// A clip [N=2, T+k=4, H=1, W=2, C=1] whose pixel values over time are chosen
// so the differences are easy to state: clip 0 pixel 0 follows t^2, pixel 1 is
// 3t + 1; clip 1 pixel 0 is constant 5, pixel 1 is (-1)^t.
Tensor small_clip() {
  std::vector<double> v;
  for (int n = 0; n < 2; ++n)
    for (int t = 0; t < 4; ++t) {
      if (n == 0) { v.push_back(t * t); v.push_back(3 * t + 1); }
      else { v.push_back(5); v.push_back(t % 2 ? -1 : 1); }
    }
  return Tensor::from_vector(v, {2, 4, 1, 2, 1});
}
}  // namespace

TEST(VididiDerivatives, OrdersMatchHandComputedValues) {
  Tensor x = small_clip();
  // Order 0: frames 0, 1.
  EXPECT_EQ(derivative_view(x, 0, 2).to_vector(), (std::vector<double>{0, 1, 1, 4, 5, 1, 5, -1}));
  // Order 1 of t^2: 1, 3; of 3t+1: 3, 3; of a constant: 0; of (-1)^t: -2, 2.
  Tensor d1 = derivative_view(x, 1, 2);
  EXPECT_EQ(d1.shape(), (Shape{2, 2, 1, 2, 1}));
  EXPECT_EQ(d1.to_vector(), (std::vector<double>{1, 3, 3, 3, 0, -2, 0, 2}));
  // Order 2 of t^2: 2, 2; of a line: 0; of (-1)^t: 4, -4.
  Tensor d2 = derivative_view(x, 2, 2);
  EXPECT_EQ(d2.to_vector(), (std::vector<double>{2, 0, 2, 0, 0, 4, 0, -4}));
  // T = 3 for order 1 uses all 4 frames.
  EXPECT_EQ(derivative_view(x, 1, 3).to_vector(),
            (std::vector<double>{1, 3, 3, 3, 5, 3, 0, -2, 0, 2, 0, -2}));
}

TEST(VididiDerivatives, GainAndStandardisation) {
  Tensor x = small_clip();
  DerivativeOptions o;
  o.gain = {1.0, 0.5, 3.0};
  EXPECT_EQ(derivative_view(x, 1, 2, o).to_vector(), (std::vector<double>{0.5, 1.5, 1.5, 1.5, 0, -1, 0, 1}));
  EXPECT_EQ(derivative_view(x, 2, 2, o).to_vector(), (std::vector<double>{6, 0, 6, 0, 0, 12, 0, -12}));
  DerivativeOptions s;
  s.standardize = true;
  s.standardize_eps = 0;
  // Clip 0 of d1 = {1, 3, 3, 3}: mean 2.5, biased var 0.75.
  std::vector<double> got = derivative_view(x, 1, 2, s).to_vector();
  const double sd = std::sqrt(0.75);
  std::vector<double> want{-1.5 / sd, 0.5 / sd, 0.5 / sd, 0.5 / sd};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(got[size_t(i)], want[size_t(i)], 1e-12);
  // Clip 1 of d1 = {0, -2, 0, 2}: mean 0, var 2.
  EXPECT_NEAR(got[5], -2 / std::sqrt(2.0), 1e-12);
  // Order 0 is never standardised.
  EXPECT_EQ(derivative_view(x, 0, 2, s).to_vector(), derivative_view(x, 0, 2).to_vector());
}

TEST(VididiDerivatives, F32MatchesF64AndGradientChecks) {
  Tensor x = Tensor::randn({2, 5, 3, 2, 3}, nullptr, DType::F64);
  Tensor xf = x.to(DType::F32);
  for (int k = 0; k <= 2; ++k) {
    std::vector<double> a = derivative_view(x, k, 3).to_vector(), b = derivative_view(xf, k, 3).to_vector();
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5);
  }
  DerivativeOptions s;
  s.standardize = true;
  s.gain = {2, 2, 2};
  x.requires_grad_(true);
  auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return derivative_view(in[0], 2, 3, s); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(VididiDerivatives, RefusesShortClipsAndBadOrders) {
  Tensor x = small_clip();  // 4 frames
  EXPECT_THROW(derivative_view(x, 2, 3), Error);
  EXPECT_THROW(derivative_view(x, 3, 1), Error);
  EXPECT_THROW(derivative_view(Tensor::zeros({4, 2}), 0, 1), Error);
  try {
    derivative_view(x, 1, 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least 5 input frames"), std::string::npos) << e.what();
  }
}

TEST(VididiSchedule, AlternateCyclesThroughTheDefaultPairs) {
  PairSchedule s;
  std::vector<OrderPair> want{{0, 1}, {1, 2}, {2, 0}};
  for (int64_t step = 0; step < 7; ++step) {
    auto p = s.pairs_at(step);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0], want[size_t(step % 3)]);
  }
  EXPECT_EQ(s.max_order(), 2);
  EXPECT_EQ(s.encoder_passes_per_video(), 2);
  EXPECT_EQ(s.str(), "alternate 0-1,1-2,2-0");
}

TEST(VididiSchedule, SumUsesAllPairsAndSharesViews) {
  PairSchedule s(ScheduleKind::Sum, parse_pairs("0-1,1-2,2-0"));
  EXPECT_EQ(s.pairs_at(5), (std::vector<OrderPair>{{0, 1}, {1, 2}, {2, 0}}));
  EXPECT_EQ(s.encoder_passes_per_video(), 6);
  EXPECT_EQ(PairSchedule(ScheduleKind::Sum, parse_pairs("0-1,0-2")).encoder_passes_per_video(), 3);
}

TEST(VididiSchedule, RandomIsSeededStatelessAndCoversThePairs) {
  PairSchedule a(ScheduleKind::Random, parse_pairs("0-1,1-2,2-0"), 7);
  PairSchedule b(ScheduleKind::Random, parse_pairs("0-1,1-2,2-0"), 7);
  PairSchedule c(ScheduleKind::Random, parse_pairs("0-1,1-2,2-0"), 8);
  std::map<OrderPair, int> count;
  int differ = 0;
  for (int64_t step = 0; step < 300; ++step) {
    auto p = a.pairs_at(step);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p, b.pairs_at(step));
    differ += p != c.pairs_at(step);
    count[p[0]]++;
  }
  EXPECT_EQ(a.pairs_at(123), a.pairs_at(123));  // no hidden state
  EXPECT_GT(differ, 100);
  ASSERT_EQ(count.size(), 3u);
  for (auto& kv : count) EXPECT_GT(kv.second, 70);
}

TEST(VididiSchedule, ParsesPairListsAndRefusesBadOnes) {
  EXPECT_EQ(parse_pairs("0-0"), (std::vector<OrderPair>{{0, 0}}));
  EXPECT_EQ(parse_pairs(" 0-1 , 2-2"), (std::vector<OrderPair>{{0, 1}, {2, 2}}));
  EXPECT_EQ(pairs_str(parse_pairs("1-2,2-0")), "1-2,2-0");
  EXPECT_EQ(PairSchedule(ScheduleKind::Alternate, parse_pairs("0-0")).max_order(), 0);
  EXPECT_THROW(parse_pairs(""), Error);
  EXPECT_THROW(parse_pairs("0-3"), Error);
  EXPECT_THROW(parse_pairs("01"), Error);
  EXPECT_THROW(parse_pairs("0-1,,1-2"), Error);
  EXPECT_THROW(parse_schedule_kind("cycle"), Error);
  EXPECT_EQ(parse_schedule_kind("sum"), ScheduleKind::Sum);
}
