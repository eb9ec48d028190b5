// data/splits.cpp: parsing of UCF101, HMDB51 and Kinetics-style split files.
// Each reader goes line by line (CRLF tolerated, blank lines skipped) and
// reports the first bad line as "file:line: expected ..., got '...'".
#include "data/splits.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "data/error.h"

namespace vd::data {
namespace {

struct Line {
  int number;
  std::string text;  // trimmed
};

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

std::vector<Line> read_lines(const std::string& path, const std::string& hint) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail(path, "expected a split file, got a folder", "name the file inside it (e.g. trainlist01.txt)");
  std::ifstream f(path);
  if (!f) fail(path, "cannot open split file", hint);
  std::vector<Line> lines;
  std::string s;
  for (int n = 1; std::getline(f, s); ++n) {
    if (s.find('\0') != std::string::npos)
      fail(path + ":" + std::to_string(n), "expected text, got a NUL byte at column " +
                                               std::to_string(s.find('\0') + 1), "the file is binary or damaged");
    s = trim(s);
    if (!s.empty()) lines.push_back({n, s});
  }
  return lines;
}

std::vector<std::string> fields(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

[[noreturn]] void bad_line(const std::string& path, const Line& l, const std::string& expected,
                           const std::string& hint) {
  fail(path + ":" + std::to_string(l.number), "expected " + expected + ", got '" + l.text + "'",
       hint);
}

bool parse_int(const std::string& s, int& v) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  v = std::stoi(s);
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string class_folder(const std::string& rel) {
  size_t slash = rel.find('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

const char* kUcfHint = "UCF101 split files come from UCF101TrainTestSplits-RecognitionTask.zip "
                       "(folder ucfTrainTestlist); pass that folder";

}  // namespace

std::string strip_video_extension(const std::string& path) {
  static const char* exts[] = {".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg"};
  std::string low = lower(path);
  for (const char* e : exts) {
    std::string ext(e);
    if (low.size() > ext.size() && low.compare(low.size() - ext.size(), ext.size(), ext) == 0)
      return path.substr(0, path.size() - ext.size());
  }
  return path;
}

std::vector<std::string> read_ucf101_classes(const std::string& path) {
  std::vector<std::string> classes;
  for (const Line& l : read_lines(path, kUcfHint)) {
    std::vector<std::string> f = fields(l.text);
    int idx = 0;
    if (f.size() != 2 || !parse_int(f[0], idx) || idx != int(classes.size()) + 1)
      bad_line(path, l, "'" + std::to_string(classes.size() + 1) + " <ClassName>'",
               "classInd.txt lists classes 1..101 in order, one per line");
    classes.push_back(f[1]);
  }
  if (classes.empty()) fail(path, "expected class lines '1 ApplyEyeMakeup', got an empty file", kUcfHint);
  return classes;
}

SplitList read_ucf101_split(const std::string& dir, int split, Subset subset) {
  if (split < 1 || split > 3)
    fail(dir, "expected UCF101 split 1, 2 or 3, got " + std::to_string(split));
  SplitList out;
  out.classes = read_ucf101_classes(dir + "/classInd.txt");
  std::map<std::string, int> by_name;  // lower-case: the files spell HandStandPushups two ways
  for (size_t i = 0; i < out.classes.size(); ++i) by_name[lower(out.classes[i])] = int(i);
  const bool train = subset == Subset::train;
  const std::string path = dir + (train ? "/trainlist0" : "/testlist0") + std::to_string(split) + ".txt";
  const std::string expected = train ? "'<Class>/<video>.avi <label 1.." +
                                           std::to_string(out.classes.size()) + ">'"
                                     : "'<Class>/<video>.avi'";
  for (const Line& l : read_lines(path, kUcfHint)) {
    std::vector<std::string> f = fields(l.text);
    auto it = f.empty() ? by_name.end() : by_name.find(lower(class_folder(f[0])));
    if (f.size() != (train ? 2u : 1u) || it == by_name.end())
      bad_line(path, l, expected + " with a class from classInd.txt", kUcfHint);
    int label = it->second;
    if (train) {
      int given = 0;
      if (!parse_int(f[1], given) || given - 1 != label)
        bad_line(path, l, expected + " whose label is the class's index in classInd.txt (" +
                              std::to_string(label + 1) + ")", kUcfHint);
    }
    out.videos.push_back({strip_video_extension(f[0]), label});
  }
  return out;
}

SplitList read_hmdb51_split(const std::string& dir, int split, Subset subset) {
  if (split < 1 || split > 3)
    fail(dir, "expected HMDB51 split 1, 2 or 3, got " + std::to_string(split));
  const std::string suffix = "_test_split" + std::to_string(split) + ".txt";
  const char* hint = "HMDB51 split files come from test_train_splits.rar (folder testTrainMulti_7030_splits)";
  std::vector<std::pair<std::string, std::string>> files;  // class, path
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      files.push_back({n.substr(0, n.size() - suffix.size()), e.path().string()});
  }
  if (ec) fail(dir, "cannot list split folder (" + ec.message() + ")", hint);
  if (files.empty()) fail(dir, "expected files '<class>" + suffix + "', found none", hint);
  std::sort(files.begin(), files.end());
  SplitList out;
  const int want = subset == Subset::train ? 1 : 2;
  for (const auto& [cls, path] : files) {
    out.classes.push_back(cls);
    for (const Line& l : read_lines(path, hint)) {
      std::vector<std::string> f = fields(l.text);
      int tag = -1;
      if (f.size() != 2 || !parse_int(f[1], tag) || tag > 2)
        bad_line(path, l, "'<video>.avi <0|1|2>'", hint);
      if (tag == want) out.videos.push_back({cls + "/" + strip_video_extension(f[0]), int(out.classes.size()) - 1});
    }
  }
  return out;
}

namespace {

// One CSV record with optional double quotes ("a, b",c).
std::vector<std::string> csv_fields(const std::string& s) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (char c : s) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

std::string pad6(const std::string& s) {
  return s.size() >= 6 ? s : std::string(6 - s.size(), '0') + s;
}

}  // namespace

SplitList read_video_list(const std::string& path, std::vector<std::string> classes) {
  const char* hint = "a list has one '<class>/<video>' per line, or is the official Kinetics CSV";
  std::vector<Line> lines = read_lines(path, hint);
  const bool csv = !lines.empty() && lines[0].text.rfind("label,youtube_id", 0) == 0;
  std::vector<std::pair<std::string, const Line*>> rel;  // video path, its line
  for (size_t i = csv ? 1 : 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (csv) {
      std::vector<std::string> f = csv_fields(l.text);
      int a = 0, b = 0;
      if (f.size() < 4 || f[0].empty() || f[1].empty() || !parse_int(f[2], a) || !parse_int(f[3], b))
        bad_line(path, l, "'label,youtube_id,time_start,time_end,split' with integer times", hint);
      rel.push_back({f[0] + "/" + f[1] + "_" + pad6(f[2]) + "_" + pad6(f[3]), &l});
    } else {
      std::vector<std::string> f = fields(l.text);
      if (class_folder(f[0]).empty()) bad_line(path, l, "'<class>/<video>'", hint);
      rel.push_back({strip_video_extension(f[0]), &l});
    }
  }
  const bool fixed = !classes.empty();
  if (!fixed) {
    std::set<std::string> found;
    for (const auto& r : rel) found.insert(class_folder(r.first));
    classes.assign(found.begin(), found.end());
  }
  std::map<std::string, int> by_name;
  for (size_t i = 0; i < classes.size(); ++i) by_name[classes[i]] = int(i);
  SplitList out;
  out.classes = classes;
  for (const auto& [video, line] : rel) {
    auto it = by_name.find(class_folder(video));
    if (it == by_name.end())
      bad_line(path, *line, "a class among the " + std::to_string(classes.size()) + " given classes",
               "read the validation list with the train list's classes, which must include this one");
    out.videos.push_back({video, it->second});
  }
  return out;
}

}  // namespace vd::data
