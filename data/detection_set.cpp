// data/detection_set.cpp: keyframes from tubes, the synthetic detection set,
// the detections-file reader and the field parsers the readers share (see
// detection_set.h).
#include "data/detection_set.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "data/error.h"

namespace vd::data {

long DetectionSplit::find(const std::string& name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return long(i);
  return -1;
}

std::vector<KeyframeBoxes> tube_keyframes(const DetectionSplit& split, int stride, bool with_boxes_only) {
  if (stride < 1) fail("tube_keyframes", "expected a keyframe stride >= 1, got " + std::to_string(stride));
  std::map<std::pair<size_t, int>, KeyframeBoxes> by_frame;
  if (!with_boxes_only)
    for (size_t v = 0; v < split.size(); ++v)
      for (int f = 0; f < split.frames->num_frames(v); f += stride) by_frame[{v, f}] = KeyframeBoxes{v, f, {}, {}};
  for (const TubeBoxes& t : split.tubes)
    for (size_t i = 0; i < t.boxes.size(); ++i) {
      const int f = t.first_frame + int(i);
      if (f % stride != 0) continue;
      KeyframeBoxes& k = by_frame[{t.video, f}];
      k.video = t.video, k.frame = f;
      k.boxes.push_back(t.boxes[i]);
      k.labels.push_back({t.label});
    }
  std::vector<KeyframeBoxes> out;
  for (auto& [key, k] : by_frame) out.push_back(std::move(k));
  return out;
}

namespace {
DetectionSplit synthetic_split(const SyntheticConfig& c, int stride) {
  auto src = std::make_shared<SyntheticDynamics>(c);
  DetectionSplit s;
  s.frames = src;
  for (size_t v = 0; v < src->size(); ++v) {
    s.names.push_back(src->video_path(v));
    s.width.push_back(c.width);
    s.height.push_back(c.height);
    const std::vector<std::vector<Box>> boxes = src->object_boxes(v);
    const std::vector<int> labels = src->object_labels(v);
    for (size_t j = 0; j < boxes.size(); ++j) s.tubes.push_back(TubeBoxes{v, labels[j], 0, boxes[j]});
  }
  s.keyframes = tube_keyframes(s, stride, false);
  return s;
}
}  // namespace

DetectionSet synthetic_detection_set(const SyntheticConfig& train, const SyntheticConfig& test, int stride) {
  DetectionSet d;
  d.name = "synthetic dynamics";
  d.classes = SyntheticDynamics::motion_classes();
  d.has_tubes = true;
  d.train = synthetic_split(train, stride);
  d.test = synthetic_split(test, stride);
  return d;
}

int ava_frame(double timestamp, const DetectionTime& t) {
  return int(std::lround((timestamp - t.start_sec) * t.fps));
}

// --- field parsers ----------------------------------------------------------------

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> f;
  std::string cur;
  auto trim = [](std::string s) {
    const auto a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  };
  for (char c : line) {
    if (c == ',') f.push_back(trim(cur)), cur.clear();
    else cur += c;
  }
  f.push_back(trim(cur));
  return f;
}

double parse_number(const std::string& s, const std::string& where, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  const bool hex = s.find_first_of("xX") != std::string::npos;
  if (s.empty() || hex || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v))
    fail(where, "expected a finite decimal number for " + what + ", got '" + s + "'",
         "check the column order of the line");
  return v;
}

long parse_integer(const std::string& s, const std::string& where, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long v = s.empty() ? 0 : std::strtol(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE)
    fail(where, "expected an integer for " + what + ", got '" + s + "'", "check the column order of the line");
  return v;
}

void check_box(const Box& b, double w, double h, const std::string& where, const std::string& hint) {
  std::ostringstream box;
  box << "(" << b.x1 << ", " << b.y1 << ", " << b.x2 << ", " << b.y2 << ")";
  if (b.x2 < b.x1 || b.y2 < b.y1)
    fail(where, "box " + box.str() + " has x2 < x1 or y2 < y1 (expected x1 <= x2 and y1 <= y2)",
         "boxes are x1,y1,x2,y2 (top-left, bottom-right); " + hint);
  if (b.x1 < 0 || b.y1 < 0 || b.x2 > w || b.y2 > h) {
    std::ostringstream frame;
    frame << w << " x " << h;
    fail(where, "box " + box.str() + " lies outside the " + frame.str() + " frame", hint);
  }
}

// --- detections file --------------------------------------------------------------

std::vector<DetectedBox> parse_detections_csv(const std::string& text, const std::string& path,
                                              const DetectionSplit& split, const DetectionTime& time) {
  std::vector<DetectedBox> out;
  std::map<std::string, size_t> index;
  for (size_t v = 0; v < split.size(); ++v) index[split.names[v]] = v;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = path + ":" + std::to_string(n);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::vector<std::string> f = split_csv_line(line);
    if (f.size() != 8)
      fail(where, "expected 8 fields video_id,time,x1,y1,x2,y2,action_id,score, got " + std::to_string(f.size()),
           "the format of AVA's released person detections (action_id may be empty)");
    const auto it = index.find(f[0]);
    if (it == index.end())
      fail(where, "unknown video '" + f[0] + "': not in the test split (" + std::to_string(split.size()) +
                      " videos)", "detections name the test split's videos by their annotation ids");
    const size_t v = it->second;
    const double t = parse_number(f[1], where, time.ava ? "the timestamp" : "the frame number");
    int frame = 0;
    if (time.ava) {
      frame = ava_frame(t, time);
    } else {
      if (t != std::floor(t)) fail(where, "expected an integer frame number, got '" + f[1] + "'");
      frame = int(t) - 1;
    }
    const int frames = split.frames->num_frames(v);
    if (frame < 0 || frame >= frames)
      fail(where, "frame out of range: " + std::string(time.ava ? "timestamp " : "frame ") + f[1] + " is frame " +
                      std::to_string(frame) + " (0-based) of video '" + f[0] + "', which has " +
                      std::to_string(frames) + " frames",
           time.ava ? "check ava_fps and ava_start_sec against the frame extraction"
                    : "frame numbers start at 1 (img_00001.jpg)");
    Box b{parse_number(f[2], where, "x1"), parse_number(f[3], where, "y1"), parse_number(f[4], where, "x2"),
          parse_number(f[5], where, "y2")};
    check_box(b, 1, 1, where, "detection coordinates are normalised to [0, 1]");
    const double score = parse_number(f[7], where, "the score");
    b.x1 *= split.width[v], b.x2 *= split.width[v], b.y1 *= split.height[v], b.y2 *= split.height[v];
    out.push_back(DetectedBox{v, frame, b, score});
  }
  return out;
}

std::vector<DetectedBox> read_detections_csv(const std::string& path, const DetectionSplit& split,
                                             const DetectionTime& time) {
  std::ifstream f(path);
  if (!f) fail(path, "cannot open the detections file", "give test_boxes_file the path of a CSV of detections");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_detections_csv(ss.str(), path, split, time);
}

}  // namespace vd::data
