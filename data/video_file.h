// data/video_file.h: a dataset of encoded videos (.avi .mp4 .mkv .webm .mov
// .m4v .mpg .mpeg) at ROOT/<class>/<video>.<ext>, listed by the same
// SplitList as frame folders (data/splits.h), decoded on request without an
// extraction step. Each video is indexed once (data/video_index.h: frames in
// presentation order, keyframes) and the index cached on disk; num_frames is
// the number of frames the file really holds, never resampled to a declared
// frame rate. load() decodes from the keyframe at or before the first wanted
// frame to the last wanted one (data/video_decode.h). A frame that does not
// decode stops with its video and frame number, or is skipped (counted,
// warned, replaced by the nearest decoded frame of the same call), as for
// frame folders. No sampling or augmentation here; deciding between frame
// folders and video files is data/open_source.h.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "data/frame_folder.h"
#include "data/source.h"
#include "data/splits.h"
#include "data/video_index.h"

namespace vd::data {

struct VideoFileConfig {
  std::string root;        // holds <class>/<video>.<ext>
  // Where the per-video index files go: "" = ROOT/.vididi_index, "none" = kept
  // in memory only. An unwritable folder is warned about once, then memory only.
  std::string cache_dir;
  int short_side = 0;      // 0: frames as coded; else the short side is scaled to it
  OnCorrupt on_corrupt = OnCorrupt::stop;
  int index_threads = 0;   // threads that index uncached videos; 0 = hardware threads
  double timeout_s = 60;   // I/O limit for one open/index/load of one file
};

class VideoFileDataset : public VideoSource {
 public:
  // Finds and indexes every listed video; throws DataError naming the first
  // missing or unreadable one.
  VideoFileDataset(const SplitList& split, VideoFileConfig config);

  size_t size() const override { return videos_.size(); }
  int num_classes() const override { return int(classes_.size()); }
  const std::vector<std::string>& class_names() const override { return classes_; }
  int label(size_t v) const override { return videos_[v].label; }
  int num_frames(size_t v) const override { return index_[v].num_frames(); }
  std::string name(size_t v) const override { return files_[v]; }
  Clip load(size_t video, const std::vector<int>& frames) const override;

  const std::string& file(size_t v) const { return files_[v]; }
  const VideoIndex& index(size_t v) const { return index_[v]; }
  std::string cache_path(size_t v) const;  // "" when the cache is off
  size_t total_frames() const;
  size_t indexed_from_cache() const { return from_cache_; }  // of size(), the rest were demuxed now
  // Frames replaced because they did not decode (on_corrupt = skip).
  size_t corrupt_frames() const { return corrupt_->load(); }
  // Listed videos left out because they could not be indexed (on_corrupt = skip).
  size_t skipped_videos() const { return skipped_videos_; }

 private:
  VideoFileConfig config_;
  std::vector<std::string> classes_;
  std::vector<VideoEntry> videos_;
  std::vector<std::string> files_;
  std::vector<VideoIndex> index_;
  size_t from_cache_ = 0, skipped_videos_ = 0;
  std::unique_ptr<std::atomic<size_t>> corrupt_;
};

// The video extensions looked for, in this order.
const std::vector<std::string>& video_extensions();

// ROOT/<rel>.<ext> for the first extension that exists (also when rel already
// ends with one); "" when none does.
std::string find_video_file(const std::string& root, const std::string& rel);

// Dataset over `split`'s videos under config.root.
std::shared_ptr<VideoFileDataset> open_video_files(const SplitList& split, VideoFileConfig config);

}  // namespace vd::data
