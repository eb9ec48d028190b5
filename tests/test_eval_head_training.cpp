// tests/test_eval_head_training.cpp: the training of heads on cached
// features (vididi/eval/head_training.h) and the linear probe's convergence:
// L-BFGS on functions with known minima, the plateau schedule's decays and
// stop, the sigmoid BCE's value and gradient, and a separable problem that
// the old default (10 fixed cosine epochs) leaves unfit while the default
// solver fits it; plus the confusion matrix and per-class accuracy.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/optim/lbfgs.h"
#include "vididi/eval/head_training.h"
#include "vididi/eval/linear_probe.h"

using namespace vd;
using namespace vd::eval;

TEST(Lbfgs, MinimisesRosenbrock) {
  std::vector<double> x{-1.2, 1.0};
  auto f = [](const std::vector<double>& v, std::vector<double>& g) {
    const double a = 1 - v[0], b = v[1] - v[0] * v[0];
    g[0] = -2 * a - 400 * v[0] * b;
    g[1] = 200 * b;
    return a * a + 100 * b * b;
  };
  optim::LbfgsOptions o;
  o.gradient_tolerance = 1e-8;
  const optim::LbfgsResult r = optim::lbfgs_minimize(f, x, o);
  EXPECT_TRUE(r.converged) << r.reason;
  EXPECT_NEAR(x[0], 1.0, 1e-5);
  EXPECT_NEAR(x[1], 1.0, 1e-5);
  EXPECT_LT(r.iterations, 100);
}

TEST(Lbfgs, SolvesAQuadraticInAFewSteps) {
  // f = sum_i (i + 1) (x_i - i)^2 / 2: minimum at x_i = i.
  std::vector<double> x(5, 0.0);
  auto f = [](const std::vector<double>& v, std::vector<double>& g) {
    double s = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      g[i] = double(i + 1) * (v[i] - double(i));
      s += 0.5 * double(i + 1) * (v[i] - double(i)) * (v[i] - double(i));
    }
    return s;
  };
  optim::LbfgsOptions o;
  o.gradient_tolerance = 1e-10;
  const optim::LbfgsResult r = optim::lbfgs_minimize(f, x, o);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], double(i), 1e-6);
  EXPECT_LE(r.iterations, 12) << r.reason;
}

TEST(HeadTraining, PlateauDecaysTwiceThenStops) {
  HeadTrainOptions o;
  o.solver = "minibatch";
  o.patience = 2;
  o.tolerance = 0.01;
  o.lr = 1.0;
  EpochSchedule s(o, 5);
  EXPECT_TRUE(s.end_epoch(1.0));   // best 1.0
  EXPECT_TRUE(s.end_epoch(0.5));   // best 0.5
  EXPECT_TRUE(s.end_epoch(0.495)); // not by 0.01: 1 bad
  EXPECT_DOUBLE_EQ(s.lr(0), 1.0);
  EXPECT_TRUE(s.end_epoch(0.5));   // 2 bad: lr / 10
  EXPECT_DOUBLE_EQ(s.lr(7), 0.1);
  EXPECT_TRUE(s.end_epoch(0.6));
  EXPECT_TRUE(s.end_epoch(0.6));   // lr / 100
  EXPECT_NEAR(s.lr(0), 0.01, 1e-15);
  EXPECT_TRUE(s.end_epoch(0.3));   // improves: counts reset
  EXPECT_TRUE(s.end_epoch(0.3));
  EXPECT_FALSE(s.end_epoch(0.3));  // third plateau after two decays: stop
  EXPECT_NE(s.stop_reason().find("converged"), std::string::npos) << s.stop_reason();
  EXPECT_EQ(s.epochs_done(), 9);
  // The maximum ends it too, and cosine runs exactly `epochs`.
  o.epochs = 3;
  EpochSchedule m(o, 1);
  EXPECT_TRUE(m.end_epoch(3));
  EXPECT_TRUE(m.end_epoch(2));
  EXPECT_FALSE(m.end_epoch(1));
  EXPECT_NE(m.stop_reason().find("max epochs (3)"), std::string::npos);
  o.schedule = "cosine";
  EpochSchedule c(o, 4);
  EXPECT_DOUBLE_EQ(c.lr(0), 1.0);
  EXPECT_NEAR(c.lr(6), 0.5, 1e-12);  // half of 12 steps
  EXPECT_TRUE(c.end_epoch(1) && c.end_epoch(1));
  EXPECT_FALSE(c.end_epoch(1));
}

TEST(HeadTraining, BinaryCrossEntropyWithLogits) {
  // z = 0, y = 1: log 2; z = 3, y = 0: 3 + log(1 + e^-3); z = -40, y = 0: ~e^-40 (no overflow).
  Tensor z = Tensor::from_vector(std::vector<double>{0, 3, -40}, {1, 3});
  Tensor y = Tensor::from_vector(std::vector<double>{1, 0, 0}, {1, 3});
  const double want = (std::log(2.0) + 3 + std::log1p(std::exp(-3.0)) + std::exp(-40.0)) / 3;
  EXPECT_NEAR(binary_cross_entropy_with_logits(z, y).item(), want, 1e-6);
  Tensor zz = ops::to_dtype(Tensor::from_vector(std::vector<double>{0.3, -1.2, 2.5, 0.7}, {2, 2}), DType::F64);
  Tensor yy = ops::to_dtype(Tensor::from_vector(std::vector<double>{1, 0, 0.5, 1}, {2, 2}), DType::F64);
  zz.requires_grad_(true);
  const auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], yy); },
                                     {zz});
  EXPECT_TRUE(r.ok) << r.message;
}

namespace {
// Ten well separated Gaussian classes in 16 dimensions, `per_class` videos
// each, one clip per video.
VideoFeatures separable(int per_class, uint64_t seed) {
  Generator gen(seed);
  VideoFeatures f;
  f.clips = 1, f.dim = 16;
  for (int k = 0; k < 10; ++k)
    for (int i = 0; i < per_class; ++i) {
      for (int d = 0; d < 16; ++d) f.data.push_back(float((d == k ? 3.0 : 0.0) + 0.5 * gen.normal()));
      f.labels.push_back(k);
      f.names.push_back("");
    }
  f.videos = int64_t(f.labels.size());
  return f;
}
}  // namespace

// The symptom (issue 17 item 6): on a small set one epoch is one
// step, so 10 fixed epochs barely move the classifier.
TEST(HeadTraining, LinearProbeConvergesWhereTenFixedEpochsDidNot) {
  const VideoFeatures train = separable(8, 1), test = separable(5, 2);
  LinearProbeOptions old;
  old.train.solver = "minibatch";
  old.train.schedule = "cosine";
  old.train.epochs = 10;
  const LinearProbeResult r10 = linear_probe(train, test, old);
  EXPECT_LT(r10.top1.video, 0.7);
  EXPECT_EQ(r10.epochs_used(), 10);
  const LinearProbeResult r = linear_probe(train, test, LinearProbeOptions{});
  EXPECT_GE(r.top1.video, 0.98);
  EXPECT_NE(r.stop_reason.find("converged"), std::string::npos) << r.stop_reason;
  EXPECT_GE(r.epochs_used(), 2);  // L-BFGS iterations, each a full pass
  EXPECT_LT(r.epochs_used(), 1000);
  EXPECT_GT(r.epochs.front().loss, 5 * r.epochs.back().loss);
  // The minibatch rule also trains past 10 epochs until the loss stops improving.
  LinearProbeOptions plateau;
  plateau.train.solver = "minibatch";
  plateau.train.lr = 0.01;
  const LinearProbeResult rp = linear_probe(train, test, plateau);
  EXPECT_GE(rp.top1.video, 0.9);
  EXPECT_GT(rp.epochs_used(), 10);
  EXPECT_GT(rp.top1.video, r10.top1.video + 0.3);
  // Confusion matrix and per-class accuracy of its predictions.
  const std::vector<int64_t> m = confusion_matrix(test.labels, r.video_predicted, 10);
  int64_t diag = 0;
  for (int k = 0; k < 10; ++k) diag += m[size_t(k * 10 + k)];
  EXPECT_EQ(double(diag) / 50.0, r.top1.video);
}

TEST(HeadTraining, ConfusionMatrixAndPerClassAccuracyByHand) {
  const std::vector<int64_t> m = confusion_matrix({0, 0, 1, 1, 1}, {0, 1, 1, 1, 0}, 3);
  EXPECT_EQ(m, (std::vector<int64_t>{1, 1, 0, 1, 2, 0, 0, 0, 0}));
  const std::vector<double> a = per_class_accuracy(m, 3);
  EXPECT_DOUBLE_EQ(a[0], 0.5);
  EXPECT_NEAR(a[1], 2.0 / 3.0, 1e-15);
  EXPECT_TRUE(std::isnan(a[2]));
  // One video, two clips: the mean logits (0, 0.75, 1.25) -> class 2; a tie goes to the lower class.
  EXPECT_EQ(video_predictions({0, 1, 2, 0, 0.5f, 0.5f}, 1, 2, 3), std::vector<int>{2});
  EXPECT_EQ(video_predictions({1, 1, 0}, 1, 1, 3), std::vector<int>{0});
}
