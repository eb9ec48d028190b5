// tests/test_cli_detect.cpp: `vididi detect` end to end, in-process, on
// CI-sized data: the synthetic set with boxes (frozen and fine-tuned), the
// tube fixture and the AVA fixture of tests/data/detection/ with generated
// frame folders and detections files; the run directory's files and the
// report's statement of which boxes were scored; the errors (one line).
#include <gtest/gtest.h>

#include "data/image.h"
#include "tests/test_cli_util.h"

using namespace cli_test;

namespace {
const std::vector<std::string> kTinyDetect{"--encoder", "r3d_18", "--width_divisor", "16", "--blocks", "1,1,1,1",
                                           "--frames", "4", "--crop", "16", "--batch", "8", "--workers", "1",
                                           "--device", "cpu", "--pictures", "3"};

void frames(const std::string& root, const std::string& video, int n, int w, int h) {
  std::filesystem::create_directories(root + "/" + video);
  vd::data::Image img(h, w, 3);
  for (int f = 1; f <= n; ++f) {
    for (size_t i = 0; i < img.px.size(); ++i) img.px[i] = uint8_t((i * 13 + size_t(f) * 17) % 241);
    char name[32];
    std::snprintf(name, sizeof name, "/img_%05d.jpg", f);
    vd::data::write_jpeg(root + "/" + video + name, img);
  }
}
}  // namespace

TEST(CliDetect, SyntheticRunDirectory) {
  const std::string dir = fresh_dir("cli_detect_synth");
  Result r = cli(with({"detect", "--synth_size", "16", "--synth_frames", "6", "--synth_train_per_class", "2",
                       "--synth_test_per_class", "1", "--train_keyframe_stride", "2", "--out", dir},
                      kTinyDetect));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("| random |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("frame-mAP@0.5 | video-mAP@0.2 | video-mAP@0.5"), std::string::npos) << r.out;
  for (const char* f : {"/config.txt", "/detection.json", "/report.md", "/frame_ap.png", "/video_ap_0.2.png",
                        "/video_ap_0.5.png", "/keyframes.png"})
    EXPECT_TRUE(exists(dir + f)) << f;
  const std::string report = read(dir + "/report.md");
  EXPECT_NE(report.find("Test boxes: ground-truth boxes; 60 test keyframes"), std::string::npos) << report;
  EXPECT_NE(report.find("| Circle | 6 |"), std::string::npos) << report;
  const std::string js = read(dir + "/detection.json");
  EXPECT_NE(js.find("\"test_boxes\": \"ground-truth boxes\""), std::string::npos);
  EXPECT_NE(js.find("\"keyframes\": 60"), std::string::npos);  // 20 train videos x frames 0, 2, 4
  // Its config.txt reruns it.
  Result again = cli({"detect", "--config", dir + "/config.txt", "--out", ""});
  ASSERT_EQ(again.code, 0) << again.err;
  auto table = [](const std::string& s) { return s.substr(s.find("| encoder")); };
  EXPECT_EQ(table(again.out).substr(0, 200), table(r.out).substr(0, 200));
}

TEST(CliDetect, FineTuningTrainsTheEncoderToo) {
  Result r = cli(with({"detect", "--synth_size", "16", "--synth_frames", "6", "--synth_train_per_class", "1",
                       "--synth_test_per_class", "1", "--train_keyframe_stride", "3", "--test_keyframe_stride", "3",
                       "--finetune", "true", "--epochs", "1", "--head", "mlp", "--hidden", "16"},
                      with(kTinyDetect, {"--batch", "4"})));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("note: finetune trains by minibatches"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("detection: fine-tuning r3d_18, mlp head"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 epochs (max epochs (1) reached"), std::string::npos) << r.out;
}

TEST(CliDetect, TubeFixtureWithDetectionsFromAFile) {
  const std::string root = fresh_dir("cli_detect_tubes");
  for (const char* v : {"Jump/v_jump_1", "Run/v_run_1", "Jump/v_jump_2"}) frames(root, v, 6, 32, 24);
  // Detections on the test video (annotated at 64 x 48): frames 2-4 near the
  // truth, one on frame 6 where there is none, one below the score threshold.
  const std::string det = root + "/detections.csv";
  vd::data::write_file(det, "Jump/v_jump_2,2,0.16,0.12,0.62,0.88,,0.99\nJump/v_jump_2,3,0.19,0.13,0.66,0.87,,0.97\n"
                            "Jump/v_jump_2,4,0.22,0.12,0.69,0.88,,0.95\nJump/v_jump_2,6,0.5,0.5,0.9,0.9,,0.9\n"
                            "Jump/v_jump_2,2,0.0,0.0,0.2,0.2,,0.1\n");
  const std::string dir = root + "/run";
  Result r = cli(with({"detect", "--dataset", "tubes", "--annotations", "tests/data/detection/tubes.txt",
                       "--data_root", root, "--test_boxes", "file", "--boxes_file", det, "--out", dir},
                      kTinyDetect));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("detection set tiny-tubes: 2 classes; train 2 videos, 10 keyframes, 10 boxes; test 1 videos, "
                       "6 keyframes, 3 boxes"), std::string::npos) << r.out;
  const std::string report = read(dir + "/report.md");
  EXPECT_NE(report.find("Test boxes: detections from " + det + " (score >= 0.8); 6 test keyframes, 4 boxes scored, "
                        "1 file boxes dropped"), std::string::npos) << report;
  EXPECT_NE(report.find("inclusive-pixel box areas"), std::string::npos);
  // The run class (no test ground truth) is left out of the mean: n/a.
  EXPECT_NE(report.find("| Run | 0 | n/a |"), std::string::npos) << report;
  // Refusals name the file and line.
  expect_one_line_error(cli(with({"detect", "--dataset", "tubes", "--annotations", "tests/data/detection/tubes.txt",
                                  "--data_root", root, "--test_boxes", "file", "--boxes_file",
                                  "tests/data/detection/ava_val_detections.csv"}, kTinyDetect)),
                        "ava_val_detections.csv:1: unknown video 'vidB'");
}

TEST(CliDetect, AvaFixture) {
  const std::string root = fresh_dir("cli_detect_ava");
  frames(root, "vidA", 8, 16, 12);
  frames(root, "vidB", 8, 16, 12);
  const std::vector<std::string> ava{"detect", "--dataset", "ava", "--data_root", root,
                                     "--ava_label_map", "tests/data/detection/ava_labels.pbtxt",
                                     "--ava_train", "tests/data/detection/ava_train.csv",
                                     "--ava_test", "tests/data/detection/ava_val.csv",
                                     "--ava_test_excluded", "tests/data/detection/ava_val_excluded.csv",
                                     "--ava_fps", "2"};
  Result r = cli(with(with(ava, {"--test_boxes", "file", "--boxes_file", "tests/data/detection/ava_val_detections.csv",
                                 "--out", root + "/run"}), kTinyDetect));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("AVA rows: train 6 (0 at excluded timestamps, 0 of classes outside the label map left out), "
                       "test 5 (1, 0)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("video-mAP"), std::string::npos) << r.out;  // no tubes in AVA
  EXPECT_NE(read(root + "/run/detection.json").find("\"video_map\": []"), std::string::npos);
  EXPECT_NE(r.out.find("3 boxes scored, 1 file boxes dropped"), std::string::npos) << r.out;
  expect_one_line_error(cli(with(ava, {"--ava_fps", "30"})), "ava_train.csv:1: frame out of range");
}

TEST(CliDetect, Errors) {
  expect_one_line_error(cli({"detect", "--test_boxes", "file"}), "needs --boxes_file");
  expect_one_line_error(cli({"detect", "--finetune", "true", "--solver", "lbfgs"}), "--solver minibatch");
  expect_one_line_error(cli({"detect", "--dataset", "tubes", "--data_root", "/tmp"}), "needs --annotations");
  expect_one_line_error(cli({"detect", "--dataset", "ava"}), "needs --data_root");
  expect_one_line_error(cli({"detect", "--head", "deep"}), "'head'");
  expect_one_line_error(cli({"detect", "--roi_size", "0"}), "'roi_size'");
}

// demo --detect adds frame-mAP@0.5 per encoder to the table and results.json.
TEST(CliDetect, DemoWithDetection) {
  const std::string dir = fresh_dir("cli_demo_detect");
  Result r = cli({"demo", "--steps", "2", "--warmup_steps", "1", "--clips", "1", "--seeds", "0", "--out", dir,
                  "--synth_size", "16", "--synth_frames", "8", "--synth_train_per_class", "2",
                  "--synth_test_per_class", "1", "--device", "cpu", "--width_divisor", "16", "--projector_dim", "32",
                  "--frames", "4", "--crop", "16", "--batch", "4", "--workers", "1", "--detect", "true",
                  "--detect_keyframe_stride", "4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("| R@1 95% interval | frame-mAP@0.5 | frame-mAP 95% interval |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[seed 0, vididi] frame-mAP@0.5 "), std::string::npos) << r.out;
  EXPECT_NE(read(dir + "/results.json").find("\"frame_map_0.5_percent\": {\"random\": ["), std::string::npos);
}

// Two objects per video, each its own motion class: twice the boxes.
TEST(CliDetect, TwoObjectsPerVideo) {
  Result r = cli(with({"detect", "--synth_size", "16", "--synth_frames", "6", "--synth_train_per_class", "1",
                       "--synth_test_per_class", "1", "--train_keyframe_stride", "3", "--synth_objects", "2"},
                      kTinyDetect));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("train 10 videos, 20 keyframes, 40 boxes; test 10 videos, 60 keyframes, 120 boxes"),
            std::string::npos) << r.out;
}
