// Detection metrics (vididi/eval/detection_metrics.h) against an independent
// implementation of their published definitions,
// tools/detection_map_reference.py (exact rational arithmetic, Python
// standard library only). Seeded random cases: frame-mAP with several
// classes, a class with detections and no ground truth, a class with ground
// truth and no detections, a class with neither, duplicate detections and
// duplicate ground truth, detections on the wrong frame, video or class,
// zero-area boxes, scores on a grid of sixteenths (so exact ties, across
// frames and videos, are frequent: both sides keep the input order among
// them), boxes shifted by about a third of their width (IoU at and around
// 0.5), a detection of equal IoU with two ground truths; video-mAP with
// tubes cut or shifted in time (partial temporal overlap, spatio-temporal
// IoU exactly 1/2 and 1/5, equal IoU with two ground truths), jittered
// boxes and duplicates. Each case is evaluated at two (frame) or three (video) IoU
// thresholds, under both AP rules (VOC2010+ all points, ACT's trapezoid)
// and both pixel conventions; per-class AP, mAP and the counts must agree to
// 1e-9. The reference is first checked on the hand-computed cases of
// tests/test_eval_detection.cpp. Needs python3: fails when CI is set and it
// is missing, is skipped otherwise.
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "tests/test_eval_detection_reference_util.h"

using namespace vd::eval;


TEST(DetectionMetricsReference, ReferenceGivesTheHandComputedValues) {
  REQUIRE_PYTHON3();
  // tests/test_eval_detection.cpp's worked curve (VOC 34/45, trapezoid
  // 32/45) and its two-threshold video case (class 0: AP 1 at 0.2, 1/2 at
  // 0.5; class 1 without ground truth; class 2 AP 0).
  const Box kA{0, 0, 10, 10}, kB{20, 20, 30, 30}, kC{40, 0, 50, 10};
  Case worked;
  worked.name = "worked curve";
  worked.num_classes = 1;
  worked.frame_gt = {gt_box(0, 0, 0, kA), gt_box(0, 1, 0, kA), gt_box(0, 2, 0, kA)};
  worked.frame_det = {frame_box(0, 2, 0, 0.5, kA), frame_box(0, 0, 0, 0.9, kA), frame_box(0, 0, 0, 0.8, kA),
                      frame_box(0, 1, 0, 0.7, kA), frame_box(0, 9, 0, 0.6, kA)};
  worked.evaluations = {{false, 0.5, ApRule::VocAllPoints, false}, {false, 0.5, ApRule::Trapezoid, false}};
  Case tubes;
  tubes.name = "two thresholds";
  tubes.num_classes = 3;
  tubes.video_gt = {slid(0, 0, 0, 0, 10, kA), slid(1, 0, 0, 0, 10, kB), slid(1, 2, 0, 0, 5, kC)};
  tubes.video_det = {slid(0, 0, 0.9, 0, 8, kA), slid(1, 0, 0.8, 5, 10, kB), slid(0, 0, 0.7, 0, 10, kA),
                     slid(0, 1, 0.99, 0, 10, kA)};
  tubes.evaluations = {{true, 0.2, ApRule::VocAllPoints, false}, {true, 0.5, ApRule::VocAllPoints, false}};
  const std::vector<Case> cases = {worked, tubes};
  TempDir dir;
  Json ref;
  ASSERT_TRUE(run_reference(cases, dir, &ref));
  const Json& w = ref.at("cases").at(0).at("results");
  EXPECT_NEAR(w.at(0).at("map").number, 34.0 / 45.0, 1e-15);
  EXPECT_NEAR(w.at(1).at("map").number, 32.0 / 45.0, 1e-15);
  const Json& t = ref.at("cases").at(1).at("results");
  EXPECT_EQ(t.at(0).at("ap").at(0).number, 1.0);
  EXPECT_EQ(t.at(0).at("ap").at(1).kind, Json::Kind::Null);
  EXPECT_EQ(t.at(0).at("ap").at(2).number, 0.0);
  EXPECT_EQ(t.at(0).at("map").number, 0.5);
  EXPECT_EQ(t.at(1).at("ap").at(0).number, 0.5);
  EXPECT_EQ(t.at(1).at("map").number, 0.25);
  Agreement a;
  expect_agreement(cases, ref, &a);
}

TEST(DetectionMetricsReference, RandomFrameMapCasesAgree) {
  REQUIRE_PYTHON3();
  std::vector<Case> cases;
  for (uint64_t seed = 1; seed <= 8; ++seed) cases.push_back(random_frame_case(seed));
  // What the cases hold, counted on them (not on how they were drawn).
  int ties_across_frames = 0, iou_half = 0, iou_near_half = 0, duplicates = 0, no_gt_with_dets = 0, empty = 0,
      iou_ties = 0;
  for (const Case& k : cases) {
    for (size_t i = 0; i < k.frame_det.size(); ++i)
      for (size_t j = i + 1; j < k.frame_det.size(); ++j) {
        const FrameBox &a = k.frame_det[i], &b = k.frame_det[j];
        if (a.label == b.label && a.score == b.score && (a.video != b.video || a.frame != b.frame))
          ++ties_across_frames;
      }
    for (const FrameBox& g : k.frame_gt) {
      int hits = 0;
      for (const FrameBox& d : k.frame_det) {
        if (d.label != g.label || d.video != g.video || d.frame != g.frame) continue;
        const double o = iou(d.box, g.box);
        iou_half += o == 0.5;
        iou_near_half += o != 0.5 && std::fabs(o - 0.5) < 0.05;
        hits += o >= 0.5;
      }
      duplicates += hits > 1;
    }
    for (const FrameBox& d : k.frame_det)  // equal IoU >= 0.5 with two different ground truths
      for (size_t i = 0; i < k.frame_gt.size(); ++i)
        for (size_t j = i + 1; j < k.frame_gt.size(); ++j) {
          const FrameBox &g1 = k.frame_gt[i], &g2 = k.frame_gt[j];
          if (d.label != g1.label || g1.label != g2.label || d.video != g1.video || g1.video != g2.video ||
              d.frame != g1.frame || g1.frame != g2.frame || g1.box == g2.box)
            continue;
          iou_ties += iou(d.box, g1.box) >= 0.5 && iou(d.box, g1.box) == iou(d.box, g2.box);
        }
    const DetectionResult r = frame_map(k.frame_det, k.frame_gt, k.num_classes);
    for (int c = 0; c < k.num_classes; ++c) {
      no_gt_with_dets += r.num_gt[size_t(c)] == 0 && r.num_det[size_t(c)] > 0;
      empty += r.num_gt[size_t(c)] > 0 && r.num_det[size_t(c)] == 0;
    }
  }
  EXPECT_GT(ties_across_frames, 0);
  EXPECT_GT(iou_half, 0);
  EXPECT_GT(iou_near_half, 0);
  EXPECT_GT(duplicates, 0);
  EXPECT_GE(iou_ties, 8 * 3);
  EXPECT_EQ(no_gt_with_dets, 8);
  EXPECT_GE(empty, 8);
  const Agreement a = compare_with_reference(cases, 8 * 8 * 4);  // 8 cases x 8 evaluations x 4 classes with ground truth
  std::printf(
      "frame-mAP: %d APs and %zu means, max |C++ - reference| %.3g; score ties across frames %d, IoU = 0.5 %d, "
      "|IoU - 0.5| < 0.05 %d, ground truths hit twice or more %d, IoU ties between ground truths %d\n",
      a.aps, size_t(8 * 8), a.max_diff, ties_across_frames, iou_half, iou_near_half, duplicates, iou_ties);
}

TEST(DetectionMetricsReference, RandomVideoMapCasesAgree) {
  REQUIRE_PYTHON3();
  std::vector<Case> cases;
  int dropped = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) cases.push_back(random_video_case(seed, &dropped));
  int partial = 0, at_half = 0, at_fifth = 0, ties_across_videos = 0, no_gt_with_dets = 0, empty = 0, iou_ties = 0;
  for (const Case& k : cases) {
    for (size_t i = 0; i < k.video_det.size(); ++i)
      for (size_t j = i + 1; j < k.video_det.size(); ++j) {
        const Tube &a = k.video_det[i], &b = k.video_det[j];
        if (a.label == b.label && a.score == b.score && a.video != b.video) ++ties_across_videos;
      }
    for (const Tube& g : k.video_gt)
      for (const Tube& d : k.video_det) {
        if (d.label != g.label || d.video != g.video) continue;
        const double t = temporal_iou(d, g), o = tube_iou(d, g);
        partial += t > 0 && t < 1;
        at_half += o == 0.5;
        at_fifth += o == 0.2;
      }
    for (const Tube& d : k.video_det)  // equal IoU >= 0.2 with two different ground truths
      for (size_t i = 0; i < k.video_gt.size(); ++i)
        for (size_t j = i + 1; j < k.video_gt.size(); ++j) {
          const Tube &g1 = k.video_gt[i], &g2 = k.video_gt[j];
          if (d.label != g1.label || g1.label != g2.label || d.video != g1.video || g1.video != g2.video ||
              same_tube(g1, g2))
            continue;
          iou_ties += tube_iou(d, g1) >= 0.2 && tube_iou(d, g1) == tube_iou(d, g2);
        }
    const DetectionResult r = video_map(k.video_det, k.video_gt, k.num_classes);
    for (int c = 0; c < k.num_classes; ++c) {
      no_gt_with_dets += r.num_gt[size_t(c)] == 0 && r.num_det[size_t(c)] > 0;
      empty += r.num_gt[size_t(c)] > 0 && r.num_det[size_t(c)] == 0;
    }
  }
  EXPECT_EQ(dropped, 0);  // no detection within rounding of a threshold or a tie
  EXPECT_GT(partial, 0);
  EXPECT_GT(at_half, 0);
  EXPECT_GT(at_fifth, 0);
  EXPECT_GT(ties_across_videos, 0);
  EXPECT_GT(iou_ties, 0);
  EXPECT_EQ(no_gt_with_dets, 8);
  EXPECT_GE(empty, 8);
  const Agreement a = compare_with_reference(cases, 8 * 12 * 4);  // 8 cases x 12 evaluations x 4 classes with ground truth
  std::printf(
      "video-mAP: %d APs and %zu means, max |C++ - reference| %.3g; partial temporal overlaps %d, tube IoU "
      "= 1/2 %d, = 1/5 %d, score ties across videos %d, IoU ties between ground truths %d\n",
      a.aps, size_t(8 * 12), a.max_diff, partial, at_half, at_fifth, ties_across_videos, iou_ties);
}
