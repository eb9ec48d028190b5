// tests/test_eval_stats.cpp: seed statistics against hand-computed values:
// Student's t quantiles from printed tables, a mean, sd and interval worked
// by hand, and a paired difference.
#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.h"
#include "vididi/eval/stats.h"

using namespace vd::eval;

TEST(EvalStats, StudentTQuantilesMatchTheTables) {
  // Two-sided 95% (the 0.975 quantile), from any printed t table.
  EXPECT_NEAR(student_t_quantile(0.95, 1), 12.706, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.95, 2), 4.303, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.95, 3), 3.182, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.95, 4), 2.776, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.95, 9), 2.262, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.95, 29), 2.045, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.99, 4), 4.604, 5e-4);
  // df 1 is the Cauchy distribution: P(|T| <= 1) = 1/2.
  EXPECT_NEAR(student_t_central(1.0, 1), 0.5, 1e-15);
  // df 2: P(|T| <= t) = t / sqrt(2 + t^2).
  EXPECT_NEAR(student_t_central(1.5, 2), 1.5 / std::sqrt(4.25), 1e-15);
}

TEST(EvalStats, SummaryByHand) {
  // 1, 2, 3, 4: mean 2.5, sd sqrt(5/3), half-width t(0.975, 3) sd / 2.
  Summary s = summarize({1, 2, 3, 4});
  EXPECT_EQ(s.n, 4u);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.sd, std::sqrt(5.0 / 3.0), 1e-15);
  EXPECT_NEAR(s.hi - s.mean, 3.182446305284263 * std::sqrt(5.0 / 3.0) / 2, 1e-9);
  EXPECT_NEAR(s.mean - s.lo, s.hi - s.mean, 1e-12);
  EXPECT_EQ(s.str(2), "2.50 ± 1.29 [0.45, 4.55] (n = 4)");
  Summary one = summarize({7});
  EXPECT_EQ(one.str(), "7.0 (n = 1, no interval)");
  // Paired: a - b = 1, 3, 2 -> mean 2, sd 1, half-width 4.303 / sqrt(3).
  Summary d = paired_difference({11, 13, 12}, {10, 10, 10});
  EXPECT_DOUBLE_EQ(d.mean, 2);
  EXPECT_DOUBLE_EQ(d.sd, 1);
  EXPECT_NEAR(d.lo, 2 - 4.302652729911275 / std::sqrt(3.0), 1e-9);
  EXPECT_THROW(paired_difference({1, 2}, {1}), vd::Error);
}
