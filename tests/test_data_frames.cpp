// tests/test_data_frames.cpp: the frame-folder dataset. The synthetic set is
// exported as JPEG folders with UCF101-style split files and read back
// through the split reader and the dataset (frames must match the in-memory
// render); the errors for a missing folder, an empty video, gaps in the
// numbering and corrupt frames (stop or skip) name the path.
#include <gtest/gtest.h>

#include <cmath>

#include "data/frame_folder.h"
#include "data/image.h"
#include "data/synthetic.h"
#include "tests/test_data_util.h"

namespace vd::data {
namespace {

using testing::expect_data_error;
using testing::TempDir;

double mean_abs_diff(const uint8_t* a, const uint8_t* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::abs(int(a[i]) - int(b[i]));
  return s / double(n);
}

TEST(DataFrames, ExportedSyntheticSetLoadsThroughTheJpegPath) {
  TempDir tmp;
  SyntheticConfig tr;
  tr.height = 32, tr.width = 40, tr.frames = 6, tr.videos_per_class = 2;
  SyntheticConfig te = tr;
  te.subset = Subset::test;
  te.videos_per_class = 1;
  EXPECT_EQ(export_synthetic(tr, te, tmp.path()), size_t(30 * 6));
  const SyntheticDynamics memory(tr);
  FrameFolderConfig fc;
  fc.root = tmp.path();
  FrameFolderDataset disk(read_ucf101_split(tmp.path(), 1, Subset::train), fc);
  ASSERT_EQ(disk.size(), memory.size());
  EXPECT_EQ(disk.class_names(), memory.class_names());
  EXPECT_EQ(disk.total_frames(), memory.size() * 6);
  for (size_t v = 0; v < disk.size(); v += 3) {
    EXPECT_EQ(disk.label(v), memory.label(v));
    EXPECT_EQ(disk.folder(v), tmp.path() + "/" + memory.video_path(v));
    const Clip a = disk.load(v, {0, 5}), b = memory.load(v, {0, 5});
    ASSERT_EQ(a.H, 32);
    ASSERT_EQ(a.W, 40);
    EXPECT_LT(mean_abs_diff(a.px.data(), b.px.data(), a.px.size()), 3.0) << disk.name(v);
  }
  EXPECT_EQ(FrameFolderDataset(read_ucf101_split(tmp.path(), 1, Subset::test), fc).size(), 10u);
  fc.short_side = 16;  // resized on load
  const Clip small = FrameFolderDataset(read_ucf101_split(tmp.path(), 1, Subset::test), fc).load(0, {1});
  EXPECT_EQ(small.H, 16);
  EXPECT_EQ(small.W, 20);
}

class DataFrameErrors : public ::testing::Test {
 protected:
  // One video "run/v1" whose folder holds the given frame numbers.
  FrameFolderDataset make(const std::vector<int>& numbers, OnCorrupt policy = OnCorrupt::stop) {
    for (int n : numbers) {
      Image img(8, 8, 3);
      std::fill(img.px.begin(), img.px.end(), uint8_t(20 * n));
      char name[32];
      std::snprintf(name, sizeof name, "/img_%05d.jpg", n);
      std::filesystem::create_directories(tmp_ / "run/v1");
      write_jpeg(tmp_ / "run/v1" + name, img);
    }
    FrameFolderConfig fc;
    fc.root = tmp_.path();
    fc.on_corrupt = policy;
    return FrameFolderDataset(split_, fc);
  }
  void corrupt(int n) {
    char name[32];
    std::snprintf(name, sizeof name, "/img_%05d.jpg", n);
    testing::write_file(tmp_ / "run/v1" + name, "not a jpeg");
  }
  TempDir tmp_;
  SplitList split_{{"run"}, {{"run/v1", 0}}};
};

TEST_F(DataFrameErrors, MissingFolderEmptyVideoAndGaps) {
  expect_data_error([&] { make({}); }, {tmp_ / "run/v1", "found no folder", "prepare_frames"});
  std::filesystem::create_directories(tmp_ / "run/v1");
  testing::write_file(tmp_ / "run/v1/notes.txt", "x");
  expect_data_error([&] { make({}); }, {tmp_ / "run/v1", "empty video", "img_%05d.jpg"});
  expect_data_error([&] { make({1, 3}); }, {tmp_ / "run/v1", "numbered 1..2", "up to 3"});
}

TEST_F(DataFrameErrors, CorruptFrameStopsNamingTheFrame) {
  FrameFolderDataset ds = make({1, 2, 3});
  corrupt(2);
  EXPECT_EQ(ds.load(0, {0, 2}).T, 2);
  expect_data_error([&] { ds.load(0, {0, 1}); }, {tmp_ / "run/v1/img_00002.jpg", "cannot decode"});
}

TEST_F(DataFrameErrors, CorruptFrameSkippedIsCountedAndReplacedByItsNeighbour) {
  FrameFolderDataset ds = make({1, 2, 3, 4}, OnCorrupt::skip);
  corrupt(2);
  corrupt(3);
  const Clip c = ds.load(0, {0, 1, 2, 3});
  EXPECT_EQ(ds.corrupt_frames(), 2u);
  // Frame 2 (index 1): frame 3 is corrupt too, frame 1 is next in line.
  EXPECT_LT(mean_abs_diff(c.frame(1), c.frame(0), c.frame_size()), 1.0);
  EXPECT_LT(mean_abs_diff(c.frame(2), c.frame(3), c.frame_size()), 1.0);  // frame 3 -> frame 4
  for (int n : {1, 4}) corrupt(n);
  expect_data_error([&] { ds.load(0, {0}); }, {tmp_ / "run/v1", "none of its 4 frames"});
}

}  // namespace
}  // namespace vd::data
