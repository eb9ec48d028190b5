// Detection metrics (vididi/eval/detection_metrics.h) on hand-computed
// cases: box IoU in both pixel conventions, one worked precision-recall
// curve under both AP rules, frame-mAP's matching rules (ties in score,
// duplicates, an empty class, a class without ground truth, a perfect
// detector, a detection on the wrong frame), tube IoU and video-mAP at 0.2
// and 0.5, and the errors.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_util.h"
#include "vididi/eval/detection_metrics.h"

using namespace vd;
using namespace vd::eval;
using vd::testing::error_of;

namespace {

FrameBox fb(int64_t video, int64_t frame, int label, double score, Box b) {
  FrameBox f;
  f.video = video, f.frame = frame, f.label = label, f.score = score, f.box = b;
  return f;
}

// A tube of n frames from `first` whose box slides right by dx per frame.
Tube tube(int64_t video, int label, double score, int64_t first, int n, Box b, double dx = 0) {
  Tube t;
  t.video = video, t.label = label, t.score = score, t.first_frame = first;
  for (int i = 0; i < n; ++i) t.boxes.push_back({b.x1 + dx * i, b.y1, b.x2 + dx * i, b.y2});
  return t;
}

const Box kA{0, 0, 10, 10}, kB{20, 20, 30, 30}, kC{40, 0, 50, 10};

}  // namespace

TEST(DetectionMetrics, BoxIou) {
  // Overlap 5 x 10 = 50, union 100 + 100 - 50 = 150.
  EXPECT_DOUBLE_EQ(iou(kA, {5, 0, 15, 10}), 50.0 / 150.0);
  EXPECT_DOUBLE_EQ(iou(kA, kA), 1.0);
  EXPECT_DOUBLE_EQ(iou(kA, kB), 0.0);
  EXPECT_DOUBLE_EQ(iou(kA, {10, 0, 20, 10}), 0.0);  // touching edges
  EXPECT_DOUBLE_EQ(iou({1, 1, 1, 1}, {1, 1, 1, 1}), 0.0);  // empty union
  // Inclusive pixels: 11 x 11 boxes, overlap columns 5..10 = 6 x 11 = 66;
  // union 121 + 121 - 66 = 176. Touching boxes then share a column: 11 / 231.
  EXPECT_DOUBLE_EQ(iou(kA, {5, 0, 15, 10}, true), 66.0 / 176.0);
  EXPECT_DOUBLE_EQ(iou(kA, {10, 0, 20, 10}, true), 11.0 / 231.0);
  EXPECT_DOUBLE_EQ(box_area({3, 3, 1, 1}), 0.0);  // inverted
}

TEST(DetectionMetrics, WorkedPrecisionRecallCurve) {
  // 3 ground-truth boxes; ranked detections T F T F T.
  //   rank       1    2    3    4    5
  //   precision  1   1/2  2/3  1/2  3/5
  //   recall    1/3  1/3  2/3  2/3   1
  // VOC2010+ all points: precision made non-increasing from the right is
  // 1, 2/3, 2/3, 3/5, 3/5; recall steps at ranks 1, 3, 5 of 1/3 each:
  //   AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 3/5 = 15/45 + 10/45 + 9/45 = 34/45.
  // ACT's trapezoid from (recall 0, precision 1): the steps 0 -> 1/3 at
  // (1 + 1) / 2, 1/3 -> 2/3 at (1/2 + 2/3) / 2, 2/3 -> 1 at (1/2 + 3/5) / 2:
  //   AP = 1/3 + 7/36 + 11/60 = 128/180 = 32/45.
  const std::vector<bool> tp = {true, false, true, false, true};
  EXPECT_NEAR(average_precision(tp, 3), 34.0 / 45.0, 1e-15);
  EXPECT_NEAR(average_precision(tp, 3, ApRule::Trapezoid), 32.0 / 45.0, 1e-15);
  // The same curve through frame_map: one class, one gt per frame 0, 1, 2;
  // the false positives sit on frame 0 (already matched) and frame 9 (none).
  std::vector<FrameBox> gt = {fb(0, 0, 0, 0, kA), fb(0, 1, 0, 0, kA), fb(0, 2, 0, 0, kA)};
  std::vector<FrameBox> det = {fb(0, 2, 0, 0.5, kA), fb(0, 0, 0, 0.9, kA), fb(0, 0, 0, 0.8, kA),
                               fb(0, 1, 0, 0.7, kA), fb(0, 9, 0, 0.6, kA)};
  const DetectionResult r = frame_map(det, gt, 1);
  EXPECT_NEAR(r.ap[0], 34.0 / 45.0, 1e-15);
  EXPECT_NEAR(r.map, 34.0 / 45.0, 1e-15);
  EXPECT_EQ(r.num_gt[0], 3);
  EXPECT_EQ(r.num_det[0], 5);
  DetectionMetricOptions trap;
  trap.ap_rule = ApRule::Trapezoid;
  EXPECT_NEAR(frame_map(det, gt, 1, trap).map, 32.0 / 45.0, 1e-15);
}

TEST(DetectionMetrics, PerfectDetectorScoresOne) {
  std::vector<FrameBox> gt = {fb(0, 0, 0, 0, kA), fb(0, 0, 1, 0, kB), fb(1, 4, 0, 0, kC), fb(1, 4, 0, 0, kA)};
  std::vector<FrameBox> det = gt;
  for (size_t i = 0; i < det.size(); ++i) det[i].score = 1.0 - 0.1 * double(i);
  const DetectionResult r = frame_map(det, gt, 2);
  EXPECT_DOUBLE_EQ(r.ap[0], 1.0);
  EXPECT_DOUBLE_EQ(r.ap[1], 1.0);
  EXPECT_DOUBLE_EQ(r.map, 1.0);
  EXPECT_EQ(r.classes_with_gt, 2);
}

TEST(DetectionMetrics, DuplicateDetectionIsAFalsePositive) {
  // One gt, two detections of it: the second (IoU 0.9, but the gt is
  // taken) is a false positive. Ranked T F: precision 1 at recall 1, AP 1.
  // With a miss elsewhere ranked first: F T F, precision 1/2 at recall 1,
  // AP 1/2.
  std::vector<FrameBox> gt = {fb(0, 0, 0, 0, kA)};
  EXPECT_DOUBLE_EQ(frame_map({fb(0, 0, 0, 0.9, kA), fb(0, 0, 0, 0.8, kA)}, gt, 1).map, 1.0);
  const std::vector<FrameBox> det = {fb(0, 0, 0, 0.8, kA), fb(0, 0, 0, 0.7, {0, 0, 10, 9}), fb(0, 3, 0, 0.9, kA)};
  EXPECT_DOUBLE_EQ(frame_map(det, gt, 1).map, 0.5);
}

TEST(DetectionMetrics, TiesInScoreKeepTheInputOrder) {
  // Two detections at score 0.5 on one gt: a miss (IoU 1/3) and a hit.
  // Stable order: miss first -> F T, AP = 1/2; hit first -> T F, AP = 1.
  std::vector<FrameBox> gt = {fb(0, 0, 0, 0, kA)};
  const FrameBox miss = fb(0, 0, 0, 0.5, {5, 0, 15, 10}), hit = fb(0, 0, 0, 0.5, kA);
  EXPECT_DOUBLE_EQ(frame_map({miss, hit}, gt, 1).map, 0.5);
  EXPECT_DOUBLE_EQ(frame_map({hit, miss}, gt, 1).map, 1.0);
}

TEST(DetectionMetrics, MatchesTheBestUnmatchedGroundTruth) {
  // Two gts in one frame; the first detection overlaps both, best with g2
  // (IoU 1) and matches it; the second detection's best is then g1 at
  // 50/150 < 0.5, g2 being taken -> F. At threshold 0.3 it matches g1.
  std::vector<FrameBox> gt = {fb(0, 0, 0, 0, {5, 0, 15, 10}), fb(0, 0, 0, 0, kA)};
  std::vector<FrameBox> det = {fb(0, 0, 0, 0.9, kA), fb(0, 0, 0, 0.8, kA)};
  EXPECT_DOUBLE_EQ(frame_map(det, gt, 1).map, 0.5);  // T F with 2 gts: 1 * 1/2
  DetectionMetricOptions loose;
  loose.iou_threshold = 0.3;
  EXPECT_DOUBLE_EQ(frame_map(det, gt, 1, loose).map, 1.0);
}

TEST(DetectionMetrics, EmptyClassAndClassWithoutGroundTruth) {
  // Class 0: perfect (AP 1). Class 1: ground truth, no detections (AP 0).
  // Class 2: detections, no ground truth: AP NaN, excluded from the mean,
  // which is (1 + 0) / 2; its detections do not count as errors anywhere.
  std::vector<FrameBox> gt = {fb(0, 0, 0, 0, kA), fb(0, 0, 1, 0, kB)};
  std::vector<FrameBox> det = {fb(0, 0, 0, 0.9, kA), fb(0, 0, 2, 0.95, kB)};
  const DetectionResult r = frame_map(det, gt, 3);
  EXPECT_DOUBLE_EQ(r.ap[0], 1.0);
  EXPECT_DOUBLE_EQ(r.ap[1], 0.0);
  EXPECT_TRUE(std::isnan(r.ap[2]));
  EXPECT_EQ(r.classes_with_gt, 2);
  EXPECT_DOUBLE_EQ(r.map, 0.5);
}

TEST(DetectionMetrics, WrongFrameOrVideoIsAFalsePositive) {
  std::vector<FrameBox> gt = {fb(0, 0, 0, 0, kA)};
  EXPECT_DOUBLE_EQ(frame_map({fb(0, 1, 0, 0.9, kA)}, gt, 1).map, 0.0);
  EXPECT_DOUBLE_EQ(frame_map({fb(1, 0, 0, 0.9, kA)}, gt, 1).map, 0.0);
  EXPECT_DOUBLE_EQ(frame_map({fb(0, 0, 0, 0.9, kB)}, gt, 1).map, 0.0);
}

TEST(DetectionMetrics, TubeIou) {
  // Frames 0-9 and 5-14: 5 common of 15 -> temporal IoU 1/3. Identical
  // boxes: tube IoU 1/3. Sliding: s moves right 1 px per frame from kA
  // (x in [t, t + 10] at frame t) against b (kA on frames 5-14): on the
  // common frames 5..9 the overlap is 10 (10 - t) of a union 100 + 10 t,
  // IoU (10 - t) / (10 + t); tube IoU = 1/3 x their mean.
  const Tube a = tube(0, 0, 1, 0, 10, kA), b = tube(0, 0, 1, 5, 10, kA);
  EXPECT_DOUBLE_EQ(temporal_iou(a, b), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(tube_iou(a, b), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(tube_iou(a, tube(0, 0, 1, 10, 3, kA)), 0.0);  // disjoint in time
  const Tube s = tube(0, 0, 1, 0, 10, kA, 1.0);
  double mean = 0;
  for (int t = 5; t <= 9; ++t) mean += (10.0 - t) / (10.0 + t) / 5;
  EXPECT_NEAR(tube_iou(s, b), mean / 3.0, 1e-15);
  EXPECT_NEAR(tube_iou(s, s), 1.0, 1e-15);
}

TEST(DetectionMetrics, VideoMapAtTwoThresholds) {
  // Class 0: gt tubes in videos 0 and 1, frames 0-9. Detections: video 0
  // frames 0-7 (tube IoU 0.8) at 0.9; video 1 frames 5-14 (1/3) at 0.8; a
  // duplicate on video 0 at 0.7. At 0.2: T T F -> AP 1. At 0.5: T F F ->
  // AP 1/2 (precision 1 at recall 1/2).
  // Class 1: no gt (excluded). Class 2: gt, no detection (AP 0).
  std::vector<Tube> gt = {tube(0, 0, 0, 0, 10, kA), tube(1, 0, 0, 0, 10, kB), tube(1, 2, 0, 0, 5, kC)};
  std::vector<Tube> det = {tube(0, 0, 0.9, 0, 8, kA), tube(1, 0, 0.8, 5, 10, kB), tube(0, 0, 0.7, 0, 10, kA),
                           tube(0, 1, 0.99, 0, 10, kA)};
  DetectionMetricOptions o;
  o.iou_threshold = 0.2;
  DetectionResult r = video_map(det, gt, 3, o);
  EXPECT_DOUBLE_EQ(r.ap[0], 1.0);
  EXPECT_TRUE(std::isnan(r.ap[1]));
  EXPECT_DOUBLE_EQ(r.ap[2], 0.0);
  EXPECT_DOUBLE_EQ(r.map, 0.5);
  o.iou_threshold = 0.5;
  r = video_map(det, gt, 3, o);
  EXPECT_DOUBLE_EQ(r.ap[0], 0.5);
  EXPECT_DOUBLE_EQ(r.map, 0.25);
  // A perfect detector.
  std::vector<Tube> perfect = gt;
  EXPECT_DOUBLE_EQ(video_map(perfect, gt, 3).map, 1.0);
}

TEST(DetectionMetrics, ErrorsNameWhatWasExpected) {
  std::vector<FrameBox> gt = {fb(0, 0, 0, 0, kA)};
  EXPECT_NE(error_of([&] { frame_map({fb(0, 0, 3, 0.5, kA)}, gt, 2); }).find("labels in [0, 2), got 3"),
            std::string::npos);
  EXPECT_NE(error_of([&] { frame_map({fb(0, 0, 0, NAN, kA)}, gt, 2); }).find("finite scores"), std::string::npos);
  EXPECT_NE(error_of([&] { frame_map({}, {}, 2); }).find("at least one ground-truth"), std::string::npos);
  EXPECT_NE(error_of([&] { video_map({Tube()}, {tube(0, 0, 0, 0, 2, kA)}, 1); }).find("at least one box"),
            std::string::npos);
  EXPECT_NE(error_of([] { average_precision({true}, 0); }).find("positive count"), std::string::npos);
}
