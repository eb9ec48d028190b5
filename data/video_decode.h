// data/video_decode.h: the FFmpeg part of the data layer, behind plain C++
// types: building a VideoIndex by demuxing a file (packets only, plus one
// decode of the last group of pictures to find how many frames really come
// out), and decoding chosen frames to RGB24 at a target short side. Each call
// opens its own demuxer and decoder, so calls from many threads are safe.
// It holds no dataset, cache or corrupt-frame policy (data/video_file.h).
// Built without FFmpeg (Makefile FFMPEG=0), every function throws DataError
// saying so; data/video_decode.cpp is the only file that tests VD_FFMPEG.
#pragma once

#include <string>
#include <vector>

#include "data/source.h"
#include "data/video_index.h"

namespace vd::data {

// true when vididi was built with FFmpeg's libraries.
bool video_decoding_available();
// The message given when it was not: what to install and that a rebuild is needed.
std::string video_decoding_missing_hint();

// Demuxes the video stream of `path`. Frames are the stream's packets (empty
// and discarded ones excluded) ordered by pts; the last group of pictures is
// decoded to drop frames that are listed but do not decode (a truncated
// file). When packets lack pts, the whole file is decoded and counted.
// Throws DataError naming the path when it is not a readable video.
VideoIndex build_video_index(const std::string& path, double timeout_s = 60);

struct DecodeResult {
  Clip clip;               // [frames.size(), H, W, 3], RGB
  std::vector<char> ok;    // per requested frame: 1 = decoded
  std::string error;       // first decode or read error, empty if none
  int decode_errors = 0;   // packets the decoder refused
  int frames_decoded = 0;  // frames the decoder produced, wanted or not (the cost)
};

// Frames `frames` (ascending, unique, in [0, idx.num_frames())) of `path`:
// seeks to the keyframe at or before the first, decodes up to the last one
// (seeking again across a gap where that skips more frames than it costs, as
// between two views), and converts each wanted frame with swscale to RGB24
// with the short side `short_side` (0: as coded; shrinking averages areas,
// otherwise bicubic, ffmpeg's default). One open file per call. Frames
// that do not come out (corrupt data, a read error, `timeout_s` of I/O
// exceeded) are left with ok = 0; it never throws for those. Throws DataError
// when the file cannot be opened or its decoder cannot be set up.
DecodeResult decode_video_frames(const std::string& path, const VideoIndex& idx,
                                 const std::vector<int>& frames, int short_side,
                                 double timeout_s = 60);

// The output size for a coded size at `short_side` (0: unchanged): the short
// side becomes short_side, the other is rounded in proportion (as
// data/image.h's resize_short_side).
void output_size(int height, int width, int short_side, int& out_h, int& out_w);

}  // namespace vd::data
