// vididi/eval/detection_eval.h: the detection protocol end to end on a
// DetectionSet (docs/PROTOCOLS.md "Detection"): train the detector on the
// train split's ground-truth boxes; score the test keyframes' boxes --
// ground truth, or a detector's from a file (AVA's person-detection CSV
// format) above a score threshold -- giving every box one detection per
// class (its probability); frame-mAP at IoU 0.5 over the test keyframes;
// for tube sets, the detections linked into tubes (detection_link.h) and
// video-mAP at IoU 0.2 and 0.5. Also the results as JSON. Not here: the key
// table, files and pictures (vididi/cli/cmd_detect.cpp).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "data/detection_set.h"
#include "vididi/eval/detection_head.h"
#include "vididi/eval/detection_link.h"
#include "vididi/eval/detection_metrics.h"

namespace vd::eval {

struct DetectionEvalOptions {
  DetectionOptions detector;
  // Test boxes: "gt" (the test keyframes' ground truth) or "file" (boxes_file,
  // lines of data/detection_set.h's detections format).
  std::string test_boxes = "gt";
  std::string boxes_file;
  data::DetectionTime time;       // how the file names frames
  double min_box_score = 0.8;     // file boxes below this score are dropped (SlowFast's AVA test rule)
  double frame_iou = 0.5;
  std::vector<double> video_ious = {0.2, 0.5};
  double link_iou = 0.1;          // detection_link.h min_iou
  int keyframe_stride = 1;        // of the test keyframes (for linking)
  ApRule ap_rule = ApRule::VocAllPoints;
};

struct DetectionEvaluation {
  DetectorTraining training;
  std::string boxes_source;                   // "ground-truth boxes" or "detections from FILE (score >= s)"
  int64_t test_keyframes = 0, scored_boxes = 0, file_boxes_dropped = 0;
  std::vector<FrameBox> detections;           // one per scored box and class
  std::vector<FrameBox> ground_truth;         // one per test box and label
  DetectionResult frame;                      // frame-mAP at frame_iou
  double frame_iou = 0.5;
  std::vector<Tube> tubes, ground_truth_tubes;
  std::vector<std::pair<double, DetectionResult>> video;  // (IoU, video-mAP); empty without tubes
};

DetectionEvaluation evaluate_detection(models::Encoder& encoder, const data::DetectionSet& set,
                                       const DetectionEvalOptions& options);

// The test requests the options ask for (ground truth, or the file's boxes
// on the test keyframes); sets *dropped to the file boxes under the score
// threshold or off the keyframes.
std::vector<RoiRequest> test_requests(const data::DetectionSet& set, const DetectionEvalOptions& o,
                                      int64_t* dropped);

// {"dataset": ..., "test_boxes": ..., "frame_map": {"iou": 0.5, "map": ..,
//  "classes": [{"name", "ap", "gt", "detections"}...]}, "video_map": [...],
//  "training": {...}}; NaN APs as null.
std::string detection_json(const DetectionEvaluation& e, const data::DetectionSet& set);

}  // namespace vd::eval
