// tests/test_cli_features.cpp: dense features along time (`vididi
// features`, vididi/eval/dense_features.h, vididi/npy.h): the clip starts,
// the .npy header's layout, and a run whose files numpy reads (python3) as
// float32 [n, D] with the values written.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/test_cli_util.h"
#include "tests/test_data_util.h"
#include "vididi/eval/dense_features.h"
#include "vididi/npy.h"

using namespace cli_test;

TEST(DenseFeatures, ClipStartsEverySFrames) {
  vd::eval::DenseOptions o;
  o.frames = 4, o.stride = 2, o.feature_stride = 3;  // span 7
  EXPECT_EQ(vd::eval::dense_clip_starts(16, o), (std::vector<int>{0, 3, 6, 9}));
  EXPECT_EQ(vd::eval::dense_clip_starts(7, o), std::vector<int>{0});
  EXPECT_EQ(vd::eval::dense_clip_starts(3, o), std::vector<int>{0});  // short: one padded clip
}

TEST(DenseFeatures, NpyHeaderIsNumpys) {
  const std::string b = vd::vididi::npy_bytes({1.5f, -2, 3, 4, 5, 6}, 2, 3);
  ASSERT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t len = size_t(uint8_t(b[8])) | size_t(uint8_t(b[9])) << 8;
  EXPECT_EQ((10 + len) % 64, 0u);
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(b.substr(10, len), dict + std::string(len - dict.size() - 1, ' ') + "\n");
  float first;
  std::memcpy(&first, b.data() + 10 + len, 4);
  EXPECT_EQ(first, 1.5f);
  EXPECT_EQ(b.size(), 10 + len + 24);
}

TEST(DenseFeatures, CommandWritesWhatNumpyReads) {
  const std::string dir = fresh_dir("cli_features");
  Result r = cli({"features", "--synth_size", "16", "--synth_frames", "10", "--synth_train_per_class", "1",
                  "--synth_test_per_class", "1", "--subset", "test", "--frames", "4", "--crop", "16",
                  "--feature_stride", "3", "--width_divisor", "16", "--blocks", "1,1,1,1", "--device", "cpu",
                  "--out", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("10 videos, 30 feature rows of dimension 32"), std::string::npos) << r.out;
  const std::string npy = dir + "/v_Circle_test_0000.npy";
  ASSERT_TRUE(exists(npy));
  EXPECT_NE(read(dir + "/features.json").find("\"file\": \"v_Circle_test_0000.npy\""), std::string::npos);
  // numpy's view of the file, and the sum of the data written after the header.
  std::string out;
  ASSERT_EQ(vd::data::testing::shell("python3 -c \"import numpy as np; a = np.load('" + npy +
                                     "'); print(a.shape, a.dtype, '%.6f' % a.astype(np.float64).sum())\"", out),
            0) << out;
  const std::string bytes = read(npy);
  const size_t len = size_t(uint8_t(bytes[8])) | size_t(uint8_t(bytes[9])) << 8;
  double sum = 0;
  for (size_t at = 10 + len; at + 4 <= bytes.size(); at += 4) {
    float v;
    std::memcpy(&v, bytes.data() + at, 4);
    sum += v;
  }
  char want[64];
  std::snprintf(want, sizeof want, "(3, 32) float32 %.6f", sum);
  EXPECT_EQ(out, std::string(want) + "\n");
  expect_one_line_error(cli({"features", "--synth_size", "16"}), "needs --out");
  expect_one_line_error(cli({"features", "--feature_stride", "0", "--out", dir}), "'feature_stride'");
}
