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

using namespace vd::eval;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("vd_map_reference_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

bool python3_available() { return std::system("python3 -c 'import json, fractions' >/dev/null 2>&1") == 0; }

#define REQUIRE_PYTHON3()                                                                 \
  do {                                                                                    \
    if (!python3_available()) {                                                           \
      if (std::getenv("CI")) FAIL() << "python3 is missing; scripts/deps.sh installs it"; \
      GTEST_SKIP() << "python3 is missing";                                               \
    }                                                                                     \
  } while (0)

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

// ------------------------------------------------------ JSON both ways

std::string num(double x) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", x);
  return b;
}

std::string box_json(const Box& b) {
  return "[" + num(b.x1) + ", " + num(b.y1) + ", " + num(b.x2) + ", " + num(b.y2) + "]";
}

std::string case_json(const Case& k) {
  std::ostringstream s;
  s << "{\"name\": \"" << k.name << "\", \"num_classes\": " << k.num_classes;
  auto frames = [&](const std::vector<FrameBox>& v) {
    s << "[";
    for (size_t i = 0; i < v.size(); ++i)
      s << (i ? ", " : "") << "{\"video\": " << v[i].video << ", \"frame\": " << v[i].frame
        << ", \"label\": " << v[i].label << ", \"score\": " << num(v[i].score) << ", \"box\": " << box_json(v[i].box)
        << "}";
    s << "]";
  };
  auto tubes = [&](const std::vector<Tube>& v) {
    s << "[";
    for (size_t i = 0; i < v.size(); ++i) {
      s << (i ? ", " : "") << "{\"video\": " << v[i].video << ", \"label\": " << v[i].label
        << ", \"score\": " << num(v[i].score) << ", \"first_frame\": " << v[i].first_frame << ", \"boxes\": [";
      for (size_t j = 0; j < v[i].boxes.size(); ++j) s << (j ? ", " : "") << box_json(v[i].boxes[j]);
      s << "]}";
    }
    s << "]";
  };
  if (!k.frame_gt.empty()) {
    s << ", \"frame\": {\"detections\": ";
    frames(k.frame_det);
    s << ", \"ground_truth\": ";
    frames(k.frame_gt);
    s << "}";
  }
  if (!k.video_gt.empty()) {
    s << ", \"video\": {\"detections\": ";
    tubes(k.video_det);
    s << ", \"ground_truth\": ";
    tubes(k.video_gt);
    s << "}";
  }
  s << ", \"evaluations\": [";
  for (size_t i = 0; i < k.evaluations.size(); ++i) {
    const Evaluation& e = k.evaluations[i];
    s << (i ? ", " : "") << "{\"metric\": \"" << (e.video ? "video" : "frame")
      << "\", \"iou_threshold\": " << num(e.iou_threshold) << ", \"ap_rule\": \""
      << (e.rule == ApRule::Trapezoid ? "trapezoid" : "voc")
      << "\", \"inclusive_pixels\": " << (e.inclusive_pixels ? "true" : "false") << "}";
  }
  s << "]}";
  return s.str();
}

// Just enough JSON to read the reference's output (numbers, null, flat
// strings, arrays, objects).
struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  double number = 0;
  std::string str;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;
  const Json& at(const std::string& key) const {
    for (const auto& [k, v] : fields)
      if (k == key) return v;
    throw std::runtime_error("reference output: no key '" + key + "'");
  }
  const Json& at(size_t i) const {
    if (kind != Kind::Array || i >= items.size())
      throw std::runtime_error("reference output: no item " + std::to_string(i));
    return items[i];
  }
};

class JsonReader {
 public:
  explicit JsonReader(const std::string& s) : s_(s) {}
  Json document() {
    Json v = value();
    space();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("reference output: " + what + " at byte " + std::to_string(i_));
  }
  void space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool take(char c) {
    space();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  void expect(char c) {
    if (!take(c)) fail(std::string("expected '") + c + "'");
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') ++i_;
      if (i_ < s_.size()) out += s_[i_++];
    }
    expect('"');
    return out;
  }
  Json value() {
    Json v;
    space();
    if (i_ >= s_.size()) fail("unexpected end");
    if (take('{')) {
      v.kind = Json::Kind::Object;
      if (take('}')) return v;
      do {
        space();
        std::string key = string();
        expect(':');
        v.fields.emplace_back(key, value());
      } while (take(','));
      expect('}');
    } else if (take('[')) {
      v.kind = Json::Kind::Array;
      if (take(']')) return v;
      do v.items.push_back(value());
      while (take(','));
      expect(']');
    } else if (s_[i_] == '"') {
      v.kind = Json::Kind::String, v.str = string();
    } else if (s_.compare(i_, 4, "null") == 0) {
      i_ += 4;
    } else if (s_.compare(i_, 4, "true") == 0 || s_.compare(i_, 5, "false") == 0) {
      v.kind = Json::Kind::Bool, v.number = s_[i_] == 't';
      i_ += s_[i_] == 't' ? 4 : 5;
    } else {
      char* end = nullptr;
      v.kind = Json::Kind::Number, v.number = std::strtod(s_.c_str() + i_, &end);
      if (end == s_.c_str() + i_) fail("expected a value");
      i_ = size_t(end - s_.c_str());
    }
    return v;
  }
  const std::string& s_;
  size_t i_ = 0;
};

// Runs the reference on the cases; its parsed output, or a failure.
::testing::AssertionResult run_reference(const std::vector<Case>& cases, const TempDir& dir, Json* out) {
  {
    std::ofstream f(dir.file("cases.json"));
    f << "{\"cases\": [";
    for (size_t i = 0; i < cases.size(); ++i) f << (i ? ",\n" : "\n") << case_json(cases[i]);
    f << "\n]}\n";
  }
  const std::string cmd = "python3 tools/detection_map_reference.py " + dir.file("cases.json") + " " +
                          dir.file("results.json") + " > " + dir.file("log.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  auto slurp = [](const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  };
  if (rc != 0)
    return ::testing::AssertionFailure() << cmd << " exited with " << rc << ":\n" << slurp(dir.file("log.txt"));
  *out = JsonReader(slurp(dir.file("results.json"))).document();
  return ::testing::AssertionSuccess();
}

std::string describe(const Case& k, const Evaluation& e) {
  char t[16];
  std::snprintf(t, sizeof t, "%g", e.iou_threshold);
  return k.name + ", " + (e.video ? "video" : "frame") + "-mAP@" + t + ", " +
         (e.rule == ApRule::Trapezoid ? "trapezoid" : "VOC all points") +
         (e.inclusive_pixels ? ", inclusive pixels" : ", continuous");
}

struct Agreement {
  double max_diff = 0;
  int aps = 0, strictly_between = 0, nan = 0, rule_differs = 0;
};

// Compares every evaluation of every case: per-class AP (NaN <-> null),
// counts, classes with ground truth and the mean.
void expect_agreement(const std::vector<Case>& cases, const Json& ref, Agreement* a) {
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const Case& k = cases[ci];
    const Json& results = ref.at("cases").at(ci).at("results");
    ASSERT_EQ(results.items.size(), k.evaluations.size()) << k.name;
    std::vector<double> voc_maps;
    for (size_t ei = 0; ei < k.evaluations.size(); ++ei) {
      const Evaluation& e = k.evaluations[ei];
      const std::string what = describe(k, e);
      const DetectionResult mine = evaluate_cpp(k, e);
      const Json& theirs = results.at(ei);
      ASSERT_EQ(theirs.at("ap").items.size(), size_t(k.num_classes)) << what;
      for (int c = 0; c < k.num_classes; ++c) {
        const Json& ap = theirs.at("ap").at(size_t(c));
        EXPECT_EQ(double(mine.num_gt[size_t(c)]), theirs.at("num_gt").at(size_t(c)).number) << what << ", class " << c;
        EXPECT_EQ(double(mine.num_det[size_t(c)]), theirs.at("num_det").at(size_t(c)).number)
            << what << ", class " << c;
        if (std::isnan(mine.ap[size_t(c)])) {
          EXPECT_EQ(ap.kind, Json::Kind::Null) << what << ", class " << c << ": the reference gives AP " << ap.number;
          ++a->nan;
          continue;
        }
        ASSERT_EQ(ap.kind, Json::Kind::Number) << what << ", class " << c << ": C++ AP " << mine.ap[size_t(c)];
        EXPECT_NEAR(mine.ap[size_t(c)], ap.number, 1e-9) << what << ", class " << c;
        a->max_diff = std::max(a->max_diff, std::fabs(mine.ap[size_t(c)] - ap.number));
        ++a->aps;
        if (ap.number > 0 && ap.number < 1) ++a->strictly_between;
      }
      EXPECT_EQ(double(mine.classes_with_gt), theirs.at("classes_with_gt").number) << what;
      EXPECT_NEAR(mine.map, theirs.at("map").number, 1e-9) << what;
      a->max_diff = std::max(a->max_diff, std::fabs(mine.map - theirs.at("map").number));
      // Evaluations come in (VOC, trapezoid) pairs per threshold and convention.
      if (e.rule == ApRule::VocAllPoints)
        voc_maps.push_back(mine.map);
      else if (!voc_maps.empty() && voc_maps.back() != mine.map)
        ++a->rule_differs;
    }
  }
}

Tube slid(int64_t video, int label, double score, int64_t first, int n, Box b) {
  Tube t;
  t.video = video, t.label = label, t.score = score, t.first_frame = first;
  t.boxes.assign(size_t(n), b);
  return t;
}

}  // namespace

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
  TempDir dir;
  Json ref;
  ASSERT_TRUE(run_reference(cases, dir, &ref));
  Agreement a;
  expect_agreement(cases, ref, &a);
  EXPECT_EQ(a.aps, 8 * 8 * 4);  // 8 cases x 8 evaluations x 4 classes with ground truth
  EXPECT_GT(a.strictly_between, a.aps / 2);
  EXPECT_GT(a.rule_differs, 0);
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
  TempDir dir;
  Json ref;
  ASSERT_TRUE(run_reference(cases, dir, &ref));
  Agreement a;
  expect_agreement(cases, ref, &a);
  EXPECT_EQ(a.aps, 8 * 12 * 4);  // 8 cases x 12 evaluations x 4 classes with ground truth
  EXPECT_GT(a.strictly_between, a.aps / 2);
  EXPECT_GT(a.rule_differs, 0);
  std::printf(
      "video-mAP: %d APs and %zu means, max |C++ - reference| %.3g; partial temporal overlaps %d, tube IoU "
      "= 1/2 %d, = 1/5 %d, score ties across videos %d, IoU ties between ground truths %d\n",
      a.aps, size_t(8 * 12), a.max_diff, partial, at_half, at_fifth, ties_across_videos, iou_ties);
}
