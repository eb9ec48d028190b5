// vididi/eval/detection_eval.cpp: training, test boxes, scoring, frame- and
// video-mAP, and the JSON of a detection evaluation (see detection_eval.h).
#include "vididi/eval/detection_eval.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "vididi/run_dir.h"

namespace vd::eval {

std::vector<RoiRequest> test_requests(const data::DetectionSet& set, const DetectionEvalOptions& o, int64_t* dropped) {
  *dropped = 0;
  if (o.test_boxes == "gt") return ground_truth_requests(set.test);
  VD_CHECK(o.test_boxes == "file", "test_requests: expected test_boxes gt or file, got '" << o.test_boxes << "'");
  const std::vector<data::DetectedBox> boxes = data::read_detections_csv(o.boxes_file, set.test, o.time);
  std::set<std::pair<size_t, int>> keyframes;
  for (const data::KeyframeBoxes& k : set.test.keyframes) keyframes.insert({k.video, k.frame});
  std::map<std::pair<size_t, int>, RoiRequest> by_frame;
  for (const data::DetectedBox& b : boxes) {
    if (b.score < o.min_box_score || !keyframes.count({b.video, b.frame})) {
      ++*dropped;
      continue;
    }
    RoiRequest& r = by_frame[{b.video, b.frame}];
    r.video = b.video, r.frame = b.frame;
    r.boxes.push_back(b.box);
  }
  std::vector<RoiRequest> out;
  for (auto& [key, r] : by_frame) out.push_back(std::move(r));
  return out;
}

DetectionEvaluation evaluate_detection(models::Encoder& encoder, const data::DetectionSet& set,
                                       const DetectionEvalOptions& o) {
  const int64_t K = int64_t(set.classes.size());
  Detector det(encoder, K, set.multi_label, o.detector);
  DetectionEvaluation e;
  if (o.detector.log) o.detector.log("training the detection head on " + std::to_string(set.train.keyframes.size()) +
                                     " train keyframes' ground-truth boxes");
  e.training = det.fit(set.train);

  std::ostringstream src;
  if (o.test_boxes == "gt") src << "ground-truth boxes";
  else src << "detections from " << o.boxes_file << " (score >= " << o.min_box_score << ")";
  e.boxes_source = src.str();
  const std::vector<RoiRequest> req = test_requests(set, o, &e.file_boxes_dropped);
  e.test_keyframes = int64_t(set.test.keyframes.size());
  for (const data::KeyframeBoxes& k : set.test.keyframes)
    for (size_t i = 0; i < k.boxes.size(); ++i)
      for (int l : k.labels[i]) e.ground_truth.push_back(FrameBox{int64_t(k.video), k.frame, l, 0, k.boxes[i]});
  if (o.detector.log) o.detector.log("scoring " + e.boxes_source + " on " + std::to_string(req.size()) + " test keyframes");
  const std::vector<float> p = req.empty() ? std::vector<float>() : det.scores(set.test, req);
  size_t row = 0;
  for (const RoiRequest& r : req)
    for (const data::Box& b : r.boxes) {
      for (int64_t k = 0; k < K; ++k)
        e.detections.push_back(FrameBox{int64_t(r.video), r.frame, int(k), double(p[row * size_t(K) + size_t(k)]), b});
      ++row, ++e.scored_boxes;
    }
  DetectionMetricOptions mo;
  mo.iou_threshold = o.frame_iou;
  mo.inclusive_pixels = set.inclusive_pixels;
  mo.ap_rule = o.ap_rule;
  e.frame = frame_map(e.detections, e.ground_truth, int(K), mo);
  e.frame_iou = o.frame_iou;

  if (set.has_tubes) {
    for (const data::TubeBoxes& t : set.test.tubes)
      e.ground_truth_tubes.push_back(Tube{int64_t(t.video), t.label, 1, t.first_frame, t.boxes});
    std::vector<int> frames;
    for (size_t v = 0; v < set.test.size(); ++v) frames.push_back(set.test.frames->num_frames(v));
    LinkOptions lo;
    lo.min_iou = o.link_iou;
    lo.keyframe_stride = o.keyframe_stride;
    lo.inclusive_pixels = set.inclusive_pixels;
    e.tubes = link_tubes(e.detections, frames, lo);
    for (double t : o.video_ious) {
      mo.iou_threshold = t;
      e.video.emplace_back(t, video_map(e.tubes, e.ground_truth_tubes, int(K), mo));
    }
  }
  return e;
}

namespace {
std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

std::string result_json(const DetectionResult& r, double iou, const data::DetectionSet& set) {
  std::ostringstream os;
  os << "{\"iou\": " << num(iou) << ", \"map\": " << num(r.map) << ", \"classes_with_gt\": " << r.classes_with_gt
     << ", \"classes\": [";
  for (size_t k = 0; k < r.ap.size(); ++k)
    os << (k ? ", " : "") << "{\"name\": " << vididi::json_string(set.classes[k]) << ", \"ap\": " << num(r.ap[k])
       << ", \"gt\": " << r.num_gt[k] << ", \"detections\": " << r.num_det[k] << "}";
  os << "]}";
  return os.str();
}
}  // namespace

std::string detection_json(const DetectionEvaluation& e, const data::DetectionSet& set) {
  std::ostringstream os;
  os << "{\"dataset\": " << vididi::json_string(set.name) << ", \"test_boxes\": " << vididi::json_string(e.boxes_source)
     << ", \"test_keyframes\": " << e.test_keyframes << ", \"scored_boxes\": " << e.scored_boxes
     << ", \"file_boxes_dropped\": " << e.file_boxes_dropped << ",\n \"frame_map\": " << result_json(e.frame, e.frame_iou, set)
     << ",\n \"video_map\": [";
  for (size_t i = 0; i < e.video.size(); ++i)
    os << (i ? ",\n  " : "") << result_json(e.video[i].second, e.video[i].first, set);
  os << "],\n \"linked_tubes\": " << e.tubes.size() << ", \"training\": {\"keyframes\": " << e.training.keyframes
     << ", \"boxes\": " << e.training.boxes << ", \"feature_dim\": " << e.training.dim
     << ", \"epochs\": " << e.training.head.epochs_used() << ", \"stop\": " << vididi::json_string(e.training.head.stop_reason)
     << ", \"epoch_loss\": [";
  for (size_t i = 0; i < e.training.head.epochs.size(); ++i) os << (i ? ", " : "") << num(e.training.head.epochs[i].loss);
  os << "]}}\n";
  return os.str();
}

}  // namespace vd::eval
