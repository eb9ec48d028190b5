// data/views.h: turns one dataset item into its views, the float clips the
// trainer receives. Training: item = video (those left after short_video =
// skip, when set); each view draws its own start
// (unless same_clip) and its own augmentation, from (seed, epoch, video, view)
// only. Evaluation: item = (video, clip), evenly spaced clips, centre crop, one
// view. A view has T + k frames (k = highest derivative order in use): the
// trainer takes the derivatives. No threads or batching here (data/loader.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "data/augment.h"
#include "data/sampling.h"
#include "data/source.h"

namespace vd::data {

struct ClipConfig {
  int frames = 16;       // T: frames of each view after the trainer's derivative
  int extra_frames = 0;  // k: highest derivative order in use; clips have T + k frames
  int stride = 1;        // frame step within a clip
  int views = 2;         // views per training item (evaluation: always 1)
  bool same_clip = false;  // training views share one start (augmentation still differs)
  bool train = true;
  int eval_clips = 10;   // evaluation clips per video
  // Videos with fewer frames than a clip spans ((T + k - 1) * stride + 1):
  // pad (repeat the last frame), loop, skip (left out), stop (DataError).
  ShortVideo short_video = ShortVideo::pad;
  AugmentConfig augment;
  int clip_length() const { return frames + extra_frames; }
};

class ViewSampler {
 public:
  // Counts the source's short videos; throws DataError naming the first one
  // when short_video = stop, or when skip leaves no video.
  ViewSampler(const VideoSource& source, ClipConfig config, uint64_t seed);

  size_t num_items() const;
  int num_views() const { return config_.train ? config_.views : 1; }
  size_t video_of(size_t item) const;
  int clip_of(size_t item) const;  // evaluation clip number, 0 for training
  // [T + k, out_h, out_w, 3]
  size_t view_numel() const;
  const ClipConfig& config() const { return config_; }
  // Videos of the source shorter than a clip, whatever the policy did with
  // them (for the run's report), and their indices in the source.
  size_t short_videos() const { return short_.size(); }
  const std::vector<size_t>& short_video_ids() const { return short_; }
  // Videos that take part: all of them, or those left after skip.
  size_t num_videos() const { return kept_.empty() ? source_.size() : kept_.size(); }

  // Frame indices of view `view` of `item` at `epoch`.
  std::vector<int> frames_of(size_t item, int64_t epoch, int view) const;
  // Augmentation of that view for frames of size H x W.
  AugmentParams params_of(size_t item, int64_t epoch, int view, int H, int W) const;
  // Decodes the union of the views' frames once and writes view v into
  // outs[v], each [T + k, out_h, out_w, 3] floats, normalised.
  void render(size_t item, int64_t epoch, float* const* outs) const;
  // The same views as uint8 on the 0..255 scale, before normalisation
  // (data/augment.h apply_augment_u8), each [T + k, out_h, out_w, 3] bytes.
  void render_u8(size_t item, int64_t epoch, uint8_t* const* outs) const;

 private:
  void render_with(size_t item, int64_t epoch,
                   const std::function<void(int view, const Clip& clip, const AugmentParams& p)>& apply) const;

  const VideoSource& source_;
  ClipConfig config_;
  uint64_t seed_;
  std::vector<size_t> short_;  // source indices of short videos
  std::vector<size_t> kept_;   // with skip: the videos that take part; empty = all
};

}  // namespace vd::data
