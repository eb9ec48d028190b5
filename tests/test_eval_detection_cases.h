// tests/test_eval_detection_cases.h: the seeded random cases of
// tests/test_eval_detection_reference.cpp (frame detections with ties,
// duplicates, IoU at 0.5, classes without ground truth; tubes with partial
// temporal overlap and tube IoU 1/2 and 1/5) and the C++ evaluations of
// each. Not the comparison itself (test_eval_detection_reference_util.h).
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vididi/eval/detection_metrics.h"


namespace {  // helpers of one test file

using namespace vd::eval;

// ------------------------------------------------------------ the cases

struct Evaluation {
  bool video = false;  // video-mAP, else frame-mAP
  double iou_threshold = 0.5;
  ApRule rule = ApRule::VocAllPoints;
  bool inclusive_pixels = false;
};

struct Case {
  std::string name;
  int num_classes = 0;
  std::vector<FrameBox> frame_det, frame_gt;
  std::vector<Tube> video_det, video_gt;
  std::vector<Evaluation> evaluations;
};

DetectionResult evaluate_cpp(const Case& k, const Evaluation& e) {
  DetectionMetricOptions o;
  o.iou_threshold = e.iou_threshold, o.ap_rule = e.rule, o.inclusive_pixels = e.inclusive_pixels;
  return e.video ? video_map(k.video_det, k.video_gt, k.num_classes, o)
                 : frame_map(k.frame_det, k.frame_gt, k.num_classes, o);
}

void add_evaluations(Case& k, bool video, const std::vector<double>& thresholds) {
  for (double t : thresholds)
    for (bool inclusive : {false, true})
      for (ApRule rule : {ApRule::VocAllPoints, ApRule::Trapezoid})
        k.evaluations.push_back({video, t, rule, inclusive});
}

// A seeded generator whose draws do not depend on the standard library's
// distributions.
struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int below(int n) { return int(g() % uint64_t(n)); }
  double score() { return double(1 + below(16)) / 16.0; }  // exact ties are frequent
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(below(int(i)))]);
  }
  Box box() {  // integer or half-integer corners: every IoU is exact enough (see below)
    const double x1 = below(40) + 0.5 * below(2), y1 = below(40), w = 6 + below(18), h = 6 + below(18);
    return {x1, y1, x1 + w, y1 + h};
  }
};

FrameBox frame_box(int64_t video, int64_t frame, int label, double score, Box b) {
  FrameBox f;
  f.video = video, f.frame = frame, f.label = label, f.score = score, f.box = b;
  return f;
}

FrameBox gt_box(int64_t v, int64_t f, int c, Box b) { return frame_box(v, f, c, 0, b); }

// Frame-mAP. Coordinates are multiples of 1/2 below 100, so areas and
// intersections are exact in double and an IoU is a ratio of small exact
// numbers, correctly rounded: the C++ and the exact reference cannot fall on
// different sides of a threshold, nor break an IoU tie differently.
Case random_frame_case(uint64_t seed) {
  Rng r(seed);
  Case k;
  k.name = "frame seed " + std::to_string(seed);
  k.num_classes = 6;
  // Roles: 0-2 ordinary; 3 detections without ground truth; 4 ground truth
  // without detections; 5 neither.
  std::vector<int> cls = {0, 1, 2, 3, 4, 5};
  r.shuffle(cls);
  const int kVideos = 3, kFrames = 4;
  for (int v = 0; v < kVideos; ++v)
    for (int f = 0; f < kFrames; ++f)
      for (int role : {0, 1, 2, 4}) {
        const int n = r.below(3);
        for (int i = 0; i < n; ++i) {
          k.frame_gt.push_back(frame_box(v, 2 * f + 1, cls[size_t(role)], 0, r.box()));
          if (r.below(12) == 0) k.frame_gt.push_back(k.frame_gt.back());  // duplicate ground truth
        }
      }
  for (int role : {0, 1, 2, 4})
    if (std::none_of(k.frame_gt.begin(), k.frame_gt.end(),
                     [&](const FrameBox& g) { return g.label == cls[size_t(role)]; }))
      k.frame_gt.push_back(frame_box(0, 1, cls[size_t(role)], 0, r.box()));
  for (const FrameBox& g : k.frame_gt) {
    if (g.label == cls[4]) continue;
    FrameBox d = g;
    d.score = r.score();
    const double w = g.box.x2 - g.box.x1;
    switch (r.below(9)) {
      case 0:  // exact
        k.frame_det.push_back(d);
        break;
      case 1: {  // shifted by about a third of the width: IoU (w - s) / (w + s), 1/2 at s = w / 3
        const double s = std::floor(w / 3) + r.below(3) - 1;
        d.box.x1 += s, d.box.x2 += s;
        k.frame_det.push_back(d);
        break;
      }
      case 2:  // jittered corners
        d.box = {g.box.x1 + r.below(5) - 2, g.box.y1 + r.below(5) - 2, g.box.x2 + r.below(5) - 2,
                 g.box.y2 + r.below(5) - 2};
        k.frame_det.push_back(d);
        break;
      case 3:  // duplicates: the copy, another exact one and a jittered one
        k.frame_det.push_back(d);
        d.score = r.score();
        k.frame_det.push_back(d);
        d.score = r.score(), d.box.x1 += 1, d.box.y2 -= 1;
        k.frame_det.push_back(d);
        break;
      case 4:  // another keyframe of the video (with or without ground truth)
        d.frame = 2 * r.below(kFrames + 1) + 1;
        if (d.frame == g.frame) d.frame += 2;
        k.frame_det.push_back(d);
        break;
      case 5:  // another video
        d.video = (g.video + 1 + r.below(kVideos)) % (kVideos + 1);
        k.frame_det.push_back(d);
        break;
      case 6:  // missed
        break;
      case 7:  // a class drawn again: the one without ground truth, or an ordinary one (maybe its own)
        d.label = r.below(2) ? cls[3] : cls[size_t(r.below(3))];
        k.frame_det.push_back(d);
        break;
      case 8:  // zero width
        d.box.x2 = d.box.x1;
        k.frame_det.push_back(d);
        break;
    }
  }
  // IoU ties: two ground truths a shift of 2a apart, a detection halfway
  // (IoU (w - a) / (w + a) with both) ranked first, then a copy of one of
  // them: the first detection takes the first of the two in input order.
  for (int i = 0; i < 3; ++i) {
    const int64_t v = r.below(kVideos), f = 2 * kFrames + 3 + 2 * i;  // keyframes of their own
    const int c = cls[size_t(r.below(3))];
    Box g1 = r.box();
    const double a = 1 + r.below(int(g1.x2 - g1.x1) / 3);
    Box g2 = {g1.x1 + 2 * a, g1.y1, g1.x2 + 2 * a, g1.y2};
    if (r.below(2)) std::swap(g1, g2);
    k.frame_gt.push_back(gt_box(v, f, c, g1));
    k.frame_gt.push_back(gt_box(v, f, c, g2));
    k.frame_det.push_back(frame_box(v, f, c, 17.0 / 16.0, {(g1.x1 + g2.x1) / 2, g1.y1, (g1.x2 + g2.x2) / 2, g1.y2}));
    k.frame_det.push_back(frame_box(v, f, c, r.score(), r.below(2) ? g1 : g2));
  }
  for (int i = 0, n = 6 + r.below(6); i < n; ++i)  // false positives anywhere, two at least in the class without gt
    k.frame_det.push_back(
        frame_box(r.below(kVideos), 2 * r.below(kFrames) + 1, cls[size_t(i < 2 ? 3 : r.below(4))], r.score(), r.box()));
  r.shuffle(k.frame_det);
  add_evaluations(k, false, {0.5, 0.3});
  return k;
}

// Video-mAP. A tube follows a box sliding by (dx, dy) per frame from the
// ground truth's first frame; detections cut from the same motion share
// its boxes on every common frame, so their spatio-temporal IoU is the
// temporal one exactly (common / spanned frames: 1/2 and 1/5 by design).
struct Motion {
  Box b;
  int64_t t0;
  double dx, dy;
  Box at(int64_t t) const {
    const double s = double(t - t0);
    return {b.x1 + dx * s, b.y1 + dy * s, b.x2 + dx * s, b.y2 + dy * s};
  }
};

Tube cut(const Motion& m, int64_t video, int label, double score, int64_t first, int64_t len) {
  Tube t;
  t.video = video, t.label = label, t.score = score, t.first_frame = first;
  for (int64_t i = 0; i < len; ++i) t.boxes.push_back(m.at(first + i));
  return t;
}

bool same_boxes_on_common_frames(const Tube& a, const Tube& b) {
  for (int64_t t = std::max(a.first_frame, b.first_frame); t <= std::min(a.last_frame(), b.last_frame()); ++t)
    if (!(a.boxes[size_t(t - a.first_frame)] == b.boxes[size_t(t - b.first_frame)])) return false;
  return true;
}

bool same_tube(const Tube& a, const Tube& b) {
  return a.first_frame == b.first_frame && a.boxes.size() == b.boxes.size() && same_boxes_on_common_frames(a, b);
}

// A tube IoU is a product and a mean of roundings: for a detection with
// jittered boxes the C++ value can sit on the other side of a threshold, or
// of a tie, than the exact one when they are within rounding of each other.
// Such a detection (none is expected; the check only keeps the comparison
// about the definition) is left out. An IoU of 0, or from identical boxes on
// every common frame (common / spanned, times exactly 1), is exact enough.
bool ambiguous(const Tube& d, const std::vector<Tube>& gts, const std::vector<double>& thresholds) {
  std::vector<const Tube*> mine;
  for (const Tube& g : gts)
    if (g.label == d.label && g.video == d.video) mine.push_back(&g);
  for (bool inclusive : {false, true}) {
    std::vector<double> o;
    std::vector<bool> exact;
    for (const Tube* g : mine) {
      o.push_back(tube_iou(d, *g, inclusive));
      exact.push_back(o.back() == 0 || same_boxes_on_common_frames(d, *g));
      if (!exact.back())
        for (double t : thresholds)
          if (std::fabs(o.back() - t) < 1e-9) return true;
    }
    for (size_t i = 0; i < o.size(); ++i)
      for (size_t j = i + 1; j < o.size(); ++j)
        if (std::fabs(o[i] - o[j]) < 1e-9 && !(exact[i] && exact[j]) && !same_tube(*mine[i], *mine[j])) return true;
  }
  return false;
}

Case random_video_case(uint64_t seed, int* dropped) {
  Rng r(seed);
  Case k;
  k.name = "video seed " + std::to_string(seed);
  k.num_classes = 5;
  // Roles: 0-2 ordinary; 3 detections without ground truth; 4 ground truth
  // without detections.
  std::vector<int> cls = {0, 1, 2, 3, 4};
  r.shuffle(cls);
  const int kVideos = 4;
  const std::vector<double> thresholds = {0.2, 0.5, 0.75};
  std::vector<Motion> motion;  // of each ground-truth tube
  auto add_gt = [&](int64_t v, int c) {
    const Motion m{r.box(), r.below(12), double(r.below(3) - 1), double(r.below(3) - 1)};
    const int64_t len = 2 + r.below(14);
    k.video_gt.push_back(cut(m, v, c, 0, m.t0, len));
    motion.push_back(m);
    if (r.below(12) == 0) k.video_gt.push_back(k.video_gt.back()), motion.push_back(m);  // duplicate
  };
  for (int v = 0; v < kVideos; ++v)
    for (int role : {0, 1, 2, 4})
      for (int i = 0, n = r.below(3); i < n; ++i) add_gt(v, cls[size_t(role)]);
  for (int role : {0, 1, 2, 4})
    if (std::none_of(k.video_gt.begin(), k.video_gt.end(), [&](const Tube& g) { return g.label == cls[size_t(role)]; }))
      add_gt(0, cls[size_t(role)]);
  std::vector<Tube> dets;
  for (size_t gi = 0; gi < k.video_gt.size(); ++gi) {
    const Tube& g = k.video_gt[gi];
    const Motion& m = motion[gi];
    if (g.label == cls[4]) continue;
    const int64_t len = int64_t(g.boxes.size());
    auto jitter = [&](Tube t) {
      for (Box& b : t.boxes)
        b = {b.x1 + r.below(3) - 1, b.y1 + r.below(3) - 1, b.x2 + r.below(3) - 1, b.y2 + r.below(3) - 1};
      return t;
    };
    const int64_t shift = len > 1 ? (1 + r.below(int(len - 1))) * (r.below(2) ? 1 : -1) : 1;
    switch (r.below(10)) {
      case 0:  // exact
        dets.push_back(cut(m, g.video, g.label, r.score(), g.first_frame, len));
        break;
      case 1:  // half of it: IoU 1/2 (odd lengths: a little over or under)
        dets.push_back(cut(m, g.video, g.label, r.score(), g.first_frame + (r.below(2) ? 0 : len / 2),
                           std::max<int64_t>(1, len / 2)));
        break;
      case 2:  // a fifth of it, or the gt inside a 5x longer detection: IoU 1/5 when len divides by 5
        if (r.below(2))
          dets.push_back(cut(m, g.video, g.label, r.score(), g.first_frame + r.below(int(len - len / 5 + 1)),
                             std::max<int64_t>(1, len / 5)));
        else
          dets.push_back(cut(m, g.video, g.label, r.score(), g.first_frame - r.below(int(4 * len + 1)), 5 * len));
        break;
      case 3:  // shifted in time
        dets.push_back(cut(m, g.video, g.label, r.score(), g.first_frame + shift, len));
        break;
      case 4:  // jittered boxes, same frames
        dets.push_back(jitter(cut(m, g.video, g.label, r.score(), g.first_frame, len)));
        break;
      case 5:  // shifted and jittered
        dets.push_back(jitter(cut(m, g.video, g.label, r.score(), g.first_frame + shift, len)));
        break;
      case 6:  // duplicates: exact and shifted
        dets.push_back(cut(m, g.video, g.label, r.score(), g.first_frame, len));
        dets.push_back(cut(m, g.video, g.label, r.score(), g.first_frame + shift, len));
        break;
      case 7:  // another video
        dets.push_back(
            cut(m, (g.video + 1 + r.below(kVideos)) % (kVideos + 1), g.label, r.score(), g.first_frame, len));
        break;
      case 8:  // missed
        break;
      case 9:  // a class drawn again (maybe its own)
        dets.push_back(cut(m, g.video, r.below(2) ? cls[3] : cls[size_t(r.below(3))], r.score(), g.first_frame, len));
        break;
    }
  }
  // Ties in tube IoU: two ground truths of one motion, one after the other,
  // a detection across their junction (h frames in each: IoU h / (len + h)
  // with both) ranked first, then a copy of one of them.
  for (int i = 0; i < 3; ++i) {
    const int64_t v = kVideos + 1 + i, len = 3 + r.below(8), h = 1 + r.below(int(len));
    const int c = cls[size_t(r.below(3))];
    const Motion m{r.box(), 0, double(r.below(3) - 1), double(r.below(3) - 1)};
    const int64_t first = r.below(2) ? 0 : len, second = len - first;
    k.video_gt.push_back(cut(m, v, c, 0, first, len));
    k.video_gt.push_back(cut(m, v, c, 0, second, len));
    dets.push_back(cut(m, v, c, 17.0 / 16.0, len - h, 2 * h));
    dets.push_back(cut(m, v, c, r.score(), r.below(2) ? first : second, len));
  }
  for (int i = 0, n = 4 + r.below(5); i < n; ++i) {  // false positives anywhere, two at least in the class without gt
    const Motion m{r.box(), r.below(12), double(r.below(3) - 1), 0};
    dets.push_back(cut(m, r.below(kVideos), cls[size_t(i < 2 ? 3 : r.below(4))], r.score(), m.t0, 2 + r.below(10)));
  }
  for (const Tube& d : dets) {
    if (ambiguous(d, k.video_gt, thresholds)) {
      ++*dropped;
      continue;
    }
    k.video_det.push_back(d);
  }
  r.shuffle(k.video_det);
  add_evaluations(k, true, thresholds);
  return k;
}

}  // namespace
