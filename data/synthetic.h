// data/synthetic.h: the built-in "synthetic dynamics" dataset. Each class is a
// motion pattern (rest, constant velocity right/left/up/down, acceleration,
// deceleration, horizontal and vertical oscillation, circular motion); the
// appearance (textured background, object shape, colour, size, start
// position, and the motion's own speed/phase/direction where the class leaves
// it free) is random and independent of the class -- the object large
// (radius 0.1-0.16 of the frame) and contrasted against a faint texture --
// so a single frame says nothing about the label while the motion says it
// all. Videos are rendered on demand, deterministically from (seed, subset,
// index); export_synthetic writes them as UCF101-style frame folders with
// split files, so the JPEG path runs on them too. boxes() gives the moving
// object's box per frame, for detection; optionally further objects with
// other motions (SyntheticConfig::objects). No augmentation here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/box.h"
#include "data/source.h"
#include "data/splits.h"

namespace vd::data {

struct SyntheticConfig {
  int height = 64, width = 64;
  int frames = 32;  // frames per video
  int videos_per_class = 100;
  // Scale of the background gratings' amplitudes (1: each 0.01-0.04, faint
  // beside the object; 4: 0.04-0.16, a texture as strong as the object).
  float texture = 1;
  uint64_t seed = 0;
  Subset subset = Subset::train;  // train and test videos come from different streams
  // Objects per video (1..10). Object 0 moves by the video's class; each
  // further object has its own appearance, start and one of the motions not
  // yet in the video, drawn from its own stream, and is drawn over the ones
  // before it. With 1 (the default) videos are exactly the one-object set's.
  // For detection: the video's label stays object 0's motion.
  int objects = 1;
};

class SyntheticDynamics : public VideoSource {
 public:
  explicit SyntheticDynamics(SyntheticConfig config);

  static const std::vector<std::string>& motion_classes();

  size_t size() const override { return size_t(config_.videos_per_class) * motion_classes().size(); }
  int num_classes() const override { return int(motion_classes().size()); }
  const std::vector<std::string>& class_names() const override { return motion_classes(); }
  // Videos are grouped by class: video i has class i / videos_per_class.
  int label(size_t video) const override { return int(video / size_t(config_.videos_per_class)); }
  int num_frames(size_t) const override { return config_.frames; }
  std::string name(size_t video) const override;
  Clip load(size_t video, const std::vector<int>& frames) const override;
  // All frames: [frames, height, width, 3].
  Clip render(size_t video) const;
  // The moving object's box on each frame (config().frames of them), in
  // continuous pixel coordinates (pixel (x, y) spans [x, x+1) x [y, y+1), as
  // RoIAlign's aligned boxes): the exact extent of the shape's anti-aliased
  // footprint (the pixels whose centre it covers at all), clamped to
  // [0, width] x [0, height]. Computed from the scene, not from the pixels;
  // the rendering is unchanged.
  std::vector<Box> boxes(size_t video) const;
  // Every object's boxes per frame ([objects][frames]; object 0's are
  // boxes()), each the geometric footprint even where a later object
  // covers it, and every object's motion class (object 0's is label()).
  std::vector<std::vector<Box>> object_boxes(size_t video) const;
  std::vector<int> object_labels(size_t video) const;
  // The static background without the object: [1, height, width, 3], the
  // values every frame has away from the object.
  Clip background(size_t video) const;

  const SyntheticConfig& config() const { return config_; }
  // "<Class>/v_<Class>_<train|test>_<0000>": the frame-folder path on export.
  std::string video_path(size_t video) const;

 private:
  SyntheticConfig config_;
};

// Writes frame folders ROOT/<Class>/v_<Class>_<subset>_<i>/img_00001.jpg for
// `train` and `test` (same size, frames and seed; their subsets must be train
// and test) and, in ROOT, classInd.txt, trainlist01.txt and testlist01.txt in
// the UCF101 format. Returns the number of frames written.
size_t export_synthetic(const SyntheticConfig& train, const SyntheticConfig& test,
                        const std::string& root, int jpeg_quality = 95);

}  // namespace vd::data
