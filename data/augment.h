// data/augment.h: clip-consistent augmentation. Parameters are drawn once per
// clip (random resized crop, horizontal flip, colour jitter, grayscale) and the
// same geometric and colour transform is applied to every frame, so temporal
// differences of the augmented clip measure motion, not augmentation noise.
// Evaluation uses a centre crop and no colour change. The output is float,
// normalised by mean and std, channels last, or (apply_augment_u8) the same
// values before normalisation rounded to uint8 on the 0..255 scale. Not here: which frames make the
// clip (data/sampling.h), and the temporal derivatives (computed by the trainer).
#pragma once

#include <cmath>
#include <cstdint>

#include "data/rng.h"
#include "data/source.h"

namespace vd::data {

struct AugmentConfig {
  int out_h = 112, out_w = 112;
  // Random resized crop: crop area as a fraction of the frame, and crop
  // width / height; torchvision's algorithm (10 tries, then a centre crop).
  float scale_min = 0.3f, scale_max = 1.0f;
  float ratio_min = 3.f / 4.f, ratio_max = 4.f / 3.f;
  float flip_p = 0.5f;
  // Colour jitter, applied with probability jitter_p: brightness, contrast and
  // saturation factors uniform in [1 - s, 1 + s], hue shift uniform in
  // [-hue, hue] turns of the colour wheel, the four in a random order.
  float jitter_p = 0.8f;
  float brightness = 0.4f, contrast = 0.4f, saturation = 0.4f, hue = 0.1f;
  float grayscale_p = 0.2f;
  // Normalisation on the 0..1 scale (torchvision's Kinetics video models).
  float mean[3] = {0.43216f, 0.394666f, 0.37645f};
  float std[3] = {0.22803f, 0.22145f, 0.216989f};
};

struct CropBox {
  int y = 0, x = 0, h = 0, w = 0;  // in source pixels
};

struct AugmentParams {
  CropBox crop;
  bool flip = false;
  bool jitter = false;
  float brightness = 1, contrast = 1, saturation = 1, hue = 0;
  int order[4] = {0, 1, 2, 3};  // 0 brightness, 1 contrast, 2 saturation, 3 hue
  bool grayscale = false;
};

// Training parameters for frames of size H x W.
AugmentParams draw_train_params(const AugmentConfig& cfg, int H, int W, Rng& rng);
// Evaluation: a centre crop of out_h x out_w when the frame is that large
// (no resampling), else the largest centred box of that aspect, resized.
AugmentParams eval_params(const AugmentConfig& cfg, int H, int W);

// Colour transform on the 0..1 scale, rgb' = A rgb + b, composed from the
// jitter and grayscale parameters. `mean_rgb` is the clip's mean colour after
// cropping, which contrast blends towards (one value for the whole clip).
struct ColourAffine {
  float A[3][3];
  float b[3];
};
ColourAffine colour_affine(const AugmentParams& p, const float mean_rgb[3]);

// clip [T, H, W, 3] uint8 -> out [T, out_h, out_w, 3] float:
// (clamp(A * crop_resize_flip(frame) / 255 + b, 0, 1) - mean) / std.
void apply_augment(const Clip& clip, const AugmentParams& p, const AugmentConfig& cfg, float* out);

// The compact form (issue 18): the same crop, resize, flip, colour map and
// clamp, then each value v in [0, 1] rounded to a byte, round_to_u8(v) =
// floor(v * 255 + 0.5) in f32 (half up), instead of normalised. out is
// [T, out_h, out_w, 3] uint8; ops::normalize_frames (core/frames.h) finishes
// the job on the device with cfg.mean and cfg.std. The result differs from
// apply_augment's by at most 0.5 / 255 / std[c] per value (plus f32
// rounding), and equals it exactly where apply_augment's v is a multiple of
// 1/255 (tests/test_data_augment_u8.cpp).
void apply_augment_u8(const Clip& clip, const AugmentParams& p, const AugmentConfig& cfg, uint8_t* out);
inline uint8_t round_to_u8(float v) { return uint8_t(std::floor(v * 255.f + 0.5f)); }

}  // namespace vd::data
