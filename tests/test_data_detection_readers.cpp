// tests/test_data_detection_readers.cpp: the detection annotation readers on
// the fixtures of tests/data/detection/ (a tube file, AVA label map, boxes,
// excluded timestamps, detections) with generated frame folders, one test
// per refusal (file:line and the words of the problem), and
// tools/convert_act_pickle.py on a tiny ACT-format pickle that python3 (and
// numpy) write here.
#include <gtest/gtest.h>

#include "data/ava.h"
#include "data/image.h"
#include "data/tube_file.h"
#include "tests/test_data_util.h"

using namespace vd::data;
using namespace vd::data::testing;

namespace {
// `frames` JPEGs of w x h under root/video/.
void frame_folder(const std::string& root, const std::string& video, int frames, int w, int h) {
  std::filesystem::create_directories(root + "/" + video);
  Image img(h, w, 3);
  for (int f = 1; f <= frames; ++f) {
    for (size_t i = 0; i < img.px.size(); ++i) img.px[i] = uint8_t((i * 7 + size_t(f) * 31) % 251);
    char name[32];
    std::snprintf(name, sizeof name, "/img_%05d.jpg", f);
    write_jpeg(root + "/" + video + name, img);
  }
}

std::string tube_text() {
  std::ifstream f(fixture("detection/tubes.txt"));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The fixture with `from` replaced by `to` (which must be there).
std::string with(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}
}  // namespace

TEST(TubeFile, ReadsTheFixtureWithItsFrames) {
  TempDir root;
  for (const char* v : {"Jump/v_jump_1", "Run/v_run_1", "Jump/v_jump_2"}) frame_folder(root.path(), v, 6, 32, 24);
  const TubeFile f = read_tube_file(fixture("detection/tubes.txt"));
  EXPECT_EQ(f.dataset, "tiny-tubes");
  EXPECT_EQ(f.classes, (std::vector<std::string>{"Jump", "Run"}));
  ASSERT_EQ(f.tubes.size(), 3u);
  EXPECT_EQ(f.tubes[1].first_frame, 0);
  EXPECT_EQ(f.tubes[2].first_frame, 1);  // file frame 2 = 0-based 1
  EXPECT_EQ(f.tubes[2].boxes[0], (Box{10, 6, 40, 42}));
  FrameFolderConfig fc;
  fc.root = root.path();
  const DetectionSet d = tube_detection_set(f, "tubes.txt", 1, fc, 2, 1);
  EXPECT_TRUE(d.has_tubes && d.inclusive_pixels && !d.multi_label);
  EXPECT_EQ(d.train.size(), 2u);
  EXPECT_EQ(d.test.size(), 1u);
  EXPECT_EQ(d.test.width[0], 64);
  // Train keyframes: frames 0, 2 (jump: frames 0..3) and 0, 2, 4 (run) -> 5.
  EXPECT_EQ(d.train.keyframes.size(), 5u);
  // Test keyframes: every frame of the test video, boxes on 1..3 only.
  ASSERT_EQ(d.test.keyframes.size(), 6u);
  EXPECT_TRUE(d.test.keyframes[0].boxes.empty());
  EXPECT_EQ(d.test.keyframes[1].labels[0], std::vector<int>{0});
  EXPECT_THROW(tube_detection_set(f, "tubes.txt", 2, fc, 1, 1), DataError);  // no split 2
  // A tube past its folder's frames.
  TempDir short_root;
  for (const char* v : {"Jump/v_jump_1", "Run/v_run_1", "Jump/v_jump_2"}) frame_folder(short_root.path(), v, 5, 32, 24);
  fc.root = short_root.path();
  expect_data_error([&] { tube_detection_set(f, "tubes.txt", 1, fc, 1, 1); },
                    {"tubes.txt:18", "frame out of range", "holds 5 frames"});
}

TEST(TubeFile, RefusesABadHeader) {
  expect_data_error([] { parse_tube_file("vididi-tubes 2\n", "t.txt"); }, {"t.txt:1", "vididi-tubes 1"});
  expect_data_error([] { parse_tube_file("# only a comment\n", "t.txt"); }, {"t.txt", "empty file"});
}

TEST(TubeFile, RefusesAnUnknownRecord) {
  expect_data_error([] { parse_tube_file(with(tube_text(), "dataset tiny", "datasets tiny"), "t.txt"); },
                    {"t.txt:4", "unknown record 'datasets'"});
}

TEST(TubeFile, RefusesAnUnknownVideo) {
  expect_data_error([] { parse_tube_file(with(tube_text(), "split 1 test Jump/v_jump_2", "split 1 test Jump/v_jump_9"), "t.txt"); },
                    {"t.txt:12", "unknown video 'Jump/v_jump_9'"});
}

TEST(TubeFile, RefusesAnUnknownClass) {
  expect_data_error([] { parse_tube_file(with(tube_text(), "tube Run/v_run_1 1 6", "tube Run/v_run_1 2 6"), "t.txt"); },
                    {"t.txt:18", "unknown class 2"});
}

TEST(TubeFile, RefusesAFrameOutOfRange) {
  expect_data_error([] { parse_tube_file(with(tube_text(), "tube Jump/v_jump_2 0 3\n2 ", "tube Jump/v_jump_2 0 3\n0 "), "t.txt"); },
                    {"t.txt:26", "frame out of range: 0", "1-based"});
  expect_data_error([] { parse_tube_file(with(tube_text(), "video Run/v_run_1 6 64 48", "video Run/v_run_1 5 64 48"), "t.txt"); },
                    {"t.txt:24", "frame out of range: 6 (video 'Run/v_run_1' has frames 1..5)"});
}

TEST(TubeFile, RefusesFramesOutOfOrder) {
  expect_data_error([] { parse_tube_file(with(tube_text(), "3 8 4 34 40", "4 8 4 34 40"), "t.txt"); },
                    {"t.txt:16", "expected frame 3", "consecutive"});
}

TEST(TubeFile, RefusesABoxOutsideTheFrame) {
  expect_data_error([] { parse_tube_file(with(tube_text(), "1 30 8 60 44", "1 30 8 65 44"), "t.txt"); },
                    {"t.txt:19", "outside the 64 x 48 frame", "--clamp"});
}

TEST(TubeFile, RefusesAnInvertedBox) {
  expect_data_error([] { parse_tube_file(with(tube_text(), "1 30 8 60 44", "1 30 8 20 44"), "t.txt"); },
                    {"t.txt:19", "x2 < x1"});
}

TEST(TubeFile, RefusesMalformedFields) {
  expect_data_error([] { parse_tube_file(with(tube_text(), "1 30 8 60 44", "1 30 8 sixty 44"), "t.txt"); },
                    {"t.txt:19", "finite decimal number for x2, got 'sixty'"});
  expect_data_error([] { parse_tube_file(with(tube_text(), "video Jump/v_jump_2 6 64 48", "video Jump/v_jump_2 6 64"), "t.txt"); },
                    {"t.txt:9", "5 fields"});
  expect_data_error([] { parse_tube_file(with(tube_text(), "video Jump/v_jump_2", "video Jump/v_jump_1"), "t.txt"); },
                    {"t.txt:9", "declared twice"});
  expect_data_error([] { parse_tube_file(with(tube_text(), "class 1 Run", "class 3 Run"), "t.txt"); },
                    {"t.txt:6", "expected class index 1"});
  expect_data_error([] { parse_tube_file(tube_text().substr(0, tube_text().rfind("4 14 6 44 42")), "t.txt"); },
                    {"the file ends inside a tube"});
}

namespace {
struct AvaFixture {
  TempDir root;
  AvaOptions o;
  AvaFixture() {
    frame_folder(root.path(), "vidA", 8, 16, 12);
    frame_folder(root.path(), "vidB", 8, 16, 12);
    o.frames_root = root.path();
    o.time = DetectionTime{true, 2, 900};  // frame = (t - 900) * 2: 901 -> 2, 902 -> 4, 903 -> 6
  }
  std::string csv(const std::string& name, const std::string& text) {
    vd::data::testing::write_file(root / name, text);
    return root / name;
  }
};
}  // namespace

TEST(Ava, ReadsTheFixture) {
  AvaFixture a;
  AvaSplitStats tr, te;
  const DetectionSet d = ava_detection_set(fixture("detection/ava_labels.pbtxt"), fixture("detection/ava_train.csv"), "",
                                           fixture("detection/ava_val.csv"), fixture("detection/ava_val_excluded.csv"),
                                           a.o, &tr, &te);
  EXPECT_TRUE(d.multi_label && !d.has_tubes);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"bend/bow (at the waist)", "stand", "talk to (e.g., self, a person, a group)"}));
  EXPECT_EQ(tr.rows, 6);
  EXPECT_EQ(te.excluded, 1);
  ASSERT_EQ(d.train.keyframes.size(), 2u);
  const KeyframeBoxes& k = d.train.keyframes[0];
  EXPECT_EQ(k.frame, 2);
  ASSERT_EQ(k.boxes.size(), 2u);  // rows with one box merge their actions
  EXPECT_EQ(k.labels[0], (std::vector<int>{0, 2}));
  EXPECT_EQ(k.labels[1], (std::vector<int>{1}));
  EXPECT_EQ(d.test.keyframes.size(), 2u);  // 903 is excluded
  EXPECT_DOUBLE_EQ(d.test.width[0], 1.0);
  // The released person detections against the test split.
  const std::vector<DetectedBox> det = read_detections_csv(fixture("detection/ava_val_detections.csv"), d.test, a.o.time);
  ASSERT_EQ(det.size(), 4u);
  EXPECT_EQ(det[0].frame, 2);
  EXPECT_DOUBLE_EQ(det[1].score, 0.91);
  EXPECT_DOUBLE_EQ(det[1].box.x1, 0.6);
}

TEST(Ava, RefusesBadLabelMaps) {
  expect_data_error([] { parse_ava_label_map("item {\n  name: \"a\"\n}\n", "m.pbtxt"); }, {"m.pbtxt:1", "no id"});
  expect_data_error([] { parse_ava_label_map("item {\n name: \"a\"\n id: 1\n}\nitem {\n name: \"b\"\n id: 1\n}\n", "m.pbtxt"); },
                    {"m.pbtxt:5", "appears twice"});
  expect_data_error([] { parse_ava_label_map("item {\n name: \"a\"\n id: one\n}\n", "m.pbtxt"); }, {"m.pbtxt:3", "integer"});
  expect_data_error([] { parse_ava_label_map("item {\n name: \"a\"\n id: 1\n", "m.pbtxt"); }, {"never closed"});
}

TEST(Ava, RefusesBadRows) {
  AvaFixture a;
  const std::vector<AvaLabel> labels = read_ava_label_map(fixture("detection/ava_labels.pbtxt"));
  auto row = [&](const std::string& line, const std::vector<std::string>& pieces) {
    const std::string p = a.csv("rows.csv", "vidA,0901,0.1,0.1,0.4,0.9,1,0\n" + line + "\n");
    expect_data_error([&] { read_ava_split(p, "", labels, a.o); }, pieces);
  };
  row("vidA,0901,0.1,0.1,0.4,0.9,1", {"rows.csv:2", "expected 8 fields"});
  row("vidA,0901,0.1,0.1,0.4,0.9,5,0", {"rows.csv:2", "unknown class: action id 5", "ava_unknown_class skip"});
  row("vidA,0901,0.1,0.1,1.4,0.9,1,0", {"rows.csv:2", "outside the 1 x 1 frame"});
  row("vidA,0901,0.5,0.1,0.4,0.9,1,0", {"rows.csv:2", "x2 < x1"});
  row("vidA,0905,0.1,0.1,0.4,0.9,1,0", {"rows.csv:2", "frame out of range: timestamp 0905 is frame 10", "holds 8 frames"});
  row("vidC,0901,0.1,0.1,0.4,0.9,1,0", {"rows.csv:2", "unknown video 'vidC'", "no frame folder"});
  row("vidA,09x1,0.1,0.1,0.4,0.9,1,0", {"rows.csv:2", "the timestamp"});
  // Skipping unknown classes instead (the 60-class map), counted.
  a.o.skip_unknown_classes = true;
  AvaSplitStats st;
  read_ava_split(a.csv("rows.csv", "vidA,0901,0.1,0.1,0.4,0.9,1,0\nvidA,0901,0.1,0.1,0.4,0.9,5,0\n"), "", labels, a.o, &st);
  EXPECT_EQ(st.unknown_class, 1);
}

TEST(Ava, DetectionsFileRefusals) {
  AvaFixture a;
  const std::vector<AvaLabel> labels = read_ava_label_map(fixture("detection/ava_labels.pbtxt"));
  const DetectionSplit s = read_ava_split(fixture("detection/ava_val.csv"), "", labels, a.o);
  auto bad = [&](const std::string& line, const std::vector<std::string>& pieces) {
    expect_data_error([&] { parse_detections_csv(line + "\n", "d.csv", s, a.o.time); }, pieces);
  };
  bad("vidZ,0901,0.1,0.1,0.4,0.9,,0.9", {"d.csv:1", "unknown video 'vidZ'"});
  bad("vidB,0990,0.1,0.1,0.4,0.9,,0.9", {"d.csv:1", "frame out of range"});
  bad("vidB,0901,-0.1,0.1,0.4,0.9,,0.9", {"d.csv:1", "outside the 1 x 1 frame", "normalised"});
  bad("vidB,0901,0.1,0.5,0.4,0.3,,0.9", {"d.csv:1", "y2 < y1"});
  bad("vidB,0901,0.1,0.1,0.4,0.9,,nan", {"d.csv:1", "the score"});
  bad("vidB,0901,0.1,0.1,0.4,0.9,0.9", {"d.csv:1", "expected 8 fields"});
  // Frame numbers (non-AVA sets) are 1-based.
  const DetectionTime frames{false, 30, 900};
  EXPECT_EQ(parse_detections_csv("vidB,8,0,0,1,1,,1\n", "d.csv", s, frames)[0].frame, 7);
  expect_data_error([&] { parse_detections_csv("vidB,9,0,0,1,1,,1\n", "d.csv", s, frames); }, {"d.csv:1", "img_00001.jpg"});
}

TEST(ConvertActPickle, WritesWhatTheReaderReads) {
  TempDir dir;
  const std::string make = R"(
import pickle, numpy as np, sys
gt = {'labels': ['Jump', 'Run'],
      'train_videos': [['Jump/v_j1', 'Run/v_r1']], 'test_videos': [['Jump/v_j2']],
      'nframes': {'Jump/v_j1': 5, 'Run/v_r1': 4, 'Jump/v_j2': 6},
      'resolution': {'Jump/v_j1': (240, 320), 'Run/v_r1': (240, 320), 'Jump/v_j2': (240, 320)},
      'gttubes': {'Jump/v_j1': {0: [np.array([[1, 10, 20, 100, 200], [2, 12.5, 20, 102, 200]], dtype=np.float32)]},
                  'Run/v_r1': {1: [np.array([[2, 0, 0, 320, 240], [3, 5, 5, 330, 245]], dtype=np.float32)]},
                  'Jump/v_j2': {0: [np.array([[3, 1, 2, 3, 4]]), np.array([[5, 1, 2, 3, 4], [6, 1, 2, 3, 4]])]}}}
pickle.dump(gt, open(sys.argv[1], 'wb'), protocol=2)
)";
  vd::data::testing::write_file(dir / "make.py", make);
  std::string out;
  ASSERT_EQ(shell("python3 " + dir / "make.py" + " " + dir / "UCF101v2-GT.pkl", out), 0) << out;
  // The box reaching x = 330 in a 320-wide frame is refused, then clamped.
  EXPECT_EQ(shell("python3 tools/convert_act_pickle.py " + dir / "UCF101v2-GT.pkl" + " " + dir / "t.txt", out), 0) << out;
  expect_data_error([&] { read_tube_file(dir / "t.txt"); }, {"outside the 320 x 240 frame"});
  ASSERT_EQ(shell("python3 tools/convert_act_pickle.py " + dir / "UCF101v2-GT.pkl" + " " + dir / "t.txt --clamp", out), 0) << out;
  EXPECT_NE(out.find("4 tubes, 1 boxes clamped"), std::string::npos) << out;
  const TubeFile f = read_tube_file(dir / "t.txt");
  EXPECT_EQ(f.dataset, "UCF101-24");
  EXPECT_EQ(f.classes, (std::vector<std::string>{"Jump", "Run"}));
  ASSERT_EQ(f.videos.size(), 3u);
  EXPECT_EQ(f.videos[0].name, "Jump/v_j1");
  EXPECT_EQ(f.videos[0].width, 320);
  EXPECT_EQ(f.videos[0].height, 240);
  ASSERT_EQ(f.tubes.size(), 4u);
  EXPECT_EQ(f.tubes[0].boxes[1], (Box{12.5, 20, 102, 200}));
  EXPECT_EQ(f.tubes[3].boxes[1], (Box{5, 5, 320, 240}));  // Run/v_r1's (330, 245) clamped to the frame
  EXPECT_EQ(f.tubes[1].first_frame, 2);                     // Jump/v_j2's tubes: from frame 3, then 5 (1-based)
  EXPECT_EQ(f.tubes[2].first_frame, 4);
  ASSERT_EQ(f.splits.size(), 2u);
  EXPECT_EQ(f.splits[1].videos, std::vector<size_t>{1});
  // A pickle that is not ACT's is refused with its name.
  vd::data::testing::write_file(dir / "other.pkl", "not a pickle");
  EXPECT_NE(shell("python3 tools/convert_act_pickle.py " + dir / "other.pkl" + " " + dir / "o.txt", out), 0);
  EXPECT_NE(out.find("not a readable pickle"), std::string::npos) << out;
}
