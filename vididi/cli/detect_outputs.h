// vididi/cli/detect_outputs.h: the pictures of a `vididi detect` run
// directory: per-class AP bars (frame_ap.png, and video_ap.png at each
// video-mAP threshold for tube sets) and keyframes.png, a few test
// keyframes with their ground-truth boxes (green, class) and the scored
// boxes (red, best class and its probability), plus the per-class table of
// report.md. Not here: the protocol (vididi/eval/detection_eval.h).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "data/detection_set.h"
#include "vididi/eval/detection_eval.h"

namespace vd::cli {

// A fraction as a percent with one decimal, "n/a" when not finite (a class
// without ground truth).
std::string percent_or_na(double v);

// Writes the AP bar charts into `dir`; returns (caption, file) for report.md.
std::vector<std::pair<std::string, std::string>> write_ap_bars(const std::string& dir, const eval::DetectionEvaluation& e,
                                                               const data::DetectionSet& set);
// keyframes.png: `count` test keyframes with ground truth spread over the
// split; false when there is none to show.
bool write_keyframe_picture(const std::string& path, const eval::DetectionEvaluation& e, const data::DetectionSet& set,
                            int count);
// The markdown table: class, ground truth, frame AP and video APs, in percent.
std::string per_class_table(const eval::DetectionEvaluation& e, const data::DetectionSet& set);

}  // namespace vd::cli
