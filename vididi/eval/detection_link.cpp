// vididi/eval/detection_link.cpp: the greedy tube linker (see
// detection_link.h).
#include "vididi/eval/detection_link.h"

#include <algorithm>
#include <map>

#include "core/errors.h"

namespace vd::eval {

Box lerp(const Box& a, const Box& c, double t) {
  return {a.x1 + t * (c.x1 - a.x1), a.y1 + t * (c.y1 - a.y1), a.x2 + t * (c.x2 - a.x2), a.y2 + t * (c.y2 - a.y2)};
}

namespace {
struct Track {
  std::vector<const FrameBox*> dets;  // one per keyframe, in frame order
  double sum = 0;
  double score() const { return sum / double(dets.size()); }
};

Tube to_tube(const Track& tr, int frames, int stride) {
  Tube t;
  t.video = tr.dets[0]->video;
  t.label = tr.dets[0]->label;
  t.score = tr.score();
  const int hold = stride / 2;
  const int first = int(std::max<int64_t>(0, tr.dets.front()->frame - hold));
  const int last = int(std::min<int64_t>(frames - 1, tr.dets.back()->frame + hold));
  t.first_frame = first;
  size_t k = 0;  // the last keyframe at or before f
  for (int f = first; f <= last; ++f) {
    while (k + 1 < tr.dets.size() && tr.dets[k + 1]->frame <= f) ++k;
    const FrameBox& a = *tr.dets[k];
    if (f <= a.frame || k + 1 == tr.dets.size()) {
      t.boxes.push_back(a.box);
    } else {
      const FrameBox& c = *tr.dets[k + 1];
      t.boxes.push_back(lerp(a.box, c.box, double(f - a.frame) / double(c.frame - a.frame)));
    }
  }
  return t;
}
}  // namespace

std::vector<Tube> link_tubes(const std::vector<FrameBox>& detections, const std::vector<int>& video_frames,
                             const LinkOptions& o) {
  VD_CHECK(o.keyframe_stride >= 1, "link_tubes: expected keyframe_stride >= 1, got " << o.keyframe_stride);
  // (video, label) -> frame -> detections, best score first (stable).
  std::map<std::pair<int64_t, int>, std::map<int64_t, std::vector<const FrameBox*>>> groups;
  for (const FrameBox& d : detections) {
    VD_CHECK(d.video >= 0 && d.video < int64_t(video_frames.size()) && d.frame >= 0 &&
                 d.frame < video_frames[size_t(d.video)],
             "link_tubes: detection on video " << d.video << " frame " << d.frame << " outside the "
                                               << video_frames.size() << " videos' frames");
    groups[{d.video, d.label}][d.frame].push_back(&d);
  }
  std::vector<Tube> out;
  for (auto& [key, frames] : groups) {
    std::vector<Track> live, done;
    for (auto& [frame, dets] : frames) {
      std::stable_sort(dets.begin(), dets.end(), [](const FrameBox* a, const FrameBox* b) { return a->score > b->score; });
      std::vector<bool> taken(dets.size(), false);
      std::stable_sort(live.begin(), live.end(), [](const Track& a, const Track& b) { return a.score() > b.score(); });
      std::vector<Track> next;
      for (Track& tr : live) {
        long pick = -1;
        for (size_t i = 0; i < dets.size() && pick < 0; ++i)
          if (!taken[i] && iou(tr.dets.back()->box, dets[i]->box, o.inclusive_pixels) >= o.min_iou) pick = long(i);
        if (pick < 0) {
          done.push_back(std::move(tr));
          continue;
        }
        taken[size_t(pick)] = true;
        tr.dets.push_back(dets[size_t(pick)]);
        tr.sum += dets[size_t(pick)]->score;
        next.push_back(std::move(tr));
      }
      for (size_t i = 0; i < dets.size(); ++i)
        if (!taken[i]) {
          Track tr;
          tr.dets.push_back(dets[i]);
          tr.sum = dets[i]->score;
          next.push_back(std::move(tr));
        }
      live = std::move(next);
    }
    for (Track& tr : live) done.push_back(std::move(tr));
    std::stable_sort(done.begin(), done.end(),
                     [](const Track& a, const Track& b) { return a.dets.front()->frame < b.dets.front()->frame; });
    for (const Track& tr : done) out.push_back(to_tube(tr, video_frames[size_t(key.first)], o.keyframe_stride));
  }
  return out;
}

}  // namespace vd::eval
