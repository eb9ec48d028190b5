// data/views.cpp: item -> views (frame choice, shared decoding, augmentation).
#include "data/views.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "data/error.h"
#include "data/rng.h"
#include "data/sampling.h"

namespace vd::data {

ViewSampler::ViewSampler(const VideoSource& source, ClipConfig config, uint64_t seed)
    : source_(source), config_(std::move(config)), seed_(seed) {
  const ClipConfig& c = config_;
  if (c.frames < 1 || c.extra_frames < 0 || c.stride < 1 || c.views < 1 || c.eval_clips < 1)
    fail("ClipConfig", "expected frames >= 1, extra_frames >= 0, stride >= 1, views >= 1, "
                       "eval_clips >= 1, got " + std::to_string(c.frames) + ", " +
                           std::to_string(c.extra_frames) + ", " + std::to_string(c.stride) + ", " +
                           std::to_string(c.views) + ", " + std::to_string(c.eval_clips),
         "extra_frames is the highest derivative order in use (0, 1 or 2)");
  const int span = clip_span(c.clip_length(), c.stride);
  for (size_t v = 0; v < source_.size(); ++v)
    if (is_short_video(source_.num_frames(v), c.clip_length(), c.stride)) short_.push_back(v);
  if (!short_.empty() && c.short_video == ShortVideo::stop)
    fail(source_.name(short_[0]), "expected at least " + std::to_string(span) + " frames for a clip of " +
                                      std::to_string(c.clip_length()) + " frames at stride " +
                                      std::to_string(c.stride) + ", got " +
                                      std::to_string(source_.num_frames(short_[0])) + " (short_video = stop; " +
                                      std::to_string(short_.size()) + " of " + std::to_string(source_.size()) +
                                      " videos are this short)",
         "use short_video = pad (repeat the last frame), loop or skip, or a shorter clip or stride");
  if (!short_.empty() && c.short_video == ShortVideo::skip) {
    for (size_t v = 0, k = 0; v < source_.size(); ++v) {
      if (k < short_.size() && short_[k] == v) ++k;
      else kept_.push_back(v);
    }
    if (kept_.empty())
      fail("ViewSampler", "expected at least one video of " + std::to_string(span) + " frames or more, all " +
                              std::to_string(source_.size()) + " are shorter (short_video = skip)",
           "use a shorter clip or stride, or short_video = pad");
  }
}

size_t ViewSampler::num_items() const {
  return config_.train ? num_videos() : num_videos() * size_t(config_.eval_clips);
}

size_t ViewSampler::video_of(size_t item) const {
  const size_t k = config_.train ? item : item / size_t(config_.eval_clips);
  return kept_.empty() ? k : kept_[k];
}

int ViewSampler::clip_of(size_t item) const {
  return config_.train ? 0 : int(item % size_t(config_.eval_clips));
}

size_t ViewSampler::view_numel() const {
  return size_t(config_.clip_length()) * config_.augment.out_h * config_.augment.out_w * 3;
}

std::vector<int> ViewSampler::frames_of(size_t item, int64_t epoch, int view) const {
  const size_t video = video_of(item);
  const int n = source_.num_frames(video);
  if (!config_.train)
    return eval_clip_frames(n, config_.clip_length(), config_.stride, config_.eval_clips,
                            config_.short_video)[clip_of(item)];
  const int v = config_.same_clip ? 0 : view;
  Rng rng(seed_, uint64_t(epoch), video, kSample + 16 * uint64_t(v));
  return train_clip_frames(n, config_.clip_length(), config_.stride, rng, config_.short_video);
}

AugmentParams ViewSampler::params_of(size_t item, int64_t epoch, int view, int H, int W) const {
  if (!config_.train) return eval_params(config_.augment, H, W);
  Rng rng(seed_, uint64_t(epoch), video_of(item), kAugment + 16 * uint64_t(view));
  return draw_train_params(config_.augment, H, W, rng);
}

void ViewSampler::render(size_t item, int64_t epoch, float* const* outs) const {
  render_with(item, epoch, [&](int v, const Clip& clip, const AugmentParams& p) {
    apply_augment(clip, p, config_.augment, outs[v]);
  });
}

void ViewSampler::render_u8(size_t item, int64_t epoch, uint8_t* const* outs) const {
  render_with(item, epoch, [&](int v, const Clip& clip, const AugmentParams& p) {
    apply_augment_u8(clip, p, config_.augment, outs[v]);
  });
}

void ViewSampler::render_with(size_t item, int64_t epoch,
                              const std::function<void(int, const Clip&, const AugmentParams&)>& apply) const {
  const int V = num_views();
  std::vector<std::vector<int>> frames(V);
  std::vector<int> all;
  for (int v = 0; v < V; ++v) {
    frames[v] = frames_of(item, epoch, v);
    all.insert(all.end(), frames[v].begin(), frames[v].end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  const Clip decoded = source_.load(video_of(item), all);  // [all.size(), H, W, C]
  for (int v = 0; v < V; ++v) {
    Clip clip(int(frames[v].size()), decoded.H, decoded.W, decoded.C);
    for (int t = 0; t < clip.T; ++t) {
      const size_t k = std::lower_bound(all.begin(), all.end(), frames[v][t]) - all.begin();
      std::memcpy(clip.frame(t), decoded.frame(int(k)), clip.frame_size());
    }
    apply(v, clip, params_of(item, epoch, v, decoded.H, decoded.W));
  }
}

}  // namespace vd::data
