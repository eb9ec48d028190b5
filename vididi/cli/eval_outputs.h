// vididi/cli/eval_outputs.h: the files an evaluation run directory holds
// beyond its JSON and report (issue 17 item 6): for `retrieve`, each query's
// top-k neighbours with similarity and class (neighbours.json and .csv),
// recall.png (R@k against k) and neighbours.png (a few queries, each with
// its nearest train videos: middle frames, framed green when the class
// matches and red when not); for `linear` and `finetune`, curves (loss,
// accuracy), per-class accuracy (per_class.csv and a markdown table) and
// confusion.png. Each writer returns markdown for report.md. Not here: the
// evaluations themselves (vididi/eval/) or the command's keys (cmd_eval.cpp).
#pragma once
#include <string>
#include <vector>

#include "data/source.h"
#include "vididi/eval/linear_probe.h"
#include "vididi/eval/retrieval.h"
#include "vididi/plot.h"

namespace vd::cli {

// neighbours.json / neighbours.csv with the k nearest train videos of every
// test video; returns their markdown mention.
std::string write_neighbours(const std::string& dir, const eval::VideoFeatures& train,
                             const eval::VideoFeatures& test, int k);
void write_recall_png(const std::string& path, const eval::RecallResult& r, const std::string& title);
// neighbours.png: `queries` test videos spread over the split (their i * Q /
// queries-th), each with its `k` nearest train videos. The sources give the
// frames (their video i = the features' video i); returns false (and writes
// nothing) when either is null or its size disagrees with the features.
bool write_neighbour_picture(const std::string& path, const eval::VideoFeatures& train,
                             const eval::VideoFeatures& test, const data::VideoSource* train_frames,
                             const data::VideoSource* test_frames, int queries, int k);

// per_class.csv and confusion.png of video-level predictions; returns the
// per-class markdown table (class, videos, correct, accuracy %).
std::string write_class_outputs(const std::string& dir, const std::vector<int>& labels,
                                const std::vector<int>& predicted, const std::vector<std::string>& class_names,
                                int64_t classes, const std::string& title);

// A line plot with one y axis (loss or accuracy) written to dir/file.
void write_curve(const std::string& path, const std::vector<vididi::Series>& series, const std::string& title,
                 const std::string& xlabel, const std::string& ylabel);

}  // namespace vd::cli
