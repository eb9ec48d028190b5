// tests/test_cli_video.cpp: the commands on encoded videos. A synthetic set
// exported as frame folders is encoded to .avi (mpeg4) with ffmpeg; pretrain
// trains straight from the .avi files (video_format = video) and retrieve
// evaluates them; video_format = auto finds either layout; the frame-folder
// and video runs see the same frames up to the codec's error. ffmpeg is
// installed by scripts/deps.sh (make's dependency step).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/test_cli_util.h"

using namespace cli_test;

namespace {
// 10 classes x (2 train + 1 test) videos of 12 frames, 32x32, as frame
// folders and as .avi files with the same split files.
std::pair<std::string, std::string> frames_and_videos() {
  static const std::string frames = ::testing::TempDir() + "cli_video_frames";
  static const std::string videos = ::testing::TempDir() + "cli_video_avi";
  static bool done = false;
  if (!done) {
    std::system(("rm -rf " + frames + " " + videos).c_str());
    Result r = cli({"synth", "--out", frames, "--size", "32", "--frames", "12", "--train_per_class", "2",
                    "--test_per_class", "1"});
    EXPECT_EQ(r.code, 0) << r.err;
    const std::string cmd = "mkdir -p " + videos + " && cp " + frames + "/*.txt " + videos +
                            " && for d in " + frames + "/*/*/; do c=$(basename $(dirname $d)); v=$(basename $d); "
                            "mkdir -p " + videos + "/$c && ffmpeg -loglevel error -framerate 25 -i $d/img_%05d.jpg "
                            "-c:v mpeg4 -q:v 2 " + videos + "/$c/$v.avi || exit 1; done";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    done = true;
  }
  return {frames, videos};
}

const std::vector<std::string> kTiny{"--dataset", "ucf101", "--device", "cpu", "--width_divisor", "16",
                                     "--blocks", "1,1,1,1", "--frames", "6", "--crop", "32", "--workers", "1"};
}  // namespace

TEST(CliVideo, PretrainAndRetrieveStraightFromAviFiles) {
  const auto [frames, videos] = frames_and_videos();
  const std::string run = fresh_dir("cli_video_run");
  Result p = cli(with(with({"pretrain", "--data_root", videos, "--video_format", "video", "--steps", "3", "--batch",
                            "4", "--projector_dim", "32", "--warmup_steps", "1", "--out", run},
                           kTiny),
                      {}));
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("finished after step 3 of 3"), std::string::npos) << p.out;
  EXPECT_TRUE(exists(videos + "/.vididi_index")) << "the frame index is cached next to the videos";
  Result r = cli({"retrieve", "--dataset", "ucf101", "--data_root", videos, "--checkpoint", run, "--clips", "2",
                  "--ks", "1", "--device", "cpu", "--workers", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("(10 test queries, 20 train videos in the gallery)"), std::string::npos) << r.out;
  // auto finds frame folders and video files alike; asking for the wrong one is refused naming it.
  for (const std::string& root : {frames, videos}) {
    Result a = cli({"retrieve", "--dataset", "ucf101", "--data_root", root, "--clips", "1", "--ks", "1", "--device",
                    "cpu", "--width_divisor", "16", "--blocks", "1,1,1,1", "--frames", "6", "--crop", "32"});
    EXPECT_EQ(a.code, 0) << root << ": " << a.err;
  }
  Result wrong = cli({"retrieve", "--dataset", "ucf101", "--data_root", frames, "--video_format", "video",
                      "--device", "cpu", "--width_divisor", "16"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find(frames), std::string::npos) << wrong.err;
  expect_one_line_error(cli({"pretrain", "--video_format", "mp4"}), "expected one of frames, video, auto");
  expect_one_line_error(cli({"pretrain", "--short_video", "wrap"}), "expected one of pad, loop, skip, stop");
}

// verify counts the splits, finds the videos whose frames repeat (the Rest
// class does not move: every frame repeats the one before) and those shorter
// than a clip, and its quarantine list leaves them out of the other commands.
TEST(CliVideo, VerifyFindsRepeatedFramesAndShortVideosAndQuarantinesThem) {
  const auto [frames, videos] = frames_and_videos();
  const std::string dir = fresh_dir("cli_verify");
  Result v = cli({"verify", "--data_root", videos, "--frames", "6", "--out", dir});
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("train: 20 listed (official: 9537), 20 readable, 0 shorter than 8 frames, 2 with more than 50% "
                       "repeated frames"),
            std::string::npos)
      << v.out;
  EXPECT_NE(v.out.find("warning: the train split lists 20 videos, the official split 9537"), std::string::npos);
  const std::string q = dir + "/quarantine.txt";
  std::ifstream in(q);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Rest/v_Rest_train_0000  # 11 of 12 frames repeat the one before"), std::string::npos) << text;
  EXPECT_NE(text.find("Rest/v_Rest_test_0000"), std::string::npos) << text;
  Result r = cli({"retrieve", "--dataset", "ucf101", "--data_root", frames, "--quarantine", q, "--clips", "1", "--ks",
                  "1", "--device", "cpu", "--width_divisor", "16", "--blocks", "1,1,1,1", "--frames", "6", "--crop",
                  "32"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("(9 test queries, 18 train videos in the gallery)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train: left out 2 of 20 videos listed in " + q), std::string::npos) << r.out;
  // Clips of 12 + 2 frames: every 12-frame video is short.
  Result s = cli({"verify", "--data_root", frames, "--frames", "12"});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("test: 10 listed (official: 3783), 10 readable, 10 shorter than 14 frames"), std::string::npos)
      << s.out;
  expect_one_line_error(cli({"retrieve", "--dataset", "ucf101", "--data_root", frames, "--quarantine", dir}),
                        "does not exist or is a folder");
  expect_one_line_error(cli({"verify", "--dataset", "synthetic"}), "verify reads a dataset on disk");
}
