// data/derivative_picture.h: the teaching picture of ViDiDi's views. One
// clip's frames in the top row, their first temporal differences
// d1[t] = x[t+1] - x[t] in the middle row and second differences
// d2[t] = x[t+2] - 2 x[t+1] + x[t] in the bottom row, column t under frame t,
// differences drawn around mid-grey (128 = no change). Computed on the uint8
// frames for display only; the trainer's derivatives are its own.
#pragma once

#include <string>

#include "data/image.h"
#include "data/source.h"

namespace vd::data {

struct DerivativePictureOptions {
  int max_frames = 8;  // columns: the first max_frames frames of the clip
  int gap = 2;         // white pixels between tiles
  // Grey value = 128 + gain * d / 2 for d1 and 128 + gain * d / 4 for d2, so
  // gain 1 shows the full range without clipping; larger gains brighten
  // small motions and clip large ones.
  float gain = 2.f;
};

// [3 H + 2 gap, n W + (n - 1) gap, 3] for n = min(T, max_frames); needs T >= 3.
Image derivative_picture(const Clip& clip, const DerivativePictureOptions& options = {});
void write_derivative_png(const Clip& clip, const std::string& path,
                          const DerivativePictureOptions& options = {});

}  // namespace vd::data
