// data/sampling.h: which frames of a video make a clip. Training clips start
// at a random frame; evaluation clips are evenly spaced. A video too short for
// a clip follows the short_video policy: by default (pad) it repeats its last
// frame. Pure index arithmetic: no decoding, no augmentation; leaving short
// videos out (skip) or refusing them (stop) is done by ViewSampler
// (data/views.h), which also counts them.
#pragma once

#include <string>
#include <vector>

#include "data/rng.h"

namespace vd::data {

// What a clip of a video shorter than its span is made of. Every choice but
// stop changes what the temporal differences see, so the count of short
// videos is reported (ViewSampler::short_videos()).
enum class ShortVideo {
  pad,   // repeat the last frame for the missing positions (the differences there are 0)
  loop,  // continue from frame 0 again (one jump where it wraps)
  skip,  // leave the video out of training / evaluation (ViewSampler)
  stop,  // refuse: DataError naming the video (ViewSampler)
};
// "pad" | "loop" | "skip" | "stop"; DataError naming the words otherwise.
ShortVideo parse_short_video(const std::string& word);
const char* short_video_name(ShortVideo policy);

// Frames spanned by a clip: (length - 1) * stride + 1.
int clip_span(int length, int stride);
// true when a video of num_frames is shorter than a clip's span.
bool is_short_video(int num_frames, int length, int stride);

// Frames start, start + stride, ... (`length` of them). An index past the last
// frame becomes the last frame (pad) or wraps around to the start (loop);
// skip and stop throw DataError when one is past the end (the sampler keeps
// such videos away from here).
std::vector<int> clip_frames(int num_frames, int start, int length, int stride,
                             ShortVideo policy = ShortVideo::pad);

// A training clip: the start is uniform over [0, num_frames - span]; a video
// shorter than the span starts at 0 and follows `policy`.
std::vector<int> train_clip_frames(int num_frames, int length, int stride, Rng& rng,
                                   ShortVideo policy = ShortVideo::pad);

// n evaluation clips with starts evenly spaced over [0, num_frames - span]
// (start_i = round(i * (num_frames - span) / (n - 1)); n = 1 takes the
// centre), short videos as above.
std::vector<std::vector<int>> eval_clip_frames(int num_frames, int length, int stride, int n,
                                               ShortVideo policy = ShortVideo::pad);

}  // namespace vd::data
