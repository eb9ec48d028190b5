// tests/test_data_picture.cpp: the d1/d2 picture's layout and grey levels,
// checked pixel by pixel against the difference formulas.
#include <gtest/gtest.h>

#include <cmath>

#include "data/derivative_picture.h"
#include "tests/test_data_util.h"

namespace vd::data {
namespace {

TEST(DataPicture, TilesHoldFramesAndTheirDifferences) {
  // Frame t is a flat grey t*t*10 + 20, so d1[t] = 10 (2t + 1) and d2 = 20.
  Clip clip(5, 3, 4, 3);
  for (int t = 0; t < 5; ++t)
    std::fill(clip.frame(t), clip.frame(t) + clip.frame_size(), uint8_t(t * t * 10 + 20));
  DerivativePictureOptions o;
  o.max_frames = 4;
  o.gap = 1;
  o.gain = 1;
  const Image img = derivative_picture(clip, o);
  ASSERT_EQ(img.H, 3 * 3 + 2);
  ASSERT_EQ(img.W, 4 * 4 + 3);
  auto tile = [&](int row, int col) { return int(img.at(row * 4 + 1, col * 5 + 2)[1]); };
  for (int t = 0; t < 4; ++t) EXPECT_EQ(tile(0, t), t * t * 10 + 20);
  for (int t = 0; t < 3; ++t) EXPECT_EQ(tile(1, t), int(std::lround(128 + 10.0 * (2 * t + 1) / 2)));
  for (int t = 0; t < 2; ++t) EXPECT_EQ(tile(2, t), 128 + 20 / 4);
  EXPECT_EQ(tile(1, 3), 255);  // no d1 under the last frame: background
  EXPECT_EQ(int(img.at(3, 0)[0]), 255);  // the gap row
  testing::TempDir tmp;
  write_derivative_png(clip, tmp / "p.png", o);
  EXPECT_EQ(decode_image_file(tmp / "p.png").px, img.px);
  testing::expect_data_error([&] { derivative_picture(Clip(2, 3, 4, 3)); }, {"at least 3 frames"});
}

}  // namespace
}  // namespace vd::data
