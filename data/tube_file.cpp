// data/tube_file.cpp: parsing and checking the tube text format, and the
// DetectionSet of one split with its frame folders (see tube_file.h).
#include "data/tube_file.h"

#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "data/error.h"

namespace vd::data {

namespace {
std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

const char* kConvertHint = "write the file with tools/convert_act_pickle.py (docs/PROTOCOLS.md, tube annotations)";
}  // namespace

TubeFile parse_tube_file(const std::string& text, const std::string& path) {
  TubeFile f;
  std::map<std::string, size_t> video_index;
  std::istringstream in(text);
  std::string line;
  bool header = false;
  int n = 0;
  auto next_record = [&](std::vector<std::string>& w) {
    while (std::getline(in, line)) {
      ++n;
      w = words(line);
      if (!w.empty() && w[0][0] != '#') return true;
    }
    return false;
  };
  std::vector<std::string> w;
  while (next_record(w)) {
    const std::string where = path + ":" + std::to_string(n);
    auto need = [&](size_t count, const char* form) {
      if (w.size() != count)
        fail(where, "expected '" + std::string(form) + "' (" + std::to_string(count) + " fields), got " +
                        std::to_string(w.size()) + " fields", kConvertHint);
    };
    auto video_of = [&](const std::string& name) {
      const auto it = video_index.find(name);
      if (it == video_index.end())
        fail(where, "unknown video '" + name + "': no 'video' record declares it before this line",
             "each video needs a 'video <name> <frames> <width> <height>' line first");
      return it->second;
    };
    if (!header) {
      if (w.size() != 2 || w[0] != "vididi-tubes" || w[1] != "1")
        fail(where, "expected the header 'vididi-tubes 1', got '" + line + "'", kConvertHint);
      header = true;
    } else if (w[0] == "dataset") {
      if (w.size() < 2) fail(where, "expected 'dataset <name>'", kConvertHint);
      f.dataset = line.substr(line.find(w[1]));
    } else if (w[0] == "class") {
      if (w.size() < 3) need(3, "class <index> <name>");
      const long i = parse_integer(w[1], where, "the class index");
      if (i != long(f.classes.size()))
        fail(where, "expected class index " + std::to_string(f.classes.size()) + " (classes in order from 0), got " +
                        w[1], kConvertHint);
      f.classes.push_back(line.substr(line.find(w[2], line.find(w[1]) + w[1].size())));
    } else if (w[0] == "video") {
      need(5, "video <video> <frames> <width> <height>");
      if (video_index.count(w[1])) fail(where, "video '" + w[1] + "' is declared twice", kConvertHint);
      TubeFile::Video v{w[1], int(parse_integer(w[2], where, "the frame count")),
                        parse_number(w[3], where, "the width"), parse_number(w[4], where, "the height")};
      if (v.frames < 1 || v.width <= 0 || v.height <= 0)
        fail(where, "expected frames >= 1 and a positive width and height, got " + w[2] + " " + w[3] + " " + w[4]);
      video_index[v.name] = f.videos.size();
      f.videos.push_back(v);
    } else if (w[0] == "split") {
      need(4, "split <n> <train|test> <video>");
      const int s = int(parse_integer(w[1], where, "the split number"));
      if (w[2] != "train" && w[2] != "test") fail(where, "expected train or test, got '" + w[2] + "'");
      const Subset sub = w[2] == "train" ? Subset::train : Subset::test;
      const size_t v = video_of(w[3]);
      TubeFile::SplitVideos* list = nullptr;
      for (auto& l : f.splits)
        if (l.split == s && l.subset == sub) list = &l;
      if (!list) f.splits.push_back({s, sub, {}}), list = &f.splits.back();
      list->videos.push_back(v);
    } else if (w[0] == "tube") {
      need(4, "tube <video> <class index> <rows>");
      const int tube_line = n;
      TubeBoxes t;
      t.video = video_of(w[1]);
      const long label = parse_integer(w[2], where, "the class index");
      if (label < 0 || label >= long(f.classes.size()))
        fail(where, "unknown class " + w[2] + ": expected an index in [0, " + std::to_string(f.classes.size()) + ")",
             "'class' records come before the tubes");
      t.label = int(label);
      const long rows = parse_integer(w[3], where, "the row count");
      if (rows < 1) fail(where, "expected at least one box row, got " + w[3]);
      const TubeFile::Video& v = f.videos[t.video];
      for (long r = 0; r < rows; ++r) {
        if (!std::getline(in, line)) fail(path + ":" + std::to_string(n), "the file ends inside a tube of " + w[3] + " rows");
        ++n;
        const std::string at = path + ":" + std::to_string(n);
        const std::vector<std::string> b = words(line);
        if (b.size() != 5) fail(at, "expected a box row '<frame> <x1> <y1> <x2> <y2>', got " + std::to_string(b.size()) + " fields");
        const long frame = parse_integer(b[0], at, "the frame number");
        if (frame < 1 || frame > v.frames)
          fail(at, "frame out of range: " + b[0] + " (video '" + v.name + "' has frames 1.." +
                       std::to_string(v.frames) + ")", "frame numbers are 1-based, img_00001.jpg = 1");
        if (r == 0) t.first_frame = int(frame) - 1;
        else if (frame - 1 != t.first_frame + r)
          fail(at, "expected frame " + std::to_string(t.first_frame + r + 1) + " (a tube's rows are consecutive frames), got " + b[0]);
        const Box box{parse_number(b[1], at, "x1"), parse_number(b[2], at, "y1"), parse_number(b[3], at, "x2"),
                      parse_number(b[4], at, "y2")};
        check_box(box, v.width, v.height, at,
                  "boxes are pixels of the annotated resolution; tools/convert_act_pickle.py --clamp clips them");
        t.boxes.push_back(box);
      }
      f.tubes.push_back(std::move(t));
      f.tube_lines.push_back(tube_line);
    } else {
      fail(where, "unknown record '" + w[0] + "'", "records are dataset, class, video, split, tube (tube_file.h)");
    }
  }
  if (!header) fail(path, "empty file: expected the header 'vididi-tubes 1'", kConvertHint);
  if (f.classes.empty()) fail(path, "no 'class' records", kConvertHint);
  return f;
}

TubeFile read_tube_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, "cannot open the tube annotations", kConvertHint);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_tube_file(ss.str(), path);
}

DetectionSet tube_detection_set(const TubeFile& f, const std::string& path, int split, const FrameFolderConfig& frames,
                                int train_stride, int test_stride) {
  DetectionSet d;
  d.name = f.dataset.empty() ? path : f.dataset;
  d.classes = f.classes;
  d.has_tubes = true;
  d.inclusive_pixels = true;  // ACT's integer pixel boxes
  for (Subset sub : {Subset::train, Subset::test}) {
    const TubeFile::SplitVideos* list = nullptr;
    for (const auto& l : f.splits)
      if (l.split == split && l.subset == sub) list = &l;
    const char* name = sub == Subset::train ? "train" : "test";
    if (!list || list->videos.empty())
      fail(path, "split " + std::to_string(split) + " has no " + name + " videos",
           "the file's 'split' records say which splits it holds (UCF101-24 has split 1 only)");
    DetectionSplit& s = sub == Subset::train ? d.train : d.test;
    SplitList sl;
    sl.classes = f.classes;
    std::map<size_t, size_t> local;  // file video -> split video
    for (size_t v : list->videos) {
      local[v] = sl.videos.size();
      int label = 0;
      for (const TubeBoxes& t : f.tubes)
        if (t.video == v) label = t.label;
      sl.videos.push_back(VideoEntry{f.videos[v].name, label});
      s.names.push_back(f.videos[v].name);
      s.width.push_back(f.videos[v].width);
      s.height.push_back(f.videos[v].height);
    }
    auto src = std::make_shared<FrameFolderDataset>(sl, frames);
    s.frames = src;
    for (size_t i = 0; i < f.tubes.size(); ++i) {
      const auto it = local.find(f.tubes[i].video);
      if (it == local.end()) continue;
      TubeBoxes t = f.tubes[i];
      t.video = it->second;
      const int last = t.first_frame + int(t.boxes.size());
      if (last > src->num_frames(t.video))
        fail(path + ":" + std::to_string(f.tube_lines[i]),
             "frame out of range: the tube reaches frame " + std::to_string(last) + " but " + src->folder(t.video) +
                 " holds " + std::to_string(src->num_frames(t.video)) + " frames",
             "extract every frame of the video (tools/prepare_frames.py keeps each real frame once)");
      s.tubes.push_back(std::move(t));
    }
    s.keyframes = tube_keyframes(s, sub == Subset::train ? train_stride : test_stride, sub == Subset::train);
  }
  return d;
}

}  // namespace vd::data
