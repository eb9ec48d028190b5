// data/sampling.h: which frames of a video make a clip. Training clips start
// at a random frame; evaluation clips are evenly spaced. Videos too short for
// a clip repeat their last frame. Pure index arithmetic: no decoding, no
// augmentation.
#pragma once

#include <vector>

#include "data/rng.h"

namespace vd::data {

// Frames start, start + stride, ... (`length` of them), each index past the
// last frame replaced by the last frame (num_frames - 1).
std::vector<int> clip_frames(int num_frames, int start, int length, int stride);

// Frames spanned by a clip: (length - 1) * stride + 1.
int clip_span(int length, int stride);

// A training clip: the start is uniform over [0, num_frames - span]; a video
// shorter than the span starts at 0 and repeats its last frame.
std::vector<int> train_clip_frames(int num_frames, int length, int stride, Rng& rng);

// n evaluation clips with starts evenly spaced over [0, num_frames - span]
// (start_i = round(i * (num_frames - span) / (n - 1)); n = 1 takes the
// centre), short videos as above.
std::vector<std::vector<int>> eval_clip_frames(int num_frames, int length, int stride, int n);

}  // namespace vd::data
