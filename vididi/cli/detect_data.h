// vididi/cli/detect_data.h: the dataset keys of `vididi detect` (which
// detection set, where its annotations and frames are, keyframe strides)
// as one struct with its key table, and opening it as a DetectionSet:
// synthetic dynamics with boxes, a tube file (UCF101-24 / JHMDB-21 converted
// by tools/convert_act_pickle.py) with frame folders, or AVA v2.2 CSVs with
// frame folders. Not here: the readers (data/tube_file.h, data/ava.h,
// data/detection_set.h) or the protocol (vididi/eval/detection_eval.h).
#pragma once
#include <ostream>
#include <string>

#include "data/detection_set.h"
#include "vididi/config/settings.h"

namespace vd::cli {

struct DetectDataSpec {
  std::string dataset = "synthetic";  // synthetic | tubes | ava
  std::string annotations;            // tubes: the converted text file
  int64_t split = 1;
  std::string data_root, frame_pattern = "img_%05d.jpg", on_corrupt = "stop";
  int64_t short_side = 0;
  std::string ava_label_map, ava_train, ava_test, ava_train_excluded, ava_test_excluded;
  std::string ava_unknown_class = "stop";
  double ava_fps = 30, ava_start_sec = 900;
  int64_t synth_size = 32, synth_frames = 10, synth_train_per_class = 24, synth_test_per_class = 20;
  uint64_t synth_seed = 0;
  double synth_texture = 1;
  int64_t synth_objects = 1;
  int64_t train_keyframe_stride = 1, test_keyframe_stride = 1;
};

void detect_data_keys(config::Settings& s, DetectDataSpec& d);
// The set; says on `out` what it read (videos, keyframes, boxes, rows left out).
data::DetectionSet open_detection_set(const DetectDataSpec& d, std::ostream& out);
// How a detections file of this set names its frames.
data::DetectionTime detection_time(const DetectDataSpec& d);
// "synthetic dynamics 32x32, 10 frames, ...", "UCF101-24 (annotations FILE, split 1)", ...
std::string detect_data_description(const DetectDataSpec& d, const data::DetectionSet& set);

}  // namespace vd::cli
