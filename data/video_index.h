// data/video_index.h: what vididi knows about one encoded video file without
// decoding it: its frames in presentation order (their timestamps), which of
// them are keyframes (where decoding may start), the codec and frame size,
// and the file's size and modification time when it was indexed. The index
// is stored as a small text file so that a dataset is demuxed once, and is
// rebuilt when the video's size or mtime changes. Building an index needs
// FFmpeg (data/video_decode.h); reading and writing the cache does not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vd::data {

struct VideoIndex {
  int64_t file_size = 0;      // bytes, when indexed
  int64_t file_mtime_ns = 0;  // modification time, when indexed
  std::string codec;          // FFmpeg's codec name: "h264", "mpeg4", ...
  int width = 0, height = 0;  // coded frame size
  int tb_num = 0, tb_den = 1; // the stream's time base: pts * tb_num / tb_den seconds
  double fps = 0;             // the container's average frame rate (informative only)
  double duration_s = 0;      // last pts - first pts + one frame, in seconds
  // true: every frame has its own timestamp and decoding may start at any
  // keyframe. false (e.g. AVI with B-frames, whose P-frames carry no pts):
  // frames are numbered by counting decoder output from the file's start,
  // so every load decodes from the first frame.
  bool timestamped = true;
  std::vector<int64_t> pts;       // per frame, presentation order, strictly increasing
  std::vector<int> keyframes;     // frame numbers of keyframes, ascending; the first is 0
  std::vector<int64_t> key_dts;   // per keyframe: its packet's dts (<= its pts), the second seek target
  int num_frames() const { return int(pts.size()); }
  // The last keyframe at or before frame f (0 when none is).
  int keyframe_slot_before(int f) const;
};

// Size and mtime (ns) of a file; false when it cannot be read.
bool stat_file(const std::string& path, int64_t& size, int64_t& mtime_ns);

// The cached index at cache_path if it exists, parses, and matches the
// video's current size and mtime; otherwise false (a stale or damaged cache is
// not an error: the caller rebuilds it).
bool read_video_index(const std::string& cache_path, int64_t size, int64_t mtime_ns, VideoIndex& out);

// Writes the index (via a temporary file and rename, so that concurrent
// writers and readers never see half a file). Returns false with a reason
// when the folder cannot be written; the index then lives in memory only.
bool write_video_index(const std::string& cache_path, const VideoIndex& idx, std::string& why);

}  // namespace vd::data
