// data/source.h: what a dataset is to the rest of the data layer: a numbered
// list of labelled videos that can decode any chosen frames into a Clip.
// Frame folders (data/frame_folder.h) and the synthetic dynamics
// (data/synthetic.h) implement it; clip sampling, augmentation and the loader
// only see this interface. It holds no sampling or augmentation policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vd::data {

// Decoded frames of one clip, uint8 on the 0..255 scale.
struct Clip {
  int T = 0, H = 0, W = 0, C = 3;
  std::vector<uint8_t> px;  // [T, H, W, C]
  Clip() = default;
  Clip(int t, int h, int w, int c) : T(t), H(h), W(w), C(c), px(size_t(t) * h * w * c, 0) {}
  size_t frame_size() const { return size_t(H) * W * C; }
  uint8_t* frame(int t) { return px.data() + t * frame_size(); }
  const uint8_t* frame(int t) const { return px.data() + t * frame_size(); }
};

class VideoSource {
 public:
  virtual ~VideoSource() = default;
  virtual size_t size() const = 0;
  virtual int num_classes() const = 0;
  virtual const std::vector<std::string>& class_names() const = 0;
  virtual int label(size_t video) const = 0;
  virtual int num_frames(size_t video) const = 0;
  // A name that locates the video for a human: its frame folder path, or
  // "synthetic:<index>". Used in every error about that video.
  virtual std::string name(size_t video) const = 0;
  // Frames `frames` (0-based, each in [0, num_frames)) of `video`, all at one
  // size: [frames.size(), H, W, C]. Must be safe to call from many threads.
  virtual Clip load(size_t video, const std::vector<int>& frames) const = 0;
};

}  // namespace vd::data
