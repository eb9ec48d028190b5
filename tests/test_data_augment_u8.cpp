// tests/test_data_augment_u8.cpp: the compact input transfer (issue 18) on
// the CPU. normalize_frames against hand-computed values and its refusals;
// apply_augment_u8 against the f32 path: its bytes are exactly the f32
// path's pre-normalisation values rounded half up, normalising them gives
// exactly what the f32 path gives for those rounded values, and the f32
// path itself within the documented 0.5 / 255 / std; a u8 loader against an
// f32 loader, batch for batch.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/bf16.h"
#include "core/frames.h"
#include "core/ops.h"
#include "data/augment.h"
#include "data/loader.h"
#include "data/synthetic.h"

namespace vd {
namespace {

const float kMean[3] = {0.43216f, 0.394666f, 0.37645f};
const float kStd[3] = {0.22803f, 0.22145f, 0.216989f};

FrameBytes bytes_of(const std::vector<uint8_t>& v, const Shape& s) {
  FrameBytes f = FrameBytes::empty(s);
  std::copy(v.begin(), v.end(), f.data());
  return f;
}

TEST(NormalizeFrames, MatchesHandComputedValues) {
  // One pixel per interesting byte, the three channels as given.
  const std::vector<uint8_t> x{0, 0, 0, 255, 255, 255, 128, 64, 1, 110, 101, 96};
  Tensor y = ops::normalize_frames(bytes_of(x, {1, 2, 1, 2, 3}), kMean, kStd);
  ASSERT_EQ(y.shape(), (Shape{1, 2, 1, 2, 3}));
  ASSERT_EQ(y.dtype(), DType::F32);
  const std::vector<double> got = y.to_vector();
  // By hand: 0 -> -mean/std, 255 -> (1 - mean)/std, e.g. channel 0:
  // -0.43216 / 0.22803 = -1.8952, 0.56784 / 0.22803 = 2.4902.
  EXPECT_NEAR(got[0], -1.895189, 1e-5);
  EXPECT_NEAR(got[3], 2.490199, 1e-5);
  for (size_t i = 0; i < x.size(); ++i) {
    const int c = int(i % 3);
    const double want = (x[i] / 255.0 - kMean[c]) / kStd[c];  // f64, the formula as written
    EXPECT_NEAR(got[i], want, 4e-7 * std::max(1.0, std::abs(want))) << "element " << i;
    // and exactly the f32 arithmetic of data/augment.cpp's normalisation
    const float exact = (float(x[i]) / 255.f - kMean[c]) * (1.f / kStd[c]);
    EXPECT_EQ(float(got[i]), exact) << "element " << i;
  }
  // bf16: the f32 result rounded once (to nearest even).
  Tensor h = ops::normalize_frames(bytes_of(x, {1, 2, 1, 2, 3}), kMean, kStd, DType::BF16);
  ASSERT_EQ(h.dtype(), DType::BF16);
  const std::vector<double> hv = h.to_vector();
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(float(hv[i]), bf16_to_float(float_to_bf16(float(got[i])))) << "element " << i;
}

TEST(NormalizeFrames, RefusesWrongShapesDtypesAndStds) {
  auto msg = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(msg([] { FrameBytes::empty({2, 4, 4, 4}); }).find("expected frames [N, T, H, W, 3]"), std::string::npos);
  EXPECT_NE(msg([] { FrameBytes::empty({1, 1, 2, 2, 4}); }).find("got [1, 1, 2, 2, 4]"), std::string::npos);
  const FrameBytes f = FrameBytes::empty({1, 1, 2, 2, 3});
  std::fill(f.data(), f.data() + f.numel(), uint8_t(7));
  EXPECT_NE(msg([&] { ops::normalize_frames(f, kMean, kStd, DType::F64); }).find("f32 or bf16"), std::string::npos);
  const float zero_std[3] = {0.2f, 0.f, 0.2f};
  EXPECT_NE(msg([&] { ops::normalize_frames(f, kMean, zero_std); }).find("positive finite stds"), std::string::npos);
  EXPECT_NE(msg([] { ops::normalize_frames(FrameBytes(), kMean, kStd); }).find("empty FrameBytes"), std::string::npos);
}

// A clip with values all over 0..255, and parameter sets that exercise the
// crop-resize (non-integer values), flip, every colour step and grayscale.
data::Clip random_clip(int T, int H, int W, uint64_t seed) {
  data::Rng rng(seed, 0, 0, 0);
  data::Clip c(T, H, W, 3);
  for (uint8_t& p : c.px) p = uint8_t(rng.integer(0, 255));
  return c;
}

std::vector<data::AugmentParams> param_sets(const data::AugmentConfig& cfg, int H, int W) {
  std::vector<data::AugmentParams> ps{data::eval_params(cfg, H, W)};
  data::AugmentConfig strong = cfg;
  strong.jitter_p = 1.f;
  for (uint64_t s = 0; s < 6; ++s) {
    data::Rng rng(5, s, 0, 0);
    data::AugmentParams p = data::draw_train_params(strong, H, W, rng);
    p.grayscale = s == 3;
    ps.push_back(p);
  }
  return ps;
}

TEST(AugmentU8, BytesAreTheF32PathsValuesRoundedAndNormaliseToTheF32Path) {
  data::AugmentConfig cfg;
  cfg.out_h = 12, cfg.out_w = 20;  // 240 pixels: 30 blocks of 8 and no tail; 13 x 20 below has a tail
  for (int out_h : {12, 13}) {
    cfg.out_h = out_h;
    data::AugmentConfig raw = cfg;  // mean 0, std 1: apply_augment returns the clamped values v
    for (int c = 0; c < 3; ++c) raw.mean[c] = 0.f, raw.std[c] = 1.f;
    const data::Clip clip = random_clip(3, 24, 30, 9 + uint64_t(out_h));
    const size_t n = size_t(3) * cfg.out_h * cfg.out_w * 3;
    int above_half = 0, inexact = 0;
    for (const data::AugmentParams& p : param_sets(cfg, clip.H, clip.W)) {
      std::vector<float> v(n), f32(n);
      std::vector<uint8_t> q(n);
      data::apply_augment(clip, p, raw, v.data());
      data::apply_augment(clip, p, cfg, f32.data());
      data::apply_augment_u8(clip, p, cfg, q.data());
      Tensor y = ops::normalize_frames(bytes_of(q, {1, 3, cfg.out_h, cfg.out_w, 3}), cfg.mean, cfg.std);
      const float* yv = y.data<float>();
      for (size_t i = 0; i < n; ++i) {
        const int c = int(i % 3);
        ASSERT_GE(v[i], 0.f);
        ASSERT_LE(v[i], 1.f);
        // 1. the bytes: the f32 path's v, rounded half up on the 0..255 scale
        const float scaled = v[i] * 255.f;
        ASSERT_EQ(q[i], uint8_t(std::floor(scaled + 0.5f))) << "value " << i << " v " << v[i];
        above_half += scaled - std::floor(scaled) > 0.5f;  // where truncation would differ
        inexact += scaled != std::floor(scaled);
        // 2. normalised: exactly the f32 path's normalisation of the rounded value
        const float rounded = float(q[i]) / 255.f;
        ASSERT_EQ(yv[i], (rounded - cfg.mean[c]) * (1.f / cfg.std[c])) << "value " << i;
        // 3. against the f32 path: at most half a step of 1/255, over std
        ASSERT_LE(std::abs(yv[i] - f32[i]), 0.5f / 255.f / cfg.std[c] + 1e-5f) << "value " << i;
      }
    }
    // The test would tell rounding from truncation, and from no rounding at all.
    EXPECT_GT(above_half, 100);
    EXPECT_GT(inexact, 1000);
  }
}

std::shared_ptr<const data::VideoSource> small_synthetic() {
  data::SyntheticConfig c;
  c.height = c.width = 20;
  c.frames = 12;
  c.videos_per_class = 1;  // 10 videos
  return std::make_shared<data::SyntheticDynamics>(c);
}

TEST(AugmentU8, U8LoaderGivesTheF32LoadersBatchesUpToTheRounding) {
  data::ClipConfig clip;
  clip.frames = 4;
  clip.extra_frames = 2;
  clip.augment.out_h = clip.augment.out_w = 16;
  data::LoaderConfig lc;
  lc.batch_size = 3;
  lc.workers = 2;
  lc.seed = 4;
  data::LoaderConfig lu = lc;
  lu.frames_u8 = true;
  size_t buffers = 0, floats = 0;
  lu.allocator = [&](size_t count) {
    ++buffers, floats += count;
    return data::default_allocator(count);
  };
  data::Loader f32(small_synthetic(), clip, lc), u8(small_synthetic(), clip, lu);
  int batches = 0;
  for (data::Batch a, b; f32.next(a);) {
    ASSERT_TRUE(u8.next(b));
    ++batches;
    EXPECT_EQ(a.video_ids, b.video_ids);
    EXPECT_EQ(a.labels, b.labels);
    ASSERT_EQ(a.views.size(), 2u);
    ASSERT_EQ(b.views.size(), 2u);
    for (size_t v = 0; v < 2; ++v) {
      data::ViewBatch& fa = a.views[v];
      data::ViewBatch& ub = b.views[v];
      ASSERT_FALSE(fa.is_u8());
      ASSERT_TRUE(ub.is_u8());
      EXPECT_EQ(ub.data, nullptr);
      ASSERT_EQ((Shape{ub.N, ub.T, ub.H, ub.W, ub.C}), (Shape{3, 6, 16, 16, 3}));
      for (int c = 0; c < 3; ++c) EXPECT_EQ(ub.std[c], clip.augment.std[c]);
      FrameBytes fb = FrameBytes::empty({ub.N, ub.T, ub.H, ub.W, ub.C});
      std::copy(ub.bytes.get(), ub.bytes.get() + ub.numel(), fb.data());
      Tensor y = ops::normalize_frames(fb, ub.mean, ub.std);
      const float* yv = y.data<float>();
      double worst = 0;
      for (size_t i = 0; i < fa.numel(); ++i)
        worst = std::max(worst, double(std::abs(yv[i] - fa.data.get()[i])) * clip.augment.std[i % 3]);
      EXPECT_LE(worst, 0.5 / 255 + 2e-6) << "batch " << batches << " view " << v;
      EXPECT_GT(worst, 0.3 / 255) << "the rounding should show somewhere";
    }
  }
  EXPECT_EQ(batches, 3);  // 10 videos, batch 3, drop_last
  // Each u8 buffer was a quarter of the floats.
  EXPECT_EQ(buffers, 6u);
  EXPECT_EQ(floats, 6u * ((3u * 6 * 16 * 16 * 3 + 3) / 4));
}

}  // namespace
}  // namespace vd
