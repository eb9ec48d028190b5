// data/derivative_picture.cpp: tiles of frames, d1 and d2 (see the header).
#include "data/derivative_picture.h"

#include <algorithm>
#include <cmath>

#include "data/error.h"

namespace vd::data {

Image derivative_picture(const Clip& clip, const DerivativePictureOptions& o) {
  if (clip.T < 3 || clip.C != 3 || o.max_frames < 3 || o.gap < 0)
    fail("derivative_picture", "expected an RGB clip of at least 3 frames and max_frames >= 3, got " +
                                   std::to_string(clip.T) + " frames of " + std::to_string(clip.C) +
                                   " channels, max_frames " + std::to_string(o.max_frames),
         "d2 needs three consecutive frames");
  const int n = std::min(clip.T, o.max_frames), H = clip.H, W = clip.W;
  Image out(3 * H + 2 * o.gap, n * W + (n - 1) * o.gap, 3);
  std::fill(out.px.begin(), out.px.end(), uint8_t(255));
  auto grey = [](float v) { return uint8_t(std::lround(std::min(255.f, std::max(0.f, v)))); };
  for (int row = 0; row < 3; ++row)
    for (int t = 0; t + row < n; ++t) {  // row r shows the r-th difference at column t
      const uint8_t* a = clip.frame(t);
      const uint8_t* b = clip.frame(std::min(t + 1, clip.T - 1));
      const uint8_t* c = clip.frame(std::min(t + 2, clip.T - 1));
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          for (int ch = 0; ch < 3; ++ch) {
            const size_t i = (size_t(y) * W + x) * 3 + ch;
            float v = a[i];
            if (row == 1) v = 128 + o.gain * (float(b[i]) - a[i]) / 2;
            if (row == 2) v = 128 + o.gain * (float(c[i]) - 2.f * b[i] + a[i]) / 4;
            out.at(row * (H + o.gap) + y, t * (W + o.gap) + x)[ch] = grey(v);
          }
    }
  return out;
}

void write_derivative_png(const Clip& clip, const std::string& path, const DerivativePictureOptions& o) {
  write_png(path, derivative_picture(clip, o));
}

}  // namespace vd::data
