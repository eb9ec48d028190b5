// data/ava.h: the AVA v2.2 annotations, read directly: the label map
// (ava_action_list_v2.2*.pbtxt: `item { name: "..." id: N }` records), the
// box CSVs (`video_id,timestamp,x1,y1,x2,y2,action_id,person_id`, corners
// normalised to [0, 1], keyframes at whole seconds), the optional excluded
// timestamps (`video_id,timestamp`; their rows are left out, as the official
// evaluation does), and the DetectionSet they make with frame folders
// ROOT/<video_id>/img_00001.jpg (frame = round((timestamp - start_sec) *
// fps), SlowFast's 30 fps frames of the 900-1800 s segment by default).
// Multi-label: the rows of one keyframe with the same box are one box with
// all their actions. Each refusal is a DataError naming file:line with a
// hint: a wrong field count, a non-number, an unknown video (no frame
// folder) or class (not in the label map, unless unknown_class = skip), a
// frame out of the video's range, a box outside [0, 1] or with x2 < x1.
// Not here: AVA's person detections (data/detection_set.h reads them).
#pragma once

#include <string>
#include <vector>

#include "data/detection_set.h"
#include "data/frame_folder.h"

namespace vd::data {

struct AvaLabel {
  int id = 0;
  std::string name;
};
// Items in file order; refuses an item without name or id, a repeated id.
std::vector<AvaLabel> parse_ava_label_map(const std::string& text, const std::string& path);
std::vector<AvaLabel> read_ava_label_map(const std::string& path);

struct AvaOptions {
  std::string frames_root;          // ROOT/<video_id>/img_00001.jpg
  FrameFolderConfig frames;         // pattern, short side, corrupt frames (root is set from frames_root)
  DetectionTime time{true, 30, 900};
  bool skip_unknown_classes = false;  // true: rows of actions outside the label map are left out (counted)
};

struct AvaSplitStats {
  int64_t rows = 0, excluded = 0, unknown_class = 0;
};

// One split: `csv` with `excluded` (empty = none) against `labels`.
DetectionSplit read_ava_split(const std::string& csv, const std::string& excluded, const std::vector<AvaLabel>& labels,
                              const AvaOptions& options, AvaSplitStats* stats = nullptr);

DetectionSet ava_detection_set(const std::string& label_map, const std::string& train_csv,
                               const std::string& train_excluded, const std::string& test_csv,
                               const std::string& test_excluded, const AvaOptions& options,
                               AvaSplitStats* train_stats = nullptr, AvaSplitStats* test_stats = nullptr);

}  // namespace vd::data
