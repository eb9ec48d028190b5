// tests/test_data_image.cpp: decoding, encoding and resampling against
// independent references (block means, a direct bilinear formula, the
// integral of a piecewise-constant signal), and the error for a corrupt file.
#include <gtest/gtest.h>

#include <cmath>

#include "data/image.h"
#include "data/rng.h"
#include "tests/test_data_util.h"

namespace vd::data {
namespace {

Image random_image(int H, int W, int C, uint64_t seed) {
  Rng rng(seed, 0, 0, 0);
  Image img(H, W, C);
  for (uint8_t& p : img.px) p = uint8_t(rng.integer(0, 255));
  return img;
}

TEST(DataImage, HalvingIsTheMeanOfEachTwoByTwoBlock) {
  const Image src = random_image(8, 12, 3, 1);
  const Image out = resize(src, 4, 6);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x)
      for (int c = 0; c < 3; ++c) {
        const double mean = (src.at(2 * y, 2 * x)[c] + src.at(2 * y, 2 * x + 1)[c] +
                             src.at(2 * y + 1, 2 * x)[c] + src.at(2 * y + 1, 2 * x + 1)[c]) / 4.0;
        EXPECT_EQ(out.at(y, x)[c], uint8_t(std::lround(mean))) << y << "," << x;
      }
}

TEST(DataImage, NonIntegerShrinkAveragesByOverlap) {
  // One row of 5 pixels to 2: output pixel 0 covers [0, 2.5), pixel 1 [2.5, 5).
  Image src(1, 5, 1);
  src.px = {10, 20, 30, 40, 50};
  AxisResampler ry = make_resampler(0, 1, 1, 1), rx = make_resampler(0, 5, 5, 2);
  float out[2];
  resample(src.px.data(), 1, 5, 1, ry, rx, out);
  EXPECT_NEAR(out[0], (10 + 20 + 0.5 * 30) / 2.5, 1e-4);
  EXPECT_NEAR(out[1], (0.5 * 30 + 40 + 50) / 2.5, 1e-4);
}

TEST(DataImage, EnlargingIsBilinearWithHalfPixelCentres) {
  const Image src = random_image(5, 7, 2, 2);
  const int H = 13, W = 11;
  AxisResampler ry = make_resampler(0, src.H, src.H, H), rx = make_resampler(0, src.W, src.W, W);
  std::vector<float> out(size_t(H) * W * 2);
  resample(src.px.data(), src.H, src.W, 2, ry, rx, out.data());
  auto px = [&](int y, int x, int c) {
    y = std::min(std::max(y, 0), src.H - 1), x = std::min(std::max(x, 0), src.W - 1);
    return double(src.at(y, x)[c]);
  };
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 2; ++c) {
        const double sy = (y + 0.5) * src.H / H - 0.5, sx = (x + 0.5) * src.W / W - 0.5;
        const int y0 = int(std::floor(sy)), x0 = int(std::floor(sx));
        const double fy = sy - y0, fx = sx - x0;
        const double want = (1 - fy) * ((1 - fx) * px(y0, x0, c) + fx * px(y0, x0 + 1, c)) +
                            fy * ((1 - fx) * px(y0 + 1, x0, c) + fx * px(y0 + 1, x0 + 1, c));
        EXPECT_NEAR(out[(size_t(y) * W + x) * 2 + c], want, 1e-3);
      }
}

TEST(DataImage, CropWindowAndFlip) {
  const Image src = random_image(6, 9, 3, 3);
  // A same-size window is an exact copy; reversed, an exact mirror.
  AxisResampler ry = make_resampler(1, 4, 6, 4), rx = make_resampler(2, 5, 9, 5, true);
  std::vector<float> out(4 * 5 * 3);
  resample(src.px.data(), 6, 9, 3, ry, rx, out.data());
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(out[(y * 5 + x) * 3 + c], src.at(1 + y, 2 + 4 - x)[c]);
}

TEST(DataImage, ShortSideResizeKeepsAspect) {
  const Image src = random_image(240, 320, 3, 4);
  const Image out = resize_short_side(src, 128);
  EXPECT_EQ(out.H, 128);
  EXPECT_EQ(out.W, 171);
  EXPECT_EQ(resize_short_side(random_image(320, 240, 3, 5), 128).W, 128);
}

TEST(DataImage, PngRoundTripIsExactJpegIsClose) {
  testing::TempDir tmp;
  Image img(24, 32, 3);  // smooth content, as video frames are
  for (int y = 0; y < 24; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) img.at(y, x)[c] = uint8_t(4 * x + 3 * y + 40 * c);
  write_png(tmp / "a.png", img);
  EXPECT_EQ(decode_image_file(tmp / "a.png").px, img.px);
  write_jpeg(tmp / "a.jpg", img, 95);
  const Image back = decode_image_file(tmp / "a.jpg");
  ASSERT_EQ(back.H, 24);
  ASSERT_EQ(back.W, 32);
  double err = 0;
  for (size_t i = 0; i < img.px.size(); ++i) err += std::abs(int(back.px[i]) - int(img.px[i]));
  EXPECT_LT(err / double(img.px.size()), 3.0);
}

TEST(DataImage, CorruptOrMissingFileNamesThePath) {
  testing::TempDir tmp;
  testing::write_file(tmp / "bad.jpg", std::string("\xFF\xD8\xFF\xE0 truncated", 14));
  testing::expect_data_error([&] { decode_image_file(tmp / "bad.jpg"); },
                             {tmp / "bad.jpg", "cannot decode", "Hint", "on_corrupt"});
  testing::expect_data_error([&] { decode_image_file(tmp / "none.jpg"); }, {tmp / "none.jpg", "cannot open"});
}

}  // namespace
}  // namespace vd::data
