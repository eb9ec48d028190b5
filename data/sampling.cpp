// data/sampling.cpp: clip frame indices (see data/sampling.h for the rules).
#include "data/sampling.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "data/error.h"

namespace vd::data {
namespace {

void check(int num_frames, int length, int stride) {
  if (num_frames < 1 || length < 1 || stride < 1)
    fail("clip sampling", "expected num_frames, length and stride >= 1, got " +
                              std::to_string(num_frames) + ", " + std::to_string(length) + ", " +
                              std::to_string(stride));
}

}  // namespace

ShortVideo parse_short_video(const std::string& w) {
  if (w == "pad") return ShortVideo::pad;
  if (w == "loop") return ShortVideo::loop;
  if (w == "skip") return ShortVideo::skip;
  if (w == "stop") return ShortVideo::stop;
  fail("short_video", "expected pad, loop, skip or stop, got '" + w + "'",
       "pad repeats the last frame (the default), loop starts again from frame 0, skip leaves "
       "short videos out, stop refuses them");
}

const char* short_video_name(ShortVideo p) {
  switch (p) {
    case ShortVideo::pad: return "pad";
    case ShortVideo::loop: return "loop";
    case ShortVideo::skip: return "skip";
    case ShortVideo::stop: return "stop";
  }
  return "?";
}

int clip_span(int length, int stride) { return (length - 1) * stride + 1; }

bool is_short_video(int num_frames, int length, int stride) {
  return num_frames < clip_span(length, stride);
}

std::vector<int> clip_frames(int num_frames, int start, int length, int stride, ShortVideo policy) {
  check(num_frames, length, stride);
  std::vector<int> f(length);
  for (int t = 0; t < length; ++t) {
    const int i = start + t * stride;
    if (i >= num_frames && (policy == ShortVideo::skip || policy == ShortVideo::stop))
      fail("clip sampling", "expected a video of at least " + std::to_string(start + clip_span(length, stride)) +
                                " frames for this clip, got " + std::to_string(num_frames) + " (short_video = " +
                                short_video_name(policy) + ")",
           "ViewSampler leaves such videos out (skip) or refuses them (stop) before sampling");
    f[t] = i < num_frames ? i : policy == ShortVideo::loop ? i % num_frames : num_frames - 1;
  }
  return f;
}

std::vector<int> train_clip_frames(int num_frames, int length, int stride, Rng& rng, ShortVideo policy) {
  check(num_frames, length, stride);
  const int last_start = std::max(0, num_frames - clip_span(length, stride));
  return clip_frames(num_frames, int(rng.integer(0, last_start)), length, stride, policy);
}

std::vector<std::vector<int>> eval_clip_frames(int num_frames, int length, int stride, int n,
                                               ShortVideo policy) {
  check(num_frames, length, stride);
  if (n < 1) fail("eval_clip_frames", "expected at least one clip per video, got " + std::to_string(n));
  const int last_start = std::max(0, num_frames - clip_span(length, stride));
  std::vector<std::vector<int>> clips;
  for (int i = 0; i < n; ++i) {
    const int start = n == 1 ? last_start / 2 : int(std::lround(double(i) * last_start / (n - 1)));
    clips.push_back(clip_frames(num_frames, start, length, stride, policy));
  }
  return clips;
}

}  // namespace vd::data
