// tests/test_eval_detection_head.cpp: the detection head and protocol
// (vididi/eval/detection_head.h, detection_eval.h, detection_link.h) on
// cases whose answer is known: keyframe clips; a hand-made source whose
// frames are two coloured halves, the colour naming the class, seen through
// an "encoder" whose feature map is its input (so a RoI feature is the
// colour under the box): the head must place each box on its half through
// the annotation -> input -> map scaling, and gets frame- and video-mAP 1;
// a detections file with one misplaced box gives the AP worked out by hand;
// multi-label boxes with BCE; and the tube linker by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "autograd/functions.h"
#include "vididi/eval/detection_eval.h"
#include "vididi/eval/detection_link.h"
#include "vididi/models/encoder.h"

using namespace vd;
using namespace vd::eval;

TEST(DetectionHead, KeyframeClipIsCentredAndClamped) {
  EXPECT_EQ(keyframe_clip_frames(20, 10, 4, 2), (std::vector<int>{6, 8, 10, 12}));
  EXPECT_EQ(keyframe_clip_frames(20, 0, 4, 1), (std::vector<int>{0, 0, 0, 1}));
  EXPECT_EQ(keyframe_clip_frames(5, 4, 3, 2), (std::vector<int>{2, 4, 4}));
  EXPECT_EQ(keyframe_clip_frames(5, 2, 1, 1), (std::vector<int>{2}));
}

namespace {
// Feature map = the input clip (3 channels, the input's resolution).
class IdentityMap : public models::Encoder {
 public:
  IdentityMap() : models::Encoder("IdentityMap") {}
  Tensor forward(const Tensor& x) override { return global_avg_pool3d(x); }
  Tensor feature_map(const Tensor& x) override { return x; }
  int64_t feature_dim() const override { return 3; }
  Tensor classify(const Tensor&) override { VD_FAIL("IdentityMap has no head"); }
  Shape trace(models::FlopCounter&, const std::string&, const Shape& in) override { return {in[0], 3}; }
};

// 8 frames of 16 x 32 pixels: the left half colour left(v), the right half right(v).
const uint8_t kColours[3][3] = {{230, 20, 20}, {20, 20, 230}, {20, 230, 20}};
class Halves : public data::VideoSource {
 public:
  explicit Halves(std::vector<std::pair<int, int>> colours) : c_(std::move(colours)) {}
  size_t size() const override { return c_.size(); }
  int num_classes() const override { return 3; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int label(size_t) const override { return 0; }
  int num_frames(size_t) const override { return 8; }
  std::string name(size_t v) const override { return "halves:" + std::to_string(v); }
  data::Clip load(size_t v, const std::vector<int>& frames) const override {
    data::Clip c(int(frames.size()), 16, 32, 3);
    for (int t = 0; t < c.T; ++t)
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 32; ++x)
          for (int ch = 0; ch < 3; ++ch)
            c.frame(t)[(y * 32 + x) * 3 + ch] = kColours[x < 16 ? c_[v].first : c_[v].second][ch];
    return c;
  }

 private:
  std::vector<std::pair<int, int>> c_;
  std::vector<std::string> names_{"red", "blue", "green"};
};

// Annotations at twice the frames' resolution (64 x 32): box L is the left
// half, R the right half, each with the class of its colour; one tube per
// half over frames 0..7.
data::DetectionSplit split_of(const std::vector<std::pair<int, int>>& colours, bool multi) {
  data::DetectionSplit s;
  s.frames = std::make_shared<Halves>(colours);
  const data::Box L{4, 4, 28, 28}, R{36, 4, 60, 28};
  for (size_t v = 0; v < colours.size(); ++v) {
    s.names.push_back("v" + std::to_string(v));
    s.width.push_back(64), s.height.push_back(32);
    for (const auto& [box, label] : {std::make_pair(L, colours[v].first), std::make_pair(R, colours[v].second)})
      s.tubes.push_back(data::TubeBoxes{v, label, 0, std::vector<data::Box>(8, box)});
  }
  s.keyframes = data::tube_keyframes(s, 2, false);
  if (multi)  // every green box is also "red" (class 0): two labels
    for (auto& k : s.keyframes)
      for (auto& l : k.labels)
        if (l[0] == 2) l.push_back(0);
  return s;
}

data::DetectionSet halves_set(bool multi = false) {
  data::DetectionSet d;
  d.name = "halves";
  d.classes = {"red", "blue", "green"};
  d.has_tubes = !multi;
  d.multi_label = multi;
  d.train = split_of({{0, 1}, {1, 2}, {2, 0}, {0, 2}, {1, 0}, {2, 1}}, multi);
  d.test = split_of({{1, 0}, {0, 2}, {2, 1}}, multi);
  return d;
}

DetectionEvalOptions options() {
  DetectionEvalOptions o;
  o.detector.frames = 2;
  o.detector.short_side = 8;  // frames 16 x 32 -> input 8 x 16; annotations 64 x 32 scale by 1/4
  o.detector.roi_size = 2;
  o.detector.batch = 4;
  o.detector.workers = 1;
  o.keyframe_stride = 2;
  return o;
}
}  // namespace

TEST(DetectionHead, BoxesLandOnTheirHalfAndScorePerfectly) {
  IdentityMap enc;
  const data::DetectionSet set = halves_set();
  const DetectionEvaluation e = evaluate_detection(enc, set, options());
  EXPECT_EQ(e.training.keyframes, 6 * 4);  // keyframes 0, 2, 4, 6 of 6 videos
  EXPECT_EQ(e.training.boxes, 6 * 4 * 2);
  EXPECT_EQ(e.scored_boxes, 3 * 4 * 2);
  EXPECT_EQ(e.detections.size(), size_t(3 * 4 * 2 * 3));  // every box, every class
  EXPECT_DOUBLE_EQ(e.frame.map, 1.0);
  ASSERT_EQ(e.video.size(), 2u);
  for (const auto& [t, r] : e.video) EXPECT_DOUBLE_EQ(r.map, 1.0) << "IoU " << t;
  // One tube per (video, box, class): 3 videos x 2 halves x 3 classes, each
  // over frames 0..7 (keyframes 0..6, the last held for stride / 2 = 1 frame).
  ASSERT_EQ(e.tubes.size(), 18u);
  for (const Tube& t : e.tubes) {
    EXPECT_EQ(t.first_frame, 0);
    EXPECT_EQ(t.last_frame(), 7);
  }
  EXPECT_NE(detection_json(e, set).find("\"map\": 1,"), std::string::npos);
}

TEST(DetectionHead, BoxesFromAFileLoseTheMisplacedOne) {
  IdentityMap enc;
  const data::DetectionSet set = halves_set();
  // Normalised boxes: the true halves on every test keyframe, except that on
  // video v1 (left red, right green) frame 3 (1-based; 0-based 2) the right
  // box is shifted half a box down (IoU 1/3) and a low-score box is dropped.
  const std::string path = ::testing::TempDir() + "halves_detections.csv";
  {
    std::ofstream f(path);
    for (int v = 0; v < 3; ++v)
      for (int fr = 1; fr <= 8; fr += 2) {
        f << "v" << v << "," << fr << ",0.0625,0.125,0.4375,0.875,,0.99\n";
        if (v == 1 && fr == 3) f << "v1,3,0.5625,0.5,0.9375,1.0,,0.95\n";
        else f << "v" << v << "," << fr << ",0.5625,0.125,0.9375,0.875,,0.97\n";
      }
    f << "v0,1,0.1,0.1,0.2,0.2,,0.5\n";
  }
  DetectionEvalOptions o = options();
  o.test_boxes = "file";
  o.boxes_file = path;
  const DetectionEvaluation e = evaluate_detection(enc, set, o);
  EXPECT_EQ(e.file_boxes_dropped, 1);
  EXPECT_EQ(e.scored_boxes, 24);
  EXPECT_NE(e.boxes_source.find("halves_detections.csv"), std::string::npos);
  // red and blue: AP 1. green has 8 ground-truth boxes (v1 right, v2 left,
  // 4 keyframes each). The shifted box lies on the all-green half, so its
  // green score equals the true ones' and the tie keeps input order:
  // v1f0 TP, v1f2 FP (IoU 1/3), v1f4, v1f6, v2f0..6 TP. Precision after each
  // rank 1, 1/2, 2/3, ..., 7/8 at recall 1/8 .. 7/8; made monotone from the
  // right: 1 for the first 1/8 of recall, 7/8 for the next six eighths:
  // AP = 1/8 + 6/8 * 7/8 = 25/32.
  EXPECT_NEAR(e.frame.ap[2], 25.0 / 32.0, 1e-12);
}

TEST(DetectionHead, MultiLabelBoxesTrainWithSigmoidBce) {
  IdentityMap enc;
  const data::DetectionSet set = halves_set(true);
  const DetectionEvaluation e = evaluate_detection(enc, set, options());
  EXPECT_TRUE(e.video.empty());
  // Class 0 ground truth on the 4 test keyframes: 2 red boxes and 2 green
  // ones (green boxes carry both labels).
  EXPECT_EQ(e.frame.num_gt[0], 4 * (2 + 2));
  EXPECT_EQ(e.frame.num_gt[2], 4 * 2);
  EXPECT_DOUBLE_EQ(e.frame.map, 1.0);
}

TEST(DetectionLink, GreedyTubesByHand) {
  auto box = [](double x) { return data::Box{x, 0, x + 10, 10}; };
  // Video 0, class 1, keyframes 0, 2, 4 (stride 2): track A moves right by 2
  // per keyframe; track B appears at frame 2 far away and stays; a weak
  // duplicate of A at frame 4 starts its own tube.
  std::vector<FrameBox> d{
      {0, 0, 1, 0.9, box(0)}, {0, 2, 1, 0.8, box(2)}, {0, 2, 1, 0.5, box(50)},
      {0, 4, 1, 0.7, box(4)}, {0, 4, 1, 0.4, box(50)}, {0, 4, 1, 0.1, box(4.5)},
  };
  LinkOptions o;
  o.keyframe_stride = 2;
  const std::vector<Tube> t = link_tubes(d, {6}, o);
  ASSERT_EQ(t.size(), 3u);
  // A: frames 0..5 (ends held 1 frame, clamped at 0), interpolated at odd frames.
  EXPECT_EQ(t[0].first_frame, 0);
  EXPECT_EQ(t[0].last_frame(), 5);
  EXPECT_NEAR(t[0].score, 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(t[0].boxes[1].x1, 1.0);
  EXPECT_DOUBLE_EQ(t[0].boxes[4].x1, 4.0);
  EXPECT_DOUBLE_EQ(t[0].boxes[5].x1, 4.0);
  // B: frames 1..5, mean score 0.45.
  EXPECT_EQ(t[1].first_frame, 1);
  EXPECT_NEAR(t[1].score, 0.45, 1e-12);
  EXPECT_DOUBLE_EQ(t[1].boxes[0].x1, 50.0);
  // The duplicate: frames 3..5.
  EXPECT_EQ(t[2].first_frame, 3);
  EXPECT_EQ(t[2].boxes.size(), 3u);
  EXPECT_DOUBLE_EQ(t[2].score, 0.1);
  // A tube ends when nothing overlaps its last box; classes never mix.
  std::vector<FrameBox> e{{0, 0, 0, 0.9, box(0)}, {0, 1, 0, 0.9, box(40)}, {0, 1, 2, 0.9, box(0)}};
  const std::vector<Tube> u = link_tubes(e, {3}, LinkOptions{});
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].label, 0);
  EXPECT_EQ(u[0].boxes.size(), 1u);
  EXPECT_EQ(u[1].label, 0);
  EXPECT_EQ(u[1].first_frame, 1);
  EXPECT_EQ(u[2].label, 2);
  EXPECT_THROW(link_tubes(e, {1}, LinkOptions{}), Error);  // frame 1 of a 1-frame video
}
