// tests/test_data_splits.cpp: split-file readers on fixtures in the official
// formats (tests/data/), and their errors: every malformed line is reported
// with file:line and what was expected.
#include <gtest/gtest.h>

#include "data/splits.h"
#include "tests/test_data_util.h"

namespace vd::data {
namespace {

using testing::expect_data_error;
using testing::fixture;
using testing::TempDir;
using testing::write_file;

TEST(DataSplits, Ucf101TrainAndTest) {
  const std::string dir = fixture("ucf101_splits");
  SplitList tr = read_ucf101_split(dir, 1, Subset::train);
  ASSERT_EQ(tr.classes, (std::vector<std::string>{"ApplyEyeMakeup", "HandstandPushups", "YoYo"}));
  ASSERT_EQ(tr.videos.size(), 3u);  // CRLF and the blank line are tolerated
  EXPECT_EQ(tr.videos[0].path, "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01");
  EXPECT_EQ(tr.videos[0].label, 0);
  EXPECT_EQ(tr.videos[1].path, "HandstandPushups/v_HandStandPushups_g08_c01");
  EXPECT_EQ(tr.videos[1].label, 1);
  EXPECT_EQ(tr.videos[2].label, 2);
  SplitList te = read_ucf101_split(dir, 1, Subset::test);
  ASSERT_EQ(te.videos.size(), 2u);
  EXPECT_EQ(te.videos[1].path, "YoYo/v_YoYo_g01_c01");
  EXPECT_EQ(te.videos[1].label, 2);  // from the class folder via classInd.txt
}

TEST(DataSplits, Hmdb51PicksSplitAndSubset) {
  const std::string dir = fixture("hmdb51_splits");
  SplitList tr = read_hmdb51_split(dir, 1, Subset::train);
  ASSERT_EQ(tr.classes, (std::vector<std::string>{"brush_hair", "chew"}));
  ASSERT_EQ(tr.videos.size(), 3u);
  EXPECT_EQ(tr.videos[0].path, "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0");
  EXPECT_EQ(tr.videos[0].label, 0);
  EXPECT_EQ(tr.videos[2].path, "chew/chew_test_chew_u_nm_np1_fr_goo_3");  // "_test" in a name is not the suffix
  EXPECT_EQ(tr.videos[2].label, 1);
  SplitList te = read_hmdb51_split(dir, 1, Subset::test);
  ASSERT_EQ(te.videos.size(), 2u);  // tag 0 (unused) is in neither subset
  EXPECT_EQ(te.videos[1].path, "chew/Bubble_Gum_chew_h_nm_np1_fr_goo_0");
  EXPECT_EQ(read_hmdb51_split(dir, 2, Subset::train).classes, std::vector<std::string>{"chew"});
}

TEST(DataSplits, KineticsCsvAndPlainList) {
  SplitList csv = read_video_list(fixture("kinetics/train.csv"));
  ASSERT_EQ(csv.classes, (std::vector<std::string>{"abseiling", "passing American football (in game)"}));
  ASSERT_EQ(csv.videos.size(), 3u);
  EXPECT_EQ(csv.videos[0].path, "abseiling/0347ZoDXyP0_000014_000024");
  EXPECT_EQ(csv.videos[1].path, "passing American football (in game)/-0vnC4TdYUw_000000_000010");
  EXPECT_EQ(csv.videos[1].label, 1);
  SplitList plain = read_video_list(fixture("kinetics/list.txt"), {"abseiling", "yoga", "zumba"});
  ASSERT_EQ(plain.videos.size(), 2u);
  EXPECT_EQ(plain.videos[1].path, "zumba/abc_000001_000011");
  EXPECT_EQ(plain.videos[1].label, 2);  // label order fixed by the given classes
}

TEST(DataSplits, MalformedLinesNameFileAndLine) {
  TempDir tmp;
  const std::string ucf = fixture("ucf101_splits");
  // A train line whose label disagrees with its class folder, on line 2.
  for (const char* f : {"classInd.txt", "testlist01.txt"})
    std::filesystem::copy_file(ucf + "/" + f, tmp / f);
  write_file(tmp / "trainlist01.txt", "YoYo/v_YoYo_g08_c02.avi 3\nYoYo/v_YoYo_g09_c01.avi 1\n");
  expect_data_error([&] { read_ucf101_split(tmp.path(), 1, Subset::train); },
                    {tmp / "trainlist01.txt:2", "expected", "(3)", "YoYo/v_YoYo_g09_c01.avi 1", "Hint"});
  write_file(tmp / "trainlist01.txt", "YoYo/v_YoYo_g08_c02.avi\n");  // label missing
  expect_data_error([&] { read_ucf101_split(tmp.path(), 1, Subset::train); }, {"trainlist01.txt:1"});
  write_file(tmp / "testlist01.txt", "Unknown/v_x.avi\n");  // class not in classInd
  expect_data_error([&] { read_ucf101_split(tmp.path(), 1, Subset::test); },
                    {"testlist01.txt:1", "class from classInd.txt"});
  write_file(tmp / "classInd.txt", "1 A\n3 C\n");
  expect_data_error([&] { read_ucf101_classes(tmp / "classInd.txt"); }, {"classInd.txt:2", "'2 <ClassName>'"});
  expect_data_error([&] { read_ucf101_split(tmp / "missing", 1, Subset::train); },
                    {"missing/classInd.txt", "cannot open"});
  expect_data_error([&] { read_ucf101_split(ucf, 4, Subset::train); }, {"split 1, 2 or 3"});

  write_file(tmp / "h/run_test_split1.txt", "a.avi 1\nb.avi train\n");
  expect_data_error([&] { read_hmdb51_split(tmp / "h", 1, Subset::train); },
                    {"run_test_split1.txt:2", "<0|1|2>"});
  expect_data_error([&] { read_hmdb51_split(tmp / "h", 2, Subset::train); }, {"found none"});

  write_file(tmp / "k.csv", "label,youtube_id,time_start,time_end,split\nyoga,abc,ten,20,train\n");
  expect_data_error([&] { read_video_list(tmp / "k.csv"); }, {"k.csv:2", "integer times"});
  write_file(tmp / "l.txt", "yoga/a\nnofolder\n");
  expect_data_error([&] { read_video_list(tmp / "l.txt"); }, {"l.txt:2", "<class>/<video>"});
  expect_data_error([&] { read_video_list(fixture("kinetics/list.txt"), {"abseiling"}); },
                    {"list.txt:2", "among the 1 given classes"});
}

TEST(DataSplits, StripsOnlyVideoExtensions) {
  EXPECT_EQ(strip_video_extension("a/b.AVI"), "a/b");
  EXPECT_EQ(strip_video_extension("a/b.mp4"), "a/b");
  EXPECT_EQ(strip_video_extension("a/b.v2"), "a/b.v2");
  EXPECT_EQ(strip_video_extension(".avi"), ".avi");
}

}  // namespace
}  // namespace vd::data
