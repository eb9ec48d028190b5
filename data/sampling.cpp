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

int clip_span(int length, int stride) { return (length - 1) * stride + 1; }

std::vector<int> clip_frames(int num_frames, int start, int length, int stride) {
  check(num_frames, length, stride);
  std::vector<int> f(length);
  for (int t = 0; t < length; ++t) f[t] = std::min(start + t * stride, num_frames - 1);
  return f;
}

std::vector<int> train_clip_frames(int num_frames, int length, int stride, Rng& rng) {
  check(num_frames, length, stride);
  const int last_start = std::max(0, num_frames - clip_span(length, stride));
  return clip_frames(num_frames, int(rng.integer(0, last_start)), length, stride);
}

std::vector<std::vector<int>> eval_clip_frames(int num_frames, int length, int stride, int n) {
  check(num_frames, length, stride);
  if (n < 1) fail("eval_clip_frames", "expected at least one clip per video, got " + std::to_string(n));
  const int last_start = std::max(0, num_frames - clip_span(length, stride));
  std::vector<std::vector<int>> clips;
  for (int i = 0; i < n; ++i) {
    const int start = n == 1 ? last_start / 2 : int(std::lround(double(i) * last_start / (n - 1)));
    clips.push_back(clip_frames(num_frames, start, length, stride));
  }
  return clips;
}

}  // namespace vd::data
