// data/augment.cpp: parameter drawing (torchvision's RandomResizedCrop and
// ColorJitter ranges) and the one-pass application: crop-resize-flip by a
// separable resampler shared by all frames, then one affine colour map.
// Jitter differs from torchvision in two documented ways: there is no clamp
// between the four jitter steps (only at the end), and hue is a rotation
// around the grey axis in YIQ space rather than an HSV shift, so the whole
// colour transform is one affine map per clip.
#include "data/augment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "data/error.h"
#include "data/image.h"

namespace vd::data {
namespace {

const float kGray[3] = {0.2989f, 0.587f, 0.114f};  // torchvision rgb_to_grayscale
const double kPi = 3.14159265358979323846;

using Mat = std::array<std::array<double, 3>, 3>;

Mat matmul(const Mat& a, const Mat& b) {
  Mat c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

Mat scaled(double s) { return Mat{{{s, 0, 0}, {0, s, 0}, {0, 0, s}}}; }

// x -> s x + (1 - s) gray(x) in every channel.
Mat toward_gray(double s) {
  Mat m{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m[i][j] = (i == j ? s : 0) + (1 - s) * kGray[j];
  return m;
}

Mat inverse(const Mat& m) {
  Mat r{};
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)  // cofactor of m[j][i]
      r[i][j] = (m[(j + 1) % 3][(i + 1) % 3] * m[(j + 2) % 3][(i + 2) % 3] -
                 m[(j + 1) % 3][(i + 2) % 3] * m[(j + 2) % 3][(i + 1) % 3]) / det;
  return r;
}

// Rotation of the chroma plane (I, Q) of YIQ by `turns` of a full circle.
Mat hue_rotation(double turns) {
  const Mat to_yiq{{{0.299, 0.587, 0.114}, {0.596, -0.274, -0.322}, {0.211, -0.523, 0.312}}};
  const Mat from_yiq = inverse(to_yiq);  // exact, so that hue 0 is the identity
  const double c = std::cos(2 * kPi * turns), s = std::sin(2 * kPi * turns);
  const Mat rot{{{1, 0, 0}, {0, c, -s}, {0, s, c}}};
  return matmul(from_yiq, matmul(rot, to_yiq));
}

void check_config(const AugmentConfig& c, int H, int W) {
  if (c.out_h < 1 || c.out_w < 1 || H < 1 || W < 1 || !(c.scale_min > 0) ||
      c.scale_min > c.scale_max || !(c.ratio_min > 0) || c.ratio_min > c.ratio_max)
    fail("AugmentConfig", "expected out size >= 1, 0 < scale_min <= scale_max, 0 < ratio_min <= "
                          "ratio_max, got out " + std::to_string(c.out_h) + "x" +
                              std::to_string(c.out_w) + " from frames " + std::to_string(H) + "x" +
                              std::to_string(W),
         "check the augmentation settings");
}

CropBox centred_box(int H, int W, double aspect /* w / h */) {
  int h = H, w = int(std::lround(H * aspect));
  if (w > W) {
    w = W;
    h = std::max(1, std::min(H, int(std::lround(W / aspect))));
  }
  return {(H - h) / 2, (W - w) / 2, h, w};
}

}  // namespace

AugmentParams draw_train_params(const AugmentConfig& cfg, int H, int W, Rng& rng) {
  check_config(cfg, H, W);
  AugmentParams p;
  const double area = double(H) * W;
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target = area * rng.uniform(cfg.scale_min, cfg.scale_max);
    const double aspect = std::exp(rng.uniform(std::log(cfg.ratio_min), std::log(cfg.ratio_max)));
    const int w = int(std::lround(std::sqrt(target * aspect)));
    const int h = int(std::lround(std::sqrt(target / aspect)));
    if (w > 0 && w <= W && h > 0 && h <= H) {
      p.crop = {int(rng.integer(0, H - h)), int(rng.integer(0, W - w)), h, w};
      found = true;
    }
  }
  if (!found) {  // torchvision's fallback: centre crop with the ratio clamped to the range
    const double aspect = std::min<double>(std::max<double>(double(W) / H, cfg.ratio_min), cfg.ratio_max);
    p.crop = centred_box(H, W, aspect);
  }
  p.flip = rng.bernoulli(cfg.flip_p);
  p.jitter = rng.bernoulli(cfg.jitter_p);
  if (p.jitter) {
    p.brightness = float(rng.uniform(std::max(0.f, 1 - cfg.brightness), 1 + cfg.brightness));
    p.contrast = float(rng.uniform(std::max(0.f, 1 - cfg.contrast), 1 + cfg.contrast));
    p.saturation = float(rng.uniform(std::max(0.f, 1 - cfg.saturation), 1 + cfg.saturation));
    p.hue = float(rng.uniform(-cfg.hue, cfg.hue));
    for (int i = 3; i > 0; --i) std::swap(p.order[i], p.order[rng.integer(0, i)]);
  }
  p.grayscale = rng.bernoulli(cfg.grayscale_p);
  return p;
}

AugmentParams eval_params(const AugmentConfig& cfg, int H, int W) {
  check_config(cfg, H, W);
  AugmentParams p;
  if (H >= cfg.out_h && W >= cfg.out_w)
    p.crop = {(H - cfg.out_h) / 2, (W - cfg.out_w) / 2, cfg.out_h, cfg.out_w};
  else
    p.crop = centred_box(H, W, double(cfg.out_w) / cfg.out_h);
  return p;
}

ColourAffine colour_affine(const AugmentParams& p, const float mean_rgb[3]) {
  Mat A = scaled(1.0);
  std::array<double, 3> b{0, 0, 0};
  auto then = [&](const Mat& m, std::array<double, 3> add) {  // (A, b) <- m (A x + b) + add
    A = matmul(m, A);
    std::array<double, 3> nb{};
    for (int i = 0; i < 3; ++i) nb[i] = m[i][0] * b[0] + m[i][1] * b[1] + m[i][2] * b[2] + add[i];
    b = nb;
  };
  for (int k = 0; p.jitter && k < 4; ++k) {
    switch (p.order[k]) {
      case 0: then(scaled(p.brightness), {0, 0, 0}); break;
      case 1: {  // blend towards the clip's mean grey level, as it is after the steps so far
        double m = 0;
        for (int i = 0; i < 3; ++i)
          m += kGray[i] * (A[i][0] * mean_rgb[0] + A[i][1] * mean_rgb[1] + A[i][2] * mean_rgb[2] + b[i]);
        const double c = p.contrast, add = (1 - c) * m;
        then(scaled(c), {add, add, add});
        break;
      }
      case 2: then(toward_gray(p.saturation), {0, 0, 0}); break;
      case 3: then(hue_rotation(p.hue), {0, 0, 0}); break;
    }
  }
  if (p.grayscale) then(toward_gray(0.0), {0, 0, 0});
  ColourAffine out;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) out.A[i][j] = float(A[i][j]);
    out.b[i] = float(b[i]);
  }
  return out;
}

namespace {

// Resamples every frame of `clip` into `work` [T, out_h, out_w, 3] (0..255
// floats) and returns the clip's colour map with 1/255 folded into A.
struct ColourMap {
  float A[3][3];
  float b[3];
};

ColourMap resample_clip(const Clip& clip, const AugmentParams& p, const AugmentConfig& cfg, float* work) {
  if (clip.C != 3) fail("apply_augment", "expected 3-channel RGB frames, got " + std::to_string(clip.C) + " channels");
  const CropBox& c = p.crop;
  if (c.h < 1 || c.w < 1 || c.y < 0 || c.x < 0 || c.y + c.h > clip.H || c.x + c.w > clip.W)
    fail("apply_augment", "expected a crop inside the " + std::to_string(clip.H) + "x" +
                              std::to_string(clip.W) + " frame, got " + std::to_string(c.h) + "x" +
                              std::to_string(c.w) + " at (" + std::to_string(c.y) + ", " +
                              std::to_string(c.x) + ")",
         "draw parameters for the clip's own frame size");
  const AxisResampler ry = make_resampler(c.y, c.h, clip.H, cfg.out_h);
  const AxisResampler rx = make_resampler(c.x, c.w, clip.W, cfg.out_w, p.flip);
  const size_t frame = size_t(cfg.out_h) * cfg.out_w * 3;
  for (int t = 0; t < clip.T; ++t) resample(clip.frame(t), clip.H, clip.W, 3, ry, rx, work + t * frame);
  const size_t pixels = frame / 3 * clip.T;
  float mean_rgb[3] = {0, 0, 0};
  if (p.jitter) {
    double sum[3] = {0, 0, 0};
    for (int t = 0; t < clip.T; ++t) {  // float partial sums per frame, in blocks of 8 pixels
      const float* f = work + t * frame;
      float acc[24] = {};
      size_t i = 0;
      for (; i + 24 <= frame; i += 24)
        for (int u = 0; u < 24; ++u) acc[u] += f[i + u];
      for (; i < frame; ++i) acc[i % 3] += f[i];
      for (int u = 0; u < 24; ++u) sum[u % 3] += acc[u];
    }
    for (int ch = 0; ch < 3; ++ch) mean_rgb[ch] = float(sum[ch] / (255.0 * pixels));
  }
  const ColourAffine m = colour_affine(p, mean_rgb);
  ColourMap out;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) out.A[i][j] = m.A[i][j] / 255.f;
    out.b[i] = m.b[i];
  }
  return out;
}

// The colour map and clamp of every pixel of `work`, v = clamp(A x + b, 0, 1)
// on the 0..1 scale, handed to store(pixel, channel, v) after the pixel's
// three inputs are read (so store may overwrite them in place). Blocks of 8
// pixels, split into planes, so that the fixed-length loops vectorise at
// -O2; the tail goes one pixel at a time.
template <class Store>
void colour_pixels(const float* work, size_t pixels, const ColourMap& m, Store store) {
  constexpr size_t B = 8;
  size_t i = 0;
  for (; i + B <= pixels; i += B) {
    const float* px = work + i * 3;
    float in[3][B];
    for (size_t u = 0; u < B; ++u)
      for (int ch = 0; ch < 3; ++ch) in[ch][u] = px[u * 3 + ch];
    for (int ch = 0; ch < 3; ++ch) {
      float v[B];
      for (size_t u = 0; u < B; ++u) {
        v[u] = m.A[ch][0] * in[0][u] + m.A[ch][1] * in[1][u] + m.A[ch][2] * in[2][u] + m.b[ch];
        v[u] = std::min(1.f, std::max(0.f, v[u]));
      }
      store.block(i, ch, v);
    }
  }
  for (; i < pixels; ++i) {
    const float* px = work + i * 3;
    const float r = px[0], g = px[1], bl = px[2];
    float v[3];
    for (int ch = 0; ch < 3; ++ch)
      v[ch] = std::min(1.f, std::max(0.f, m.A[ch][0] * r + m.A[ch][1] * g + m.A[ch][2] * bl + m.b[ch]));
    for (int ch = 0; ch < 3; ++ch) store.one(i, ch, v[ch]);
  }
}

// f32 output: (v - mean) * inv_std, in place.
struct StoreNormalised {
  float* out;
  float mean[3], inv_std[3];
  void block(size_t i, int ch, const float* v) const {
    for (size_t u = 0; u < 8; ++u) out[(i + u) * 3 + ch] = (v[u] - mean[ch]) * inv_std[ch];
  }
  void one(size_t i, int ch, float v) const { out[i * 3 + ch] = (v - mean[ch]) * inv_std[ch]; }
};

// uint8 output: round_to_u8(v).
struct StoreBytes {
  uint8_t* out;
  void block(size_t i, int ch, const float* v) const {
    for (size_t u = 0; u < 8; ++u) out[(i + u) * 3 + ch] = round_to_u8(v[u]);
  }
  void one(size_t i, int ch, float v) const { out[i * 3 + ch] = round_to_u8(v); }
};

}  // namespace

void apply_augment(const Clip& clip, const AugmentParams& p, const AugmentConfig& cfg, float* out) {
  const ColourMap m = resample_clip(clip, p, cfg, out);
  StoreNormalised store{out, {}, {}};
  for (int i = 0; i < 3; ++i) {
    store.mean[i] = cfg.mean[i];
    store.inv_std[i] = 1.f / cfg.std[i];  // the normalisation after the clamp
  }
  colour_pixels(out, size_t(cfg.out_h) * cfg.out_w * clip.T, m, store);
}

void apply_augment_u8(const Clip& clip, const AugmentParams& p, const AugmentConfig& cfg, uint8_t* out) {
  thread_local std::vector<float> work;  // one clip of 0..255 floats per worker thread, reused
  work.resize(size_t(cfg.out_h) * cfg.out_w * 3 * size_t(std::max(clip.T, 0)));
  const ColourMap m = resample_clip(clip, p, cfg, work.data());
  colour_pixels(work.data(), size_t(cfg.out_h) * cfg.out_w * clip.T, m, StoreBytes{out});
}

}  // namespace vd::data
