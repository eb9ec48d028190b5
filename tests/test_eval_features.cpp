// tests/test_eval_features.cpp: eval::recalibrate_batch_norm ("precise BN")
// on a toy encoder whose only statistics are one BatchNorm3d over the clip
// pixels, checked against the pixel moments of the same evaluation clips,
// computed independently through extract_features with a module that
// returns per-clip means of x and x^2. Not here: the feature extraction of
// real encoders (test_vididi_learns.cpp, test_cli_commands.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "autograd/functions.h"
#include "core/ops.h"
#include "data/synthetic.h"
#include "layers/layers.h"
#include "vididi/eval/features.h"

namespace vd {
namespace {

// [N, T, H, W, C] -> [N, C]: the per-clip channel means (after a BatchNorm3d
// when `with_norm`).
class MeanEncoder : public nn::Module {
 public:
  explicit MeanEncoder(bool with_norm) : nn::Module("MeanEncoder") {
    if (with_norm) bn = register_module("bn", std::make_shared<nn::BatchNorm3d>(3));
  }
  Tensor forward(const Tensor& x) override { return mean(bn ? bn->forward(x) : x, {1, 2, 3}); }
  std::shared_ptr<nn::BatchNorm3d> bn;
};

// [N, T, H, W, C] -> [N, 2C]: per-clip channel means of x and of x^2.
class MomentEncoder : public nn::Module {
 public:
  MomentEncoder() : nn::Module("MomentEncoder") {}
  Tensor forward(const Tensor& x) override {
    Tensor m = mean(x, {1, 2, 3}), m2 = mean(square(x), {1, 2, 3});
    const int64_t n = x.size(0), c = x.size(4);
    std::vector<double> a = m.to_vector(), b = m2.to_vector(), out;
    for (int64_t i = 0; i < n; ++i) {
      out.insert(out.end(), a.begin() + i * c, a.begin() + (i + 1) * c);
      out.insert(out.end(), b.begin() + i * c, b.begin() + (i + 1) * c);
    }
    return Tensor::from_vector(out, {n, 2 * c});
  }
};

std::shared_ptr<const data::VideoSource> videos() {  // 10 videos
  data::SyntheticConfig c;
  c.height = c.width = 16;
  c.frames = 6;
  c.videos_per_class = 1;
  return std::make_shared<data::SyntheticDynamics>(c);
}

eval::ExtractOptions options(int batch) {
  eval::ExtractOptions o;
  o.clip.clips = 2;  // 20 clips
  o.clip.frames = 4;
  o.clip.crop = 16;
  o.batch = batch;
  o.workers = 1;
  return o;
}

TEST(EvalFeatures, RecalibratedBatchNormHoldsThePixelMomentsOfTheClips) {
  auto src = videos();
  // Independent moments: mean over clips of the per-clip means of x and x^2
  // (all clips have the same number of pixels, M each).
  MomentEncoder moments;
  eval::VideoFeatures f = eval::extract_features(moments, src, options(8));
  ASSERT_EQ(f.dim, 6);
  const double clips = double(f.videos * f.clips), M = 4.0 * 16 * 16;
  double mu[3] = {0, 0, 0}, sq[3] = {0, 0, 0};
  for (int64_t i = 0; i < f.videos * f.clips; ++i)
    for (int c = 0; c < 3; ++c) {
      mu[c] += f.data[size_t(i * 6 + c)] / clips;
      sq[c] += f.data[size_t(i * 6 + 3 + c)] / clips;
    }

  // One batch of all 20 clips: the running statistics are that batch's mean
  // and unbiased variance.
  MeanEncoder one(true);
  EXPECT_EQ(eval::recalibrate_batch_norm(one, src, options(20)), 1);
  std::vector<double> rm = one.bn->running_mean.to_vector(), rv = one.bn->running_var.to_vector();
  const double n = clips * M;
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(rm[c], mu[c], 1e-4) << "channel " << c;
    EXPECT_NEAR(rv[c], (sq[c] - mu[c] * mu[c]) * n / (n - 1), 1e-3) << "channel " << c;
  }
  EXPECT_FALSE(one.is_training());
  EXPECT_FALSE(one.bn->cumulative);
  EXPECT_EQ(one.bn->num_batches_tracked.item(), 1.0);

  // Four shuffled batches of 5: the mean of equal-sized batch means is the
  // overall mean, whatever the order; the count is reset, not added to.
  MeanEncoder four(true);
  ops::fill_(four.bn->num_batches_tracked, 7.0);
  EXPECT_EQ(eval::recalibrate_batch_norm(four, src, options(5), 3), 4);
  EXPECT_EQ(four.bn->num_batches_tracked.item(), 4.0);
  rm = four.bn->running_mean.to_vector();
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(rm[c], mu[c], 1e-4) << "channel " << c;
  // And the features extracted afterwards use those statistics.
  eval::VideoFeatures g = eval::extract_features(four, src, options(8));
  double after = 0;
  for (int64_t i = 0; i < g.videos * g.clips; ++i) after += g.data[size_t(i * 3)] / clips;
  EXPECT_NEAR(after, 0.0, 1e-4) << "frames normalised by their own mean average to zero";
}

TEST(EvalFeatures, RecalibrationNeedsBatchesOfTwoAndRefusesBeforeTouchingTheStatistics) {
  MeanEncoder enc(true);
  ops::fill_(enc.bn->running_mean, 0.5);
  EXPECT_THROW(eval::recalibrate_batch_norm(enc, videos(), options(1)), Error);
  EXPECT_FALSE(enc.bn->cumulative);
  EXPECT_EQ(enc.bn->running_mean.to_vector(), std::vector<double>(3, 0.5));
}

}  // namespace
}  // namespace vd
