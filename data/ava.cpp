// data/ava.cpp: the AVA label map, box CSV and excluded-timestamp readers
// and the AVA DetectionSet (see ava.h).
#include "data/ava.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "data/error.h"

namespace vd::data {

namespace {
std::string slurp(const std::string& path, const std::string& what, const std::string& hint) {
  std::ifstream in(path);
  if (!in) fail(path, "cannot open the " + what, hint);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

const char* kAvaHint = "AVA v2.2 rows are video_id,timestamp,x1,y1,x2,y2,action_id,person_id";
}  // namespace

std::vector<AvaLabel> parse_ava_label_map(const std::string& text, const std::string& path) {
  std::vector<AvaLabel> out;
  std::set<int> ids;
  std::istringstream in(text);
  std::string line;
  bool open = false;
  int item_line = 0;
  AvaLabel cur;
  bool has_name = false, has_id = false;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = path + ":" + std::to_string(n);
    const auto a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos || line[a] == '#') continue;
    const std::string t = line.substr(a, line.find_last_not_of(" \t\r") - a + 1);
    if (t == "item {" || t == "item{") {
      if (open) fail(where, "an item starts inside another item", "each item ends with '}'");
      open = true, item_line = n, has_name = has_id = false, cur = AvaLabel{};
    } else if (t == "}") {
      if (!open) fail(where, "'}' without an open item");
      const std::string at = path + ":" + std::to_string(item_line);
      if (!has_name || !has_id) fail(at, "the item has no " + std::string(has_name ? "id" : "name"), "items are item { name: \"...\" id: N }");
      if (!ids.insert(cur.id).second) fail(at, "label id " + std::to_string(cur.id) + " appears twice");
      out.push_back(cur);
      open = false;
    } else if (open && t.rfind("name:", 0) == 0) {
      const auto q0 = t.find('"'), q1 = t.rfind('"');
      if (q0 == std::string::npos || q1 == q0) fail(where, "expected name: \"...\", got '" + t + "'");
      cur.name = t.substr(q0 + 1, q1 - q0 - 1), has_name = true;
    } else if (open && t.rfind("id:", 0) == 0) {
      std::string v = t.substr(3);
      v = v.substr(v.find_first_not_of(" \t"));
      cur.id = int(parse_integer(v, where, "the label id")), has_id = true;
    } else if (open && t.rfind("label_type:", 0) == 0) {
      continue;
    } else {
      fail(where, "unexpected line '" + t + "'", "the label map holds item { name: \"...\" id: N } records");
    }
  }
  if (open) fail(path + ":" + std::to_string(item_line), "the item is never closed with '}'");
  if (out.empty()) fail(path, "the label map holds no items", "pass ava_action_list_v2.2*.pbtxt");
  return out;
}

std::vector<AvaLabel> read_ava_label_map(const std::string& path) {
  return parse_ava_label_map(slurp(path, "AVA label map", "pass ava_action_list_v2.2*.pbtxt"), path);
}

DetectionSplit read_ava_split(const std::string& csv, const std::string& excluded, const std::vector<AvaLabel>& labels,
                              const AvaOptions& o, AvaSplitStats* stats) {
  AvaSplitStats st;
  std::map<int, int> class_of;  // AVA id -> our index
  for (size_t i = 0; i < labels.size(); ++i) class_of[labels[i].id] = int(i);
  std::set<std::pair<std::string, long>> skip;
  if (!excluded.empty()) {
    std::istringstream in(slurp(excluded, "excluded timestamps", "pass ava_*_excluded_timestamps_v2.2.csv or leave it empty"));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (blank(line)) continue;
      const std::string where = excluded + ":" + std::to_string(n);
      const std::vector<std::string> f = split_csv_line(line);
      if (f.size() != 2) fail(where, "expected 2 fields video_id,timestamp, got " + std::to_string(f.size()));
      skip.insert({f[0], parse_integer(f[1], where, "the timestamp")});
    }
  }
  const std::string text = slurp(csv, "AVA box CSV", kAvaHint);
  // Pass 1: the videos, each checked to have a frame folder.
  SplitList sl;
  sl.classes = {"video"};
  std::map<std::string, size_t> video;
  {
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (blank(line)) continue;
      const std::string id = split_csv_line(line)[0];
      if (video.count(id)) continue;
      std::error_code ec;
      if (!std::filesystem::is_directory(o.frames_root + "/" + id, ec))
        fail(csv + ":" + std::to_string(n), "unknown video '" + id + "': no frame folder " + o.frames_root + "/" + id,
             "extract its frames (30 fps, from 900 s) into ROOT/<video_id>/ or leave its rows out");
      video[id] = sl.videos.size();
      sl.videos.push_back(VideoEntry{id, 0});
    }
  }
  if (sl.videos.empty()) fail(csv, "the CSV holds no rows", kAvaHint);
  DetectionSplit s;
  FrameFolderConfig fc = o.frames;
  fc.root = o.frames_root;
  auto src = std::make_shared<FrameFolderDataset>(sl, fc);
  s.frames = src;
  for (const VideoEntry& v : sl.videos) s.names.push_back(v.path), s.width.push_back(1), s.height.push_back(1);
  // Pass 2: the rows.
  std::map<std::pair<size_t, int>, KeyframeBoxes> frames;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (blank(line)) continue;
    const std::string where = csv + ":" + std::to_string(n);
    const std::vector<std::string> f = split_csv_line(line);
    if (f.size() != 8) fail(where, "expected 8 fields, got " + std::to_string(f.size()), kAvaHint);
    ++st.rows;
    const size_t v = video.at(f[0]);
    const double ts = parse_number(f[1], where, "the timestamp");
    if (skip.count({f[0], std::lround(ts)})) {
      ++st.excluded;
      continue;
    }
    const int frame = ava_frame(ts, o.time);
    if (frame < 0 || frame >= src->num_frames(v))
      fail(where, "frame out of range: timestamp " + f[1] + " is frame " + std::to_string(frame) + " (0-based) but " +
                      src->folder(v) + " holds " + std::to_string(src->num_frames(v)) + " frames",
           "check ava_fps and ava_start_sec against the frame extraction");
    const Box b{parse_number(f[2], where, "x1"), parse_number(f[3], where, "y1"), parse_number(f[4], where, "x2"),
                parse_number(f[5], where, "y2")};
    check_box(b, 1, 1, where, "AVA corners are normalised to [0, 1]");
    const long action = parse_integer(f[6], where, "the action id");
    const auto c = class_of.find(int(action));
    if (c == class_of.end()) {
      if (o.skip_unknown_classes) {
        ++st.unknown_class;
        continue;
      }
      fail(where, "unknown class: action id " + f[6] + " is not in the label map (" + std::to_string(labels.size()) +
                      " classes)",
           "the 60-class evaluation map leaves 20 actions out: --ava_unknown_class skip leaves their rows out (counted)");
    }
    KeyframeBoxes& k = frames[{v, frame}];
    k.video = v, k.frame = frame;
    size_t i = 0;
    while (i < k.boxes.size() && !(k.boxes[i] == b)) ++i;
    if (i == k.boxes.size()) k.boxes.push_back(b), k.labels.emplace_back();
    if (std::find(k.labels[i].begin(), k.labels[i].end(), c->second) == k.labels[i].end()) k.labels[i].push_back(c->second);
  }
  for (auto& [key, k] : frames) s.keyframes.push_back(std::move(k));
  if (stats) *stats = st;
  return s;
}

DetectionSet ava_detection_set(const std::string& label_map, const std::string& train_csv,
                               const std::string& train_excluded, const std::string& test_csv,
                               const std::string& test_excluded, const AvaOptions& o, AvaSplitStats* train_stats,
                               AvaSplitStats* test_stats) {
  const std::vector<AvaLabel> labels = read_ava_label_map(label_map);
  DetectionSet d;
  d.name = "AVA v2.2";
  for (const AvaLabel& l : labels) d.classes.push_back(l.name);
  d.multi_label = true;
  d.train = read_ava_split(train_csv, train_excluded, labels, o, train_stats);
  d.test = read_ava_split(test_csv, test_excluded, labels, o, test_stats);
  return d;
}

}  // namespace vd::data
