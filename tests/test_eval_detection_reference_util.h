// tests/test_eval_detection_reference_util.h: the comparison side of
// tests/test_eval_detection_reference.cpp: a temporary folder, the python3
// rule (fail in CI, skip elsewhere), the cases written as JSON for
// tools/detection_map_reference.py, its answer read back, and the
// agreement check. Not the cases (test_eval_detection_cases.h).
#pragma once
#include "tests/test_eval_detection_cases.h"

namespace fs = std::filesystem;

namespace {  // helpers of one test file


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

// Runs the reference on `cases` and checks the agreement: `aps` per-class
// APs compared, most strictly between 0 and 1, and the two AP rules
// differing somewhere (so that both were really exercised).
Agreement compare_with_reference(const std::vector<Case>& cases, int aps) {
  TempDir dir;
  Json ref;
  Agreement a;
  const bool ran = run_reference(cases, dir, &ref);
  EXPECT_TRUE(ran);
  if (!ran) return a;
  expect_agreement(cases, ref, &a);
  EXPECT_EQ(a.aps, aps);
  EXPECT_GT(a.strictly_between, a.aps / 2);
  EXPECT_GT(a.rule_differs, 0);
  return a;
}

}  // namespace
