// data/image.h: 8-bit images and the pixel operations the data layer needs:
// decoding (JPEG, PNG via stb_image), writing (PNG, JPEG via stb_image_write),
// and separable resampling (bilinear when enlarging, area-correct box average
// when shrinking). It is not an augmentation module (data/augment.h) and knows
// nothing of clips or tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vd::data {

struct Image {
  int H = 0, W = 0, C = 0;
  std::vector<uint8_t> px;  // [H, W, C], row-major, channels last
  Image() = default;
  Image(int h, int w, int c) : H(h), W(w), C(c), px(size_t(h) * w * c, 0) {}
  uint8_t* at(int y, int x) { return px.data() + (size_t(y) * W + x) * C; }
  const uint8_t* at(int y, int x) const { return px.data() + (size_t(y) * W + x) * C; }
};

// Decodes a JPEG or PNG file into `channels` channels (3 = RGB). Throws
// DataError naming the path for a missing, unreadable or corrupt file.
Image decode_image_file(const std::string& path, int channels = 3);
Image decode_image_memory(const uint8_t* bytes, size_t size, int channels,
                          const std::string& name_for_errors);

void write_png(const std::string& path, const Image& img);
// Writes `bytes` to `path`, every step checked (open, write, flush, close):
// a full disk is a DataError naming the file, and the partial file is removed.
void write_file(const std::string& path, const std::string& bytes);
void write_jpeg(const std::string& path, const Image& img, int quality = 95);

// One axis of a resampling: output sample o is sum over its taps of
// weight * source[index], taps first[o] .. first[o] + count[o] - 1.
struct AxisResampler {
  int out = 0;
  std::vector<int> first, count;
  std::vector<int> index;
  std::vector<float> weight;
};

// Maps the source window [start, start + length) (pixel i covers [i, i + 1)) of
// an axis with src_n pixels onto dst_n output pixels. Shrinking (length > dst_n)
// averages the covered source pixels by their overlap (area-correct);
// otherwise bilinear with half-pixel centres (PyTorch align_corners=False),
// edges clamped. reverse = true mirrors the output (horizontal flip).
AxisResampler make_resampler(double start, double length, int src_n, int dst_n,
                             bool reverse = false);

// dst [ry.out, rx.out, C] floats on the 0..255 scale from src [H, W, C] uint8.
void resample(const uint8_t* src, int H, int W, int C, const AxisResampler& ry,
              const AxisResampler& rx, float* dst);

// Whole-image resize to [h, w], rounded back to uint8.
Image resize(const Image& src, int h, int w);
// Resize so that the shorter side becomes `short_side` (aspect kept, rounded);
// returns a copy when it already is.
Image resize_short_side(const Image& src, int short_side);

}  // namespace vd::data
