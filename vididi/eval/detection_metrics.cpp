// vididi/eval/detection_metrics.cpp: box and tube IoU, AP (VOC2010+
// all-points or ACT's trapezoid) and the frame-/video-mAP matching loop,
// shared by both through one greedy matcher over ranked detections.
#include "vididi/eval/detection_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include "core/errors.h"

namespace vd::eval {

double box_area(const Box& b, bool inclusive_pixels) {
  const double e = inclusive_pixels ? 1.0 : 0.0;
  return std::max(0.0, b.x2 - b.x1 + e) * std::max(0.0, b.y2 - b.y1 + e);
}

double iou(const Box& a, const Box& b, bool inclusive_pixels) {
  const double e = inclusive_pixels ? 1.0 : 0.0;
  const double w = std::max(0.0, std::min(a.x2, b.x2) - std::max(a.x1, b.x1) + e);
  const double h = std::max(0.0, std::min(a.y2, b.y2) - std::max(a.y1, b.y1) + e);
  const double inter = w * h;
  const double uni = box_area(a, inclusive_pixels) + box_area(b, inclusive_pixels) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

double average_precision(const std::vector<bool>& tp, int64_t num_gt, ApRule rule) {
  VD_CHECK(num_gt > 0, "average_precision: expected a positive count of ground truth, got " << num_gt);
  const size_t n = tp.size();
  std::vector<double> rec(n), prec(n);
  int64_t hits = 0;
  for (size_t i = 0; i < n; ++i) {
    hits += tp[i] ? 1 : 0;
    rec[i] = double(hits) / double(num_gt);
    prec[i] = double(hits) / double(i + 1);
  }
  double ap = 0;
  if (rule == ApRule::Trapezoid) {  // ACT: pr = [(1, 0), (prec_i, rec_i)...]
    double r0 = 0, p0 = 1;
    for (size_t i = 0; i < n; ++i) {
      ap += (rec[i] - r0) * (prec[i] + p0) * 0.5;
      r0 = rec[i], p0 = prec[i];
    }
    return ap;
  }
  // VOC2010+: mrec = [0, rec, 1], mpre = [0, prec, 0]; mpre made
  // non-increasing from the right; sum of (mrec[i] - mrec[i-1]) mpre[i]
  // where recall changes.
  std::vector<double> mrec(n + 2), mpre(n + 2);
  mrec[0] = 0, mpre[0] = 0, mrec[n + 1] = 1, mpre[n + 1] = 0;
  for (size_t i = 0; i < n; ++i) mrec[i + 1] = rec[i], mpre[i + 1] = prec[i];
  for (size_t i = n + 1; i > 0; --i) mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);
  for (size_t i = 1; i < n + 2; ++i)
    if (mrec[i] != mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
  return ap;
}

double temporal_iou(const Tube& a, const Tube& b) {
  const int64_t lo = std::max(a.first_frame, b.first_frame), hi = std::min(a.last_frame(), b.last_frame());
  if (hi < lo) return 0.0;
  const int64_t span = std::max(a.last_frame(), b.last_frame()) - std::min(a.first_frame, b.first_frame) + 1;
  return double(hi - lo + 1) / double(span);
}

double tube_iou(const Tube& a, const Tube& b, bool inclusive_pixels) {
  const int64_t lo = std::max(a.first_frame, b.first_frame), hi = std::min(a.last_frame(), b.last_frame());
  if (hi < lo) return 0.0;
  double sum = 0;
  for (int64_t t = lo; t <= hi; ++t)
    sum += iou(a.boxes[size_t(t - a.first_frame)], b.boxes[size_t(t - b.first_frame)], inclusive_pixels);
  return temporal_iou(a, b) * sum / double(hi - lo + 1);
}

namespace {

// One class's ground truth, grouped by key (keyframe or video), and whether
// each is matched yet.
struct Pool {
  std::vector<size_t> items;
  std::vector<bool> matched;
};

// The matching loop of both metrics. key(i) / gt_key(j) name the frame or
// video; overlap(i, j) is IoU of detection i with ground truth j.
template <class Det, class Gt, class Key, class Overlap>
DetectionResult evaluate(const std::vector<Det>& dets, const std::vector<Gt>& gts, int num_classes,
                         const DetectionMetricOptions& opt, Key key, Overlap overlap, const char* what) {
  VD_CHECK(num_classes > 0, what << ": expected num_classes > 0, got " << num_classes);
  VD_CHECK(opt.iou_threshold >= 0 && opt.iou_threshold <= 1,
           what << ": expected an IoU threshold in [0, 1], got " << opt.iou_threshold);
  for (size_t i = 0; i < dets.size(); ++i) {
    VD_CHECK(dets[i].label >= 0 && dets[i].label < num_classes,
             what << ": expected detection labels in [0, " << num_classes << "), got " << dets[i].label
                  << " (detection " << i << ")");
    VD_CHECK(std::isfinite(dets[i].score),
             what << ": expected finite scores, got " << dets[i].score << " (detection " << i << ")");
  }
  for (size_t j = 0; j < gts.size(); ++j)
    VD_CHECK(gts[j].label >= 0 && gts[j].label < num_classes,
             what << ": expected ground-truth labels in [0, " << num_classes << "), got " << gts[j].label
                  << " (ground truth " << j << ")");
  VD_CHECK(!gts.empty(), what << ": expected at least one ground-truth box or tube, got none");

  DetectionResult res;
  res.ap.assign(size_t(num_classes), std::numeric_limits<double>::quiet_NaN());
  res.num_gt.assign(size_t(num_classes), 0);
  res.num_det.assign(size_t(num_classes), 0);
  for (const Gt& g : gts) ++res.num_gt[size_t(g.label)];
  for (const Det& d : dets) ++res.num_det[size_t(d.label)];
  double total = 0;
  for (int c = 0; c < num_classes; ++c) {
    if (res.num_gt[size_t(c)] == 0) continue;  // excluded from the mean
    std::map<std::pair<int64_t, int64_t>, Pool> pools;
    for (size_t j = 0; j < gts.size(); ++j)
      if (gts[j].label == c) {
        Pool& p = pools[key(gts[j])];
        p.items.push_back(j);
        p.matched.push_back(false);
      }
    std::vector<size_t> order;
    for (size_t i = 0; i < dets.size(); ++i)
      if (dets[i].label == c) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return dets[a].score > dets[b].score; });
    std::vector<bool> tp;
    tp.reserve(order.size());
    for (size_t i : order) {
      bool hit = false;
      auto it = pools.find(key(dets[i]));
      if (it != pools.end()) {
        Pool& p = it->second;
        double best = -1;
        size_t arg = 0;
        for (size_t k = 0; k < p.items.size(); ++k) {
          if (p.matched[k]) continue;
          const double o = overlap(dets[i], gts[p.items[k]]);
          if (o > best) best = o, arg = k;
        }
        if (best >= opt.iou_threshold) {
          p.matched[arg] = true;
          hit = true;
        }
      }
      tp.push_back(hit);
    }
    res.ap[size_t(c)] = average_precision(tp, res.num_gt[size_t(c)], opt.ap_rule);
    total += res.ap[size_t(c)];
    ++res.classes_with_gt;
  }
  res.map = total / double(res.classes_with_gt);
  return res;
}

}  // namespace

DetectionResult frame_map(const std::vector<FrameBox>& detections, const std::vector<FrameBox>& ground_truth,
                          int num_classes, const DetectionMetricOptions& opt) {
  return evaluate(
      detections, ground_truth, num_classes, opt, [](const FrameBox& b) { return std::make_pair(b.video, b.frame); },
      [&](const FrameBox& d, const FrameBox& g) { return iou(d.box, g.box, opt.inclusive_pixels); }, "frame_map");
}

DetectionResult video_map(const std::vector<Tube>& detections, const std::vector<Tube>& ground_truth,
                          int num_classes, const DetectionMetricOptions& opt) {
  for (const auto* set : {&detections, &ground_truth})
    for (size_t i = 0; i < set->size(); ++i)
      VD_CHECK(!(*set)[i].boxes.empty(), "video_map: expected tubes with at least one box, got an empty "
                                             << (set == &detections ? "detection " : "ground-truth ") << i);
  return evaluate(
      detections, ground_truth, num_classes, opt, [](const Tube& t) { return std::make_pair(t.video, int64_t(0)); },
      [&](const Tube& d, const Tube& g) { return tube_iou(d, g, opt.inclusive_pixels); }, "video_map");
}

}  // namespace vd::eval
