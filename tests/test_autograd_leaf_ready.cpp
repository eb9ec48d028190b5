// tests/test_autograd_leaf_ready.cpp: the backward engine's leaf-ready
// callback (autograd/node.h LeafReadyFn), which dist/grad_buckets uses to
// start all-reduces during backward: each leaf reported once, after its last
// contribution; the order of reports; leaves whose contributions are all
// undefined; a leaf root; gradients unchanged by listening.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "core/ops.h"

using namespace vd;

namespace {
Tensor leaf(std::vector<double> v) {
  Tensor t = Tensor::from_vector(v, {int64_t(v.size())});
  t.requires_grad_(true);
  return t;
}

// Reports as (name, gradient at report time).
struct Log {
  std::vector<std::pair<const TensorImpl*, std::vector<double>>> seen;
  autograd::LeafReadyFn fn() {
    return [this](const Tensor& t) {
      seen.emplace_back(&t.impl(), t.grad().defined() ? t.grad().to_vector() : std::vector<double>{});
    };
  }
  int count(const Tensor& t) const {
    int n = 0;
    for (const auto& s : seen) n += s.first == &t.impl();
    return n;
  }
};
}  // namespace

TEST(AutogradLeafReady, ALeafUsedBySeveralNodesIsReportedOnceAfterItsLastContribution) {
  // x enters three nodes created at different times; its report must carry
  // the complete gradient 2 + exp(x) + 3 x^2 (sum of all three).
  Tensor x = leaf({0.5, -1});
  Tensor a = x * 2.0;          // early
  Tensor b = exp(x) + a;       // middle
  Tensor c = b + x * x * x;    // late
  Log log;
  autograd::backward(c.sum(), Tensor(), false, log.fn());
  ASSERT_EQ(log.count(x), 1);
  EXPECT_EQ(log.seen.size(), 1u);
  EXPECT_EQ(log.seen[0].second, x.grad().to_vector());
  for (size_t i = 0; i < 2; ++i) {
    const double v = x.detach().to_vector()[i];
    EXPECT_NEAR(x.grad().to_vector()[i], 2 + std::exp(v) + 3 * v * v, 1e-12);
  }
}

TEST(AutogradLeafReady, LeavesAreReportedInTheOrderTheirLastEdgeRuns) {
  // backward runs nodes newest first: b (only in the newest node) is
  // complete first, a (only in the oldest) last; x*x gives one report.
  Tensor a = leaf({1, 2}), b = leaf({3, 4}), x = leaf({5, 6});
  Tensor h = a * 3.0;
  Tensor k = h + x * x;
  Tensor out = (k * b).sum();
  Log log;
  autograd::backward(out, Tensor(), false, log.fn());
  ASSERT_EQ(log.seen.size(), 3u);
  EXPECT_EQ(log.seen[0].first, &b.impl());
  EXPECT_EQ(log.seen[1].first, &x.impl());
  EXPECT_EQ(log.seen[2].first, &a.impl());
  EXPECT_EQ(log.seen[1].second, (std::vector<double>{30, 48}));  // 2 x b
}

TEST(AutogradLeafReady, ALeafWhoseContributionsAreUndefinedIsStillReported) {
  Tensor x = leaf({1, 2}), y = leaf({3, 4});
  Tensor out = ops::binary(BinaryOp::Add, x.detach(), y.detach());
  autograd::record("no_grad_for_x", {x, y}, out, [](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{Tensor(), g};
  });
  Log log;
  autograd::backward(out.sum(), Tensor(), false, log.fn());
  EXPECT_EQ(log.count(x), 1);
  EXPECT_EQ(log.count(y), 1);
  EXPECT_FALSE(x.grad().defined());
  EXPECT_EQ(y.grad().to_vector(), (std::vector<double>{1, 1}));
}

TEST(AutogradLeafReady, ALeafRootIsReportedAndListeningChangesNoGradient) {
  Tensor r = leaf({7});
  Log log;
  autograd::backward(r, Tensor(), false, log.fn());
  ASSERT_EQ(log.seen.size(), 1u);
  EXPECT_EQ(log.seen[0].second, (std::vector<double>{1}));

  // The same graph twice, with and without a listener: identical bits.
  Tensor p = leaf({0.3, -0.7, 1.1}), q = leaf({0.3, -0.7, 1.1});
  auto f = [](const Tensor& t) { return (exp(t) * t + t / (t * t + 1.0)).sum(); };
  f(p).backward();
  Log quiet;
  autograd::backward(f(q), Tensor(), false, quiet.fn());
  EXPECT_EQ(p.grad().to_vector(), q.grad().to_vector());
  EXPECT_EQ(quiet.count(q), 1);
}
