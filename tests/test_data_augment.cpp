// tests/test_data_augment.cpp: clip-consistent augmentation. The evaluation
// crop and the colour steps are checked against direct per-pixel formulas;
// consistency is checked by a clip whose frames differ by a constant, which
// must stay a constant difference after augmentation only if every frame got
// the same crop, flip and colour map.
#include <gtest/gtest.h>

#include <cmath>

#include "data/augment.h"
#include "tests/test_data_util.h"

namespace vd::data {
namespace {

Clip random_clip(int T, int H, int W, int lo, int hi, uint64_t seed) {
  Rng rng(seed, 0, 0, 0);
  Clip c(T, H, W, 3);
  for (uint8_t& p : c.px) p = uint8_t(rng.integer(lo, hi));
  return c;
}

AugmentConfig small_config() {
  AugmentConfig cfg;
  cfg.out_h = 12;
  cfg.out_w = 16;
  return cfg;
}

TEST(DataAugment, EvaluationIsTheNormalisedCentreCrop) {
  const AugmentConfig cfg = small_config();
  const Clip clip = random_clip(2, 20, 30, 0, 255, 1);
  const AugmentParams p = eval_params(cfg, 20, 30);
  EXPECT_EQ(p.crop.y, 4);
  EXPECT_EQ(p.crop.x, 7);
  std::vector<float> out(2 * 12 * 16 * 3);
  apply_augment(clip, p, cfg, out.data());
  for (int t = 0; t < 2; ++t)
    for (int y = 0; y < 12; ++y)
      for (int x = 0; x < 16; ++x)
        for (int c = 0; c < 3; ++c) {
          const float src = clip.frame(t)[((4 + y) * 30 + 7 + x) * 3 + c];
          EXPECT_NEAR(out[((t * 12 + y) * 16 + x) * 3 + c], (src / 255.f - cfg.mean[c]) / cfg.std[c], 1e-5);
        }
  // A frame smaller than the output: the largest centred 3:4 box, resized.
  EXPECT_EQ(eval_params(cfg, 9, 9).crop.w, 9);
  EXPECT_EQ(eval_params(cfg, 9, 9).crop.h, 7);
}

TEST(DataAugment, FlipMirrorsTheOutput) {
  const AugmentConfig cfg = small_config();
  const Clip clip = random_clip(1, 20, 30, 0, 255, 2);
  Rng rng(3, 0, 0, kAugment);
  AugmentParams p = draw_train_params(cfg, 20, 30, rng);
  std::vector<float> a(12 * 16 * 3), b(a.size());
  p.flip = false;
  apply_augment(clip, p, cfg, a.data());
  p.flip = true;
  apply_augment(clip, p, cfg, b.data());
  for (int y = 0; y < 12; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(b[(y * 16 + x) * 3 + c], a[(y * 16 + 15 - x) * 3 + c]);
}

TEST(DataAugment, ColourStepsMatchTheirFormulas) {
  const float rgb[3] = {0.6f, 0.3f, 0.2f}, mean[3] = {0.5f, 0.4f, 0.1f};
  const double gray = 0.2989 * 0.6 + 0.587 * 0.3 + 0.114 * 0.2;
  const double mean_gray = 0.2989 * 0.5 + 0.587 * 0.4 + 0.114 * 0.1;
  auto apply = [&](const AugmentParams& p, int c) {
    const ColourAffine m = colour_affine(p, mean);
    return m.A[c][0] * rgb[0] + m.A[c][1] * rgb[1] + m.A[c][2] * rgb[2] + m.b[c];
  };
  AugmentParams p;
  p.jitter = true;
  p.brightness = 1.3f;
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(apply(p, c), 1.3 * rgb[c], 1e-6);
  p.brightness = 1;
  p.contrast = 0.7f;  // towards the clip's mean grey
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(apply(p, c), 0.7 * rgb[c] + 0.3 * mean_gray, 1e-6);
  p.contrast = 1;
  p.saturation = 0.25f;
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(apply(p, c), 0.25 * rgb[c] + 0.75 * gray, 1e-6);
  p.saturation = 1;
  p.hue = 0.2f;  // a rotation around the grey axis keeps luma, changes colour
  double luma = 0, moved = 0;
  for (int c = 0; c < 3; ++c) {
    luma += std::vector<double>{0.299, 0.587, 0.114}[c] * apply(p, c);
    moved += std::fabs(apply(p, c) - rgb[c]);
  }
  EXPECT_NEAR(luma, 0.299 * 0.6 + 0.587 * 0.3 + 0.114 * 0.2, 2e-3);
  EXPECT_GT(moved, 0.1);
  p.hue = 0;
  p.jitter = false;
  p.grayscale = true;
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(apply(p, c), gray, 1e-6);
  // Order matters when contrast follows brightness: the mean it blends to is brightened too.
  p = AugmentParams();
  p.jitter = true;
  p.brightness = 1.2f;
  p.contrast = 0.5f;
  EXPECT_NEAR(apply(p, 0), 0.5 * 1.2 * 0.6 + 0.5 * 1.2 * mean_gray, 1e-6);
}

TEST(DataAugment, EveryFrameGetsTheSameTransform) {
  AugmentConfig cfg = small_config();
  Clip clip = random_clip(4, 20, 30, 60, 140, 4);
  for (int t = 1; t < 4; ++t)  // frame t = frame 0 + 5 t
    for (size_t i = 0; i < clip.frame_size(); ++i) clip.frame(t)[i] = uint8_t(clip.frame(0)[i] + 5 * t);
  int checked = 0;
  for (uint64_t draw = 0; draw < 20; ++draw) {
    Rng rng(draw, 0, 0, kAugment);
    AugmentParams p = draw_train_params(cfg, 20, 30, rng);
    p.jitter = true;  // mild factors keep every value inside [0, 1], away from the clamp
    p.brightness = 1.1f, p.contrast = 0.9f, p.saturation = 1.2f, p.hue = 0.05f;
    std::vector<float> out(4 * 12 * 16 * 3);
    apply_augment(clip, p, cfg, out.data());
    const size_t F = 12 * 16 * 3;
    for (int c = 0; c < 3; ++c) {
      const float d = out[F + c] - out[c];
      EXPECT_GT(std::fabs(d), 0.01f);
      for (int t = 0; t + 1 < 4; ++t)
        for (size_t i = c; i < F; i += 3) {
          ASSERT_NEAR(out[(t + 1) * F + i] - out[t * F + i], d, 2e-4) << "draw " << draw << " frame " << t;
          ++checked;
        }
    }
  }
  EXPECT_EQ(checked, 20 * 3 * 3 * 12 * 16);
}

TEST(DataAugment, TrainingParametersStayInTheirRanges) {
  const AugmentConfig cfg;  // defaults: 112 out, scale 0.3-1, ratio 3/4-4/3
  int flips = 0, grays = 0, jitters = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    Rng rng(9, 0, uint64_t(i), kAugment);
    const AugmentParams p = draw_train_params(cfg, 128, 171, rng);
    const double area = double(p.crop.h) * p.crop.w / (128.0 * 171), ratio = double(p.crop.w) / p.crop.h;
    ASSERT_GE(p.crop.y, 0);
    ASSERT_LE(p.crop.x + p.crop.w, 171);
    ASSERT_LE(p.crop.y + p.crop.h, 128);
    EXPECT_GT(area, 0.29);
    EXPECT_LT(ratio, 4.0 / 3 * 1.05);
    EXPECT_GT(ratio, 0.75 / 1.05);
    flips += p.flip, grays += p.grayscale, jitters += p.jitter;
    if (p.jitter) {
      EXPECT_LE(std::fabs(p.brightness - 1), 0.4f);
      EXPECT_LE(std::fabs(p.hue), 0.1f);
    }
  }
  EXPECT_NEAR(flips / double(n), 0.5, 0.05);
  EXPECT_NEAR(grays / double(n), 0.2, 0.04);
  EXPECT_NEAR(jitters / double(n), 0.8, 0.04);
  Rng rng(0, 0, 0, 0);
  testing::expect_data_error([&] {
    AugmentConfig bad;
    bad.scale_min = 0;
    draw_train_params(bad, 10, 10, rng);
  }, {"AugmentConfig", "scale_min"});
}

}  // namespace
}  // namespace vd::data
