// vididi/cli/pretrain_report.h: the summary line and report.md of a
// pretraining run (used by `pretrain` and by each run of `demo`).
// Not here: the loop (vididi/train_loop.h) or the metrics file format
// (vididi/run_dir.h).
#pragma once
#include <string>
#include <vector>

#include "vididi/config/settings.h"
#include "vididi/train_loop.h"

namespace vd::cli {

// "loss 23.41 -> 18.02 (mean of the first / last 10 of 120 steps)", over the
// whole run's metrics (a resumed run included).
std::string loss_summary(const std::vector<vididi::StepRecord>& records);

// Writes <c.out>/report.md for a finished vididi::train: results (steps, loss
// per pair, time, clips/s, checkpoint), loss.png, the resolved settings,
// versions. Returns the report's path.
std::string write_pretrain_report(const vididi::TrainConfig& c, const config::KeyValues& settings,
                                  const vididi::TrainResult& r, const std::string& command,
                                  const std::string& dataset, const std::string& device);

}  // namespace vd::cli
