// vididi/eval/detection_metrics.h: the action-detection metrics of
// docs/PROTOCOLS.md "Detection (foundations)": box IoU, average precision,
// frame-mAP (boxes on keyframes, IoU 0.5) and video-mAP (tubes,
// spatio-temporal IoU 0.2 / 0.5), as in ACT (Kalogeiton et al. 2017) and MOC
// (Li et al. 2020), with the VOC2010+ all-points AP by default. Pure
// functions on boxes already predicted: no model, no dataset reader, no
// linking of per-frame boxes into tubes here.
//
// Conventions: ranking by score descending, ties in input order (a stable
// sort); a detection matches the not-yet-matched ground truth of its class
// in its frame (tube: video) with the highest IoU, the first in input order
// among equals, and is a true positive when that IoU >= the threshold;
// classes without ground truth are excluded from the mean.
#pragma once
#include <cstdint>
#include <vector>

#include "data/box.h"

namespace vd::eval {

using data::Box;

enum class ApRule {
  VocAllPoints,  // VOC2010+ devkit: area under the precision made monotone
                 // non-increasing from the right, summed over recall steps
  Trapezoid,     // ACT's / MOC's pr_to_ap: trapezoids over the raw curve
                 // from (recall 0, precision 1)
};

struct DetectionMetricOptions {
  double iou_threshold = 0.5;
  // false: continuous coordinates, area (x2 - x1) (y2 - y1) (torchvision
  // box_iou, Detectron2). true: inclusive integer pixels, area
  // (x2 - x1 + 1) (y2 - y1 + 1) (the VOC devkit, ACT's area2d/overlap2d).
  bool inclusive_pixels = false;
  ApRule ap_rule = ApRule::VocAllPoints;
};

// Area, 0 for an empty or inverted box.
double box_area(const Box& b, bool inclusive_pixels = false);
// Intersection over union; 0 when the union is empty.
double iou(const Box& a, const Box& b, bool inclusive_pixels = false);

// AP of one class from its detections' true-positive flags in rank order
// (best score first) and its count of ground truth (> 0).
double average_precision(const std::vector<bool>& tp_in_rank_order, int64_t num_gt,
                         ApRule rule = ApRule::VocAllPoints);

// One box on one keyframe: a detection (with its score) or ground truth
// (score unused). (video, frame) names the keyframe.
struct FrameBox {
  int64_t video = 0, frame = 0;
  int label = 0;
  double score = 0;
  Box box;
};

// A tube: boxes[i] on frame first_frame + i of `video` (consecutive frames).
struct Tube {
  int64_t video = 0;
  int label = 0;
  double score = 0;
  int64_t first_frame = 0;
  std::vector<Box> boxes;
  int64_t last_frame() const { return first_frame + int64_t(boxes.size()) - 1; }
};

// Frame counts: |intersection| / |union| of the inclusive frame ranges.
double temporal_iou(const Tube& a, const Tube& b);
// temporal_iou x the mean per-frame box IoU over the frames both cover;
// 0 without common frames. Ignores video, label and score.
double tube_iou(const Tube& a, const Tube& b, bool inclusive_pixels = false);

struct DetectionResult {
  std::vector<double> ap;        // [num_classes]; NaN for a class without ground truth
  std::vector<int64_t> num_gt;   // [num_classes]
  std::vector<int64_t> num_det;  // [num_classes]
  double map = 0;                // mean of ap over classes with ground truth
  int64_t classes_with_gt = 0;
};

// Labels must lie in [0, num_classes); at least one ground-truth box (tube)
// must exist; scores must be finite.
DetectionResult frame_map(const std::vector<FrameBox>& detections, const std::vector<FrameBox>& ground_truth,
                          int num_classes, const DetectionMetricOptions& opt = {});
// Published at iou_threshold 0.2 and 0.5 (also 0.75 and 0.5:0.95 on UCF101-24).
DetectionResult video_map(const std::vector<Tube>& detections, const std::vector<Tube>& ground_truth,
                          int num_classes, const DetectionMetricOptions& opt = {});

}  // namespace vd::eval
