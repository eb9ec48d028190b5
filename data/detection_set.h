// data/detection_set.h: what an action-detection dataset is to the rest of
// vididi: per split, the videos' frames (a VideoSource), each video's
// annotation coordinate frame, the annotated keyframes (boxes, each with one
// or more labels) and, for tube datasets (UCF101-24, JHMDB-21, synthetic),
// the ground-truth tubes. The readers fill it: data/tube_file.h (the text
// format tools/convert_act_pickle.py writes), data/ava.h (AVA v2.2 CSV) and
// synthetic_detection_set() below (the synthetic dynamics' object boxes).
// Also the detections file of AVA's released person boxes, read against a
// split. Not here: features, heads or metrics (vididi/eval/detection_*.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/box.h"
#include "data/source.h"
#include "data/synthetic.h"

namespace vd::data {

// The ground truth of one keyframe: boxes in the video's annotation
// coordinates, labels[i] the classes of boxes[i] (one for single-label sets,
// one or more for AVA). A test keyframe may have no boxes (its detections
// are then all false positives).
struct KeyframeBoxes {
  size_t video = 0;
  int frame = 0;  // 0-based frame index of the video
  std::vector<Box> boxes;
  std::vector<std::vector<int>> labels;
};

// A ground-truth tube: boxes[i] on frame first_frame + i (consecutive).
struct TubeBoxes {
  size_t video = 0;
  int label = 0;
  int first_frame = 0;
  std::vector<Box> boxes;
};

struct DetectionSplit {
  std::shared_ptr<const VideoSource> frames;  // video i of the split = frames' video i
  std::vector<std::string> names;             // the annotation's video ids, [videos]
  // The coordinate frame of each video's boxes: pixels of a width x height
  // frame (UCF101-24 / JHMDB: the annotated resolution, whatever size the
  // frame files are; AVA: 1 x 1, normalised coordinates). A loaded frame of
  // any size maps onto it by scaling each axis.
  std::vector<double> width, height;
  std::vector<KeyframeBoxes> keyframes;  // sorted by (video, frame), one entry per frame
  std::vector<TubeBoxes> tubes;          // empty for AVA
  size_t size() const { return names.size(); }
  // The video named `name` (an annotation id), or -1.
  long find(const std::string& name) const;
};

struct DetectionSet {
  std::string name;                  // "synthetic", "UCF101-24", "AVA v2.2", ...
  std::vector<std::string> classes;  // index = label
  bool multi_label = false;          // AVA: sigmoid / BCE; else softmax / CE
  bool has_tubes = false;            // video-mAP applies
  // The published IoU convention of the set: true for integer pixel boxes
  // (UCF101-24 / JHMDB in ACT's evaluation), false for continuous ones.
  bool inclusive_pixels = false;
  DetectionSplit train, test;
};

// The keyframes of a tube split made from its tubes: the frames
// 0, stride, 2 stride, ... of every video (all of them for the test split,
// `with_boxes_only` = false), or only those that some tube covers (train),
// each with the boxes of the tubes covering it.
std::vector<KeyframeBoxes> tube_keyframes(const DetectionSplit& split, int stride, bool with_boxes_only);

// The synthetic dynamics set with boxes: every object of every video is one
// tube of its motion class (SyntheticDynamics::object_boxes and
// object_labels; one object per video unless SyntheticConfig::objects says
// more), on all its frames; keyframes every `stride` frames. Classes are
// the motion classes.
DetectionSet synthetic_detection_set(const SyntheticConfig& train, const SyntheticConfig& test, int stride);

// One box of a detections file: (video, frame) of `split`, the box in that
// video's annotation coordinates, the detector's score.
struct DetectedBox {
  size_t video = 0;
  int frame = 0;
  Box box;
  double score = 0;
};

// How a detections file's second column names the frame.
struct DetectionTime {
  bool ava = false;       // true: a timestamp in seconds (AVA); false: a 1-based frame number
  double fps = 30;        // AVA: frame = round((timestamp - start_sec) * fps)
  double start_sec = 900;
};
int ava_frame(double timestamp, const DetectionTime& t);

// The format of AVA's released person detections
// (ava_detection_val_boxes_and_labels.csv, SlowFast's predicted boxes):
// lines "video_id,time,x1,y1,x2,y2,action_id,score", coordinates normalised
// to [0, 1] (x by the frame width, y by its height), action_id ignored (may
// be empty). Each refusal names file:line with a hint: a wrong field count,
// a non-number, an unknown video, a frame out of the video's range, a box
// outside [0, 1] or with x2 < x1 / y2 < y1, a score that is not finite.
std::vector<DetectedBox> read_detections_csv(const std::string& path, const DetectionSplit& split,
                                             const DetectionTime& time);
std::vector<DetectedBox> parse_detections_csv(const std::string& text, const std::string& path,
                                              const DetectionSplit& split, const DetectionTime& time);

// --- shared by the readers ----------------------------------------------------
// The fields of a comma-separated line (no quoting; blanks trimmed).
std::vector<std::string> split_csv_line(const std::string& line);
// A finite decimal number, or DataError at `where` naming `what`.
double parse_number(const std::string& s, const std::string& where, const std::string& what);
long parse_integer(const std::string& s, const std::string& where, const std::string& what);
// Refuses x2 < x1, y2 < y1, or a corner outside [0, w] x [0, h], at `where`.
void check_box(const Box& b, double w, double h, const std::string& where, const std::string& hint);

}  // namespace vd::data
