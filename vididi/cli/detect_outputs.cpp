// vididi/cli/detect_outputs.cpp: AP bars, the keyframe picture and the
// per-class table of a detection run (see detect_outputs.h).
#include "vididi/cli/detect_outputs.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "vididi/cli/report.h"
#include "vididi/draw.h"

namespace vd::cli {

std::string percent_or_na(double v) {
  if (!std::isfinite(v)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", 100 * v);
  return b;
}

namespace {
const auto pct = percent_or_na;
std::string iou_name(double t) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", t);
  return b;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> write_ap_bars(const std::string& dir, const eval::DetectionEvaluation& e,
                                                               const data::DetectionSet& set) {
  std::vector<std::pair<std::string, std::string>> images;
  vididi::write_bar_chart(dir + "/frame_ap.png", set.classes, e.frame.ap,
                          "frame AP per class (IoU " + iou_name(e.frame_iou) + "), frame-mAP " + pct(e.frame.map) + "%");
  images.push_back({"frame AP per class", "frame_ap.png"});
  for (const auto& [t, r] : e.video) {
    const std::string file = "video_ap_" + iou_name(t) + ".png";
    vididi::write_bar_chart(dir + "/" + file, set.classes, r.ap,
                            "video AP per class (IoU " + iou_name(t) + "), video-mAP " + pct(r.map) + "%");
    images.push_back({"video AP per class at IoU " + iou_name(t), file});
  }
  return images;
}

bool write_keyframe_picture(const std::string& path, const eval::DetectionEvaluation& e, const data::DetectionSet& set,
                            int count) {
  std::vector<const data::KeyframeBoxes*> with_gt;
  for (const auto& k : set.test.keyframes)
    if (!k.boxes.empty()) with_gt.push_back(&k);
  if (with_gt.empty() || count < 1) return false;
  // The best class of each scored box: (video, frame) -> (box, class, score).
  struct Pred {
    data::Box box;
    int label;
    double score;
  };
  std::map<std::pair<int64_t, int64_t>, std::vector<Pred>> best;
  for (const eval::FrameBox& d : e.detections) {
    auto& v = best[{d.video, d.frame}];
    if (!v.empty() && v.back().box == d.box) {
      if (d.score > v.back().score) v.back().label = d.label, v.back().score = d.score;
    } else {
      v.push_back({d.box, d.label, d.score});
    }
  }
  std::vector<std::vector<vididi::Tile>> rows(1);
  const int n = std::min<int>(count, int(with_gt.size()));
  for (int i = 0; i < n; ++i) {
    const data::KeyframeBoxes& k = *with_gt[size_t(int64_t(i) * int64_t(with_gt.size()) / n)];
    const data::Clip c = set.test.frames->load(k.video, {k.frame});
    vididi::Tile t;
    t.image = data::Image(c.H, c.W, 3);
    t.image.px.assign(c.px.begin(), c.px.begin() + long(c.frame_size()));
    const double sx = c.W / set.test.width[k.video], sy = c.H / set.test.height[k.video];
    auto scaled = [&](const data::Box& b) { return data::Box{b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy}; };
    std::string truth;
    for (size_t j = 0; j < k.boxes.size(); ++j) {
      vididi::DrawnBox b;
      b.box = scaled(k.boxes[j]);
      b.thick = 3;
      for (int l : k.labels[j]) truth += (truth.empty() ? "" : ", ") + set.classes[size_t(l)];
      t.boxes.push_back(b);
    }
    std::string predicted;
    for (const Pred& p : best[{int64_t(k.video), k.frame}]) {
      vididi::DrawnBox b;
      b.box = scaled(p.box);
      b.colour[0] = 220, b.colour[1] = 0, b.colour[2] = 0;
      b.thick = 1;
      char s[16];
      std::snprintf(s, sizeof s, " %.2f", p.score);
      b.label = set.classes[size_t(p.label)] + s;
      predicted += (predicted.empty() ? "" : ", ") + b.label;
      t.boxes.push_back(b);
    }
    const std::string& name = set.test.names[k.video];
    t.caption = {name.substr(name.find_last_of('/') == std::string::npos ? 0 : name.find_last_of('/') + 1) +
                     " frame " + std::to_string(k.frame + 1),
                 "truth: " + truth, "predicted: " + (predicted.empty() ? std::string("none") : predicted)};
    if (rows.back().size() == 4) rows.emplace_back();
    rows.back().push_back(t);
  }
  vididi::write_tile_rows(path, rows, 160, "test keyframes: ground truth (green), scored boxes (red: best class, probability)");
  return true;
}

std::string per_class_table(const eval::DetectionEvaluation& e, const data::DetectionSet& set) {
  std::vector<std::string> header{"class", "test boxes", "frame AP % (IoU " + iou_name(e.frame_iou) + ")"};
  for (const auto& [t, r] : e.video) header.push_back("video AP % (IoU " + iou_name(t) + ")");
  std::vector<std::vector<std::string>> rows;
  for (size_t k = 0; k < set.classes.size(); ++k) {
    rows.push_back({set.classes[k], std::to_string(e.frame.num_gt[k]), pct(e.frame.ap[k])});
    for (const auto& [t, r] : e.video) rows.back().push_back(pct(r.ap[k]));
  }
  return markdown_table(header, rows);
}

}  // namespace vd::cli
