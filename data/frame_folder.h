// data/frame_folder.h: a dataset of videos stored as JPEG frame folders,
// ROOT/<class>/<video>/img_00001.jpg ..., listed by a SplitList
// (data/splits.h). It checks the folders when built (missing folder, empty
// video, gaps in the numbering) and decodes frames on request; a corrupt frame
// either stops with its path or is skipped (counted, warned, replaced by the
// nearest readable frame of the same video). No sampling or augmentation here.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/source.h"
#include "data/splits.h"

namespace vd::data {

enum class OnCorrupt { stop, skip };

struct FrameFolderConfig {
  std::string root;                          // holds <class>/<video>/ folders
  std::string frame_pattern = "img_%05d.jpg";  // printf-style, numbered from 1
  int short_side = 0;                        // 0: frames as stored; else resized to it
  OnCorrupt on_corrupt = OnCorrupt::stop;
};

class FrameFolderDataset : public VideoSource {
 public:
  FrameFolderDataset(const SplitList& split, FrameFolderConfig config);

  size_t size() const override { return videos_.size(); }
  int num_classes() const override { return int(classes_.size()); }
  const std::vector<std::string>& class_names() const override { return classes_; }
  int label(size_t v) const override { return videos_[v].label; }
  int num_frames(size_t v) const override { return frames_[v]; }
  std::string name(size_t v) const override { return folder(v); }
  Clip load(size_t video, const std::vector<int>& frames) const override;

  std::string folder(size_t v) const { return config_.root + "/" + videos_[v].path; }
  std::string frame_path(size_t v, int frame) const;  // frame is 0-based
  size_t total_frames() const;
  // Frames replaced because they did not decode (on_corrupt = skip).
  size_t corrupt_frames() const { return corrupt_->load(); }

 private:
  struct Pattern {
    std::string prefix, suffix;
    int digits = 0;
  };
  int count_frames(const std::string& dir) const;
  // Decodes frame f of video v; with on_corrupt = skip, the nearest readable
  // frame stands in for an unreadable one.
  Image decode_one(size_t v, int f) const;

  FrameFolderConfig config_;
  Pattern pattern_;
  std::vector<std::string> classes_;
  std::vector<VideoEntry> videos_;
  std::vector<int> frames_;
  std::unique_ptr<std::atomic<size_t>> corrupt_;
};

}  // namespace vd::data
