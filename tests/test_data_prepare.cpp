// tests/test_data_prepare.cpp: tools/prepare_frames.py end to end. Synthetic
// videos are encoded with ffmpeg (lossless FFV1), extracted by the tool, and
// read back through the UCF101 split reader and the frame-folder dataset; a
// variable-frame-rate file gives each of its frames once (where ffmpeg's
// default timing for image files would repeat frames); every folder gets its
// manifest; the split files are copied; files that are not videos are listed
// with the reason; a rerun skips finished videos, and the count check fails
// when a listed video has no frames. ffmpeg and python3 are installed by
// scripts/deps.sh, so their absence is a failure, not a skip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "data/frame_folder.h"
#include "data/image.h"
#include "data/synthetic.h"
#include "tests/test_data_util.h"

namespace vd::data {
namespace {

using testing::shell;

TEST(DataPrepare, FfmpegExtractionLoadsThroughTheDataset) {
  std::string out;
  ASSERT_EQ(shell("ffmpeg -version", out), 0) << "ffmpeg not installed: run scripts/deps.sh (as root)";
  ASSERT_EQ(shell("ffprobe -version", out), 0) << "ffprobe not installed: run scripts/deps.sh (as root)";
  ASSERT_EQ(shell("python3 --version", out), 0) << "python3 not installed: run scripts/deps.sh (as root)";
  const std::string tool =
      (std::filesystem::path(testing::fixture("")).parent_path().parent_path().parent_path() /
       "tools/prepare_frames.py").string();
  testing::TempDir tmp;
  SyntheticConfig cfg;
  cfg.height = 48, cfg.width = 64, cfg.frames = 10, cfg.videos_per_class = 1;
  const SyntheticDynamics set(cfg);
  const std::vector<size_t> videos = {1, 2, 9};  // MoveRight, MoveLeft, Circle
  for (size_t v : videos) {
    const Clip clip = set.render(v);
    const std::string src = tmp / ("src/" + std::to_string(v));
    std::filesystem::create_directories(src);
    for (int t = 0; t < clip.T; ++t) {
      Image img(clip.H, clip.W, 3);
      std::copy(clip.frame(t), clip.frame(t) + clip.frame_size(), img.px.begin());
      char name[16];
      std::snprintf(name, sizeof name, "/%03d.png", t);
      write_png(src + name, img);
    }
    const std::string dst = tmp / ("videos/" + set.video_path(v) + ".avi");
    std::filesystem::create_directories(std::filesystem::path(dst).parent_path());
    ASSERT_EQ(shell("ffmpeg -nostdin -loglevel error -framerate 10 -i " + src + "/%03d.png -c:v ffv1 " + dst, out), 0) << out;
  }
  // Variable frame rate, not listed in the split: 12 frames, 20 ticks of 1/25 s after the 6th.
  const std::string vfr = tmp / "videos/Rest/v_Rest_vfr.mkv";
  std::filesystem::create_directories(tmp / "videos/Rest");
  ASSERT_EQ(shell("ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=64x48:rate=25 -frames:v 12 "
                  "-vf \"setpts='N+if(gte(N,6),20,0)'\" -fps_mode passthrough -c:v mpeg4 " + vfr, out), 0) << out;
  testing::write_file(tmp / "videos/Rest/readme.txt", "not a video\n");
  const auto& classes = set.class_names();
  std::string ind;
  for (size_t c = 0; c < classes.size(); ++c) ind += std::to_string(c + 1) + " " + classes[c] + "\n";
  testing::write_file(tmp / "splits/classInd.txt", ind);
  testing::write_file(tmp / "splits/trainlist01.txt",
                      set.video_path(1) + ".avi 2\n" + set.video_path(9) + ".avi 10\n");
  testing::write_file(tmp / "splits/testlist01.txt", set.video_path(2) + ".avi\n");
  const std::string run = "python3 " + tool + " --videos " + tmp / "videos" + " --out " + tmp / "frames" +
                          " --jobs 2 --check ucf101:" + tmp / "splits" + ":1 --splits-out " + tmp / "copied";
  ASSERT_EQ(shell(run, out), 0) << out;
  EXPECT_NE(out.find("extracted 4, skipped 0, failed 0"), std::string::npos) << out;
  EXPECT_NE(out.find("train: 2 of 2"), std::string::npos) << out;
  EXPECT_NE(out.find("every frame once"), std::string::npos) << out;
  EXPECT_NE(out.find("unknown extension: 1 (" + tmp / "videos/Rest/readme.txt"), std::string::npos) << out;
  EXPECT_NE(out.find("copied 3 split files to " + tmp / "copied"), std::string::npos) << out;
  for (const char* f : {"classInd.txt", "trainlist01.txt", "testlist01.txt"})
    EXPECT_TRUE(std::filesystem::exists(tmp / "copied" + "/" + f)) << f;
  {
    SplitList one;
    one.classes = {"Rest"};
    one.videos = {{"Rest/v_Rest_vfr", 0}};
    FrameFolderConfig vc;
    vc.root = tmp / "frames";
    EXPECT_EQ(FrameFolderDataset(one, vc).num_frames(0), 12);  // not the 32 a constant 25 fps would make
    std::string manifest;
    ASSERT_EQ(shell("cat " + tmp / "frames/Rest/v_Rest_vfr/manifest.json", manifest), 0);
    for (const char* piece : {"\"frames\": 12", "\"codec\": \"mpeg4\"", "\"source_fps\"", "\"duration_s\"",
                              "passthrough"})
      EXPECT_NE(manifest.find(piece), std::string::npos) << piece << " in " << manifest;
  }

  FrameFolderConfig fc;
  fc.root = tmp / "frames";
  FrameFolderDataset ds(read_ucf101_split(tmp / "splits", 1, Subset::train), fc);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.label(1), 9);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(ds.num_frames(i), 10);
    const Clip got = ds.load(i, {0, 9});
    EXPECT_EQ(got.H, 128);  // short side 128
    EXPECT_NEAR(got.W, 171, 1);
    const Clip want = set.load(videos[i == 0 ? 0 : 2], {0, 9});
    for (int t = 0; t < 2; ++t) {
      Image ref(want.H, want.W, 3);
      std::copy(want.frame(t), want.frame(t) + want.frame_size(), ref.px.begin());
      ref = resize(ref, got.H, got.W);
      double err = 0;
      for (size_t k = 0; k < ref.px.size(); ++k) err += std::abs(int(ref.px[k]) - int(got.frame(t)[k]));
      EXPECT_LT(err / double(ref.px.size()), 6.0) << ds.name(i) << " frame " << t;
    }
  }
  // Resumable: a rerun skips everything; a removed folder is redone.
  ASSERT_EQ(shell(run, out), 0) << out;
  EXPECT_NE(out.find("extracted 0, skipped 4"), std::string::npos) << out;
  std::filesystem::remove_all(ds.folder(0));
  ASSERT_EQ(shell(run, out), 0) << out;
  EXPECT_NE(out.find("extracted 1, skipped 3"), std::string::npos) << out;
  // A file that is no video fails the run and is named with its reason.
  testing::write_file(tmp / "videos/Rest/v_Rest_broken.avi", "junk\n");
  EXPECT_NE(shell(run, out), 0) << out;
  EXPECT_NE(out.find("no video stream: 1 (" + tmp / "videos/Rest/v_Rest_broken.avi"), std::string::npos) << out;
  std::filesystem::remove(tmp / "videos/Rest/v_Rest_broken.avi");
  // The count check fails for a listed video that has no frames.
  testing::write_file(tmp / "splits/testlist01.txt", set.video_path(2) + ".avi\nRest/v_Rest_missing.avi\n");
  EXPECT_NE(shell(run, out), 0) << out;
  EXPECT_NE(out.find("missing: " + tmp / "frames/Rest/v_Rest_missing"), std::string::npos) << out;
}

}  // namespace
}  // namespace vd::data
