// vididi/cli/detect_data.cpp: the detection dataset keys and opening the set
// (see detect_data.h).
#include "vididi/cli/detect_data.h"

#include <sstream>

#include "core/errors.h"
#include "data/ava.h"
#include "data/tube_file.h"
#include "vididi/cli/datasets.h"
#include "vididi/files.h"

namespace vd::cli {

void detect_data_keys(config::Settings& s, DetectDataSpec& d) {
  s.add("dataset", d.dataset, "synthetic (boxes of the moving object), tubes (UCF101-24 / JHMDB-21 tube file) or ava "
                              "(AVA v2.2 CSVs)").choices({"synthetic", "tubes", "ava"});
  s.add("annotations", d.annotations, "tubes: the text file tools/convert_act_pickle.py writes").path();
  s.add("split", d.split, "tubes: split number (UCF101-24 has 1, JHMDB 1-3)").range(1, 3);
  s.add("data_root", d.data_root, "tubes, ava: frame folders ROOT/<video>/img_00001.jpg (tubes: <video> = "
                                  "<Class>/<name>; ava: the video_id)").path();
  s.add("frame_pattern", d.frame_pattern, "tubes, ava: frame file names, printf-style, numbered from 1");
  s.add("short_side", d.short_side, "tubes, ava: resize frames at load so the short side is this (0 = as stored)")
      .range(0, 4096);
  s.add("on_corrupt", d.on_corrupt, "an unreadable frame stops the run or is replaced by its nearest readable one")
      .choices({"stop", "skip"});
  s.add("ava_label_map", d.ava_label_map, "ava: the label map (ava_action_list_v2.2*.pbtxt)").path();
  s.add("ava_train", d.ava_train, "ava: train boxes (ava_train_v2.2.csv)").path();
  s.add("ava_test", d.ava_test, "ava: evaluation boxes (ava_val_v2.2.csv)").path();
  s.add("ava_train_excluded", d.ava_train_excluded, "ava: excluded train timestamps (empty = none)").path();
  s.add("ava_test_excluded", d.ava_test_excluded, "ava: excluded evaluation timestamps (empty = none)").path();
  s.add("ava_unknown_class", d.ava_unknown_class, "ava: a row whose action is not in the label map stops the run, or "
                                                  "is left out and counted (the 60-class map)").choices({"stop", "skip"});
  s.add("ava_fps", d.ava_fps, "ava: frames per second of the extracted frames").range(1e-3, 1e4);
  s.add("ava_start_sec", d.ava_start_sec, "ava: the timestamp of frame img_00001.jpg (900 = the annotated segment)")
      .range(-1e9, 1e9);
  s.add("synth_size", d.synth_size, "synthetic: frame height and width").range(8, 1024);
  s.add("synth_frames", d.synth_frames, "synthetic: frames per video").range(3, 4096);
  s.add("synth_train_per_class", d.synth_train_per_class, "synthetic: train videos per class").range(1, 1e6);
  s.add("synth_test_per_class", d.synth_test_per_class, "synthetic: test videos per class").range(1, 1e6);
  s.add("synth_seed", d.synth_seed, "synthetic: seed of the generated videos");
  s.add("synth_texture", d.synth_texture, "synthetic: scale of the background texture's contrast").range(0, 100);
  s.add("synth_objects", d.synth_objects, "synthetic: moving objects per video, each with its own motion class "
                                          "(detection is then more than classification)").range(1, 10);
  s.add("train_keyframe_stride", d.train_keyframe_stride,
        "synthetic, tubes: train keyframes every this many frames (among the frames with boxes)").range(1, 1 << 20);
  s.add("test_keyframe_stride", d.test_keyframe_stride,
        "synthetic, tubes: test keyframes every this many frames of every test video (1 = all, as published)")
      .range(1, 1 << 20);
}

data::DetectionTime detection_time(const DetectDataSpec& d) {
  data::DetectionTime t;
  t.ava = d.dataset == "ava";
  t.fps = d.ava_fps;
  t.start_sec = d.ava_start_sec;
  return t;
}

namespace {
void need(const std::string& value, const char* key, const std::string& dataset, const char* what) {
  if (value.empty())
    throw UsageError("dataset = " + dataset + " needs --" + key + " (" + what + ")", key);
  if (!vididi::path_exists(value))
    throw UsageError(std::string(key) + " '" + value + "' does not exist", key);
}

size_t boxes(const data::DetectionSplit& s) {
  size_t n = 0;
  for (const auto& k : s.keyframes) n += k.boxes.size();
  return n;
}
}  // namespace

data::DetectionSet open_detection_set(const DetectDataSpec& d, std::ostream& out) {
  data::DetectionSet set;
  if (d.dataset == "synthetic") {
    data::SyntheticConfig tr = synthetic_config(d, data::Subset::train), te = synthetic_config(d, data::Subset::test);
    tr.objects = te.objects = int(d.synth_objects);
    set = data::synthetic_detection_set(tr, te, 1);
    set.train.keyframes = data::tube_keyframes(set.train, int(d.train_keyframe_stride), true);
    set.test.keyframes = data::tube_keyframes(set.test, int(d.test_keyframe_stride), false);
  } else {
    need(d.data_root, "data_root", d.dataset, "the frame folders");
    data::FrameFolderConfig fc;
    fc.root = d.data_root;
    fc.frame_pattern = d.frame_pattern;
    fc.short_side = int(d.short_side);
    fc.on_corrupt = d.on_corrupt == "skip" ? data::OnCorrupt::skip : data::OnCorrupt::stop;
    if (d.dataset == "tubes") {
      need(d.annotations, "annotations", d.dataset, "the file tools/convert_act_pickle.py writes");
      out << "reading tube annotations " << d.annotations << " and the frame folders\n" << std::flush;
      set = data::tube_detection_set(data::read_tube_file(d.annotations), d.annotations, int(d.split), fc,
                                     int(d.train_keyframe_stride), int(d.test_keyframe_stride));
    } else {
      need(d.ava_label_map, "ava_label_map", d.dataset, "ava_action_list_v2.2*.pbtxt");
      need(d.ava_train, "ava_train", d.dataset, "ava_train_v2.2.csv");
      need(d.ava_test, "ava_test", d.dataset, "ava_val_v2.2.csv");
      data::AvaOptions o;
      o.frames_root = d.data_root;
      o.frames = fc;
      o.time = detection_time(d);
      o.skip_unknown_classes = d.ava_unknown_class == "skip";
      data::AvaSplitStats a, b;
      out << "reading AVA annotations " << d.ava_train << ", " << d.ava_test << " and the frame folders\n" << std::flush;
      set = data::ava_detection_set(d.ava_label_map, d.ava_train, d.ava_train_excluded, d.ava_test, d.ava_test_excluded,
                                    o, &a, &b);
      out << "  AVA rows: train " << a.rows << " (" << a.excluded << " at excluded timestamps, " << a.unknown_class
          << " of classes outside the label map left out), test " << b.rows << " (" << b.excluded << ", "
          << b.unknown_class << ")\n";
    }
  }
  out << "detection set " << set.name << ": " << set.classes.size() << " classes; train " << set.train.size()
      << " videos, " << set.train.keyframes.size() << " keyframes, " << boxes(set.train) << " boxes; test "
      << set.test.size() << " videos, " << set.test.keyframes.size() << " keyframes, " << boxes(set.test)
      << " boxes\n" << std::flush;
  return set;
}

std::string detect_data_description(const DetectDataSpec& d, const data::DetectionSet& set) {
  std::ostringstream os;
  if (d.dataset == "synthetic")
    os << "synthetic dynamics with boxes " << d.synth_size << "x" << d.synth_size << ", " << d.synth_frames
       << " frames, " << d.synth_objects << " object" << (d.synth_objects > 1 ? "s" : "") << " per video, "
       << d.synth_train_per_class << "/" << d.synth_test_per_class << " train/test videos per class, seed "
       << d.synth_seed;
  else if (d.dataset == "tubes")
    os << set.name << " (" << d.annotations << ", split " << d.split << ", frames " << d.data_root << ")";
  else
    os << set.name << " (" << d.ava_train << ", " << d.ava_test << ", frames " << d.data_root << ")";
  os << "; keyframe strides train " << d.train_keyframe_stride << ", test " << d.test_keyframe_stride;
  return os.str();
}

}  // namespace vd::cli
