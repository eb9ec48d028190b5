// vididi/cli/experiment.h: `vididi experiment`'s model: an experiment file
// names cells (settings of pretraining, optionally crossed with a grid of
// values) and seeds; every (cell, seed) is an ordinary pretrain run directory
// followed by an evaluation (retrieve, linear or finetune), run in-process or
// in forked worker processes, skipped when its result is already on disk
// (so an interrupted experiment resumes), and a failure is kept as a
// failure. Then per cell: mean, sd and 95% interval of the metric over the
// seeds, and the paired difference against the baseline cell.
// File format (docs/RESULTS.md, "Experiments"):
//   name = pairs ablation          header keys: name, seeds, evaluate,
//   seeds = 0,1,2,3,4              metric, baseline, jobs, and
//   grid.framework = vicreg | simclr   grid.KEY = a | b | ... lines
//   [pretrain]   keys for every pretraining run
//   [evaluate]   keys for every evaluation
//   [cell NAME]  keys of one cell; `pretrain = false`: a random-init encoder;
//                `evaluate.KEY = v` an evaluation key of this cell (also in grids)
// Not here: the tables and plots (cmd_experiment.cpp).
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "vididi/config/settings.h"
#include "vididi/eval/stats.h"

namespace vd::cli {

struct ExperimentCell {
  std::string name;
  config::KeyValues keys;  // pretrain keys of this cell (grid values included)
  config::KeyValues eval_keys;  // evaluation keys of this cell ("evaluate.KEY" in the file)
  bool pretrain = true;    // false: evaluate a randomly initialised encoder
};

struct ExperimentSpec {
  std::string name, seeds = "0,1,2", evaluate = "retrieve", metric, baseline;
  int64_t jobs = 1;
  config::KeyValues pretrain, evaluation;
  std::vector<ExperimentCell> cells;  // after the grid's expansion
  std::vector<uint64_t> seed_list() const;
};

// Reads and checks an experiment file: header keys by their table, every
// pretraining key of every cell by pretrain's own table (a typo fails here,
// not after an hour), the evaluation keys by the evaluation command's.
ExperimentSpec read_experiment(const std::string& path);

struct RunResult {
  std::string cell;
  uint64_t seed = 0;
  bool ok = false;
  double value = 0;   // the metric, in percent
  std::string error;  // the failed command's message
  std::string dir;    // the (cell, seed) folder
};

// Runs every (cell, seed) not yet done under `dir`; one line per run on `out`.
std::vector<RunResult> run_experiment(const ExperimentSpec& spec, const std::string& dir, std::ostream& out);

struct CellSummary {
  std::string cell;
  std::vector<uint64_t> seeds;  // the seeds that succeeded
  std::vector<double> values;
  eval::Summary metric;
  bool has_difference = false;  // false for the baseline itself, or without one
  eval::Summary difference;     // cell - baseline, over the seeds both have
  size_t failed = 0;
};
std::vector<CellSummary> summarize_experiment(const ExperimentSpec& spec, const std::vector<RunResult>& runs);

// "retrieval.json" etc. and the metric's name for an evaluation command.
std::string default_metric(const std::string& evaluate);

}  // namespace vd::cli
