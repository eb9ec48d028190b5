// vididi/run_dir.h: what a training run leaves on disk besides checkpoints:
// the run directory's fixed files (config.txt = the fully resolved
// configuration, run.json = seed, code version, device, CUDA/cuDNN versions),
// the per-step metrics log (metrics.jsonl, one JSON object per line) and the
// loss-curve plot (loss.png). Also the progress line. Not here: the loop.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"

namespace vd::vididi {

// One optimisation step as logged.
struct StepRecord {
  int64_t step = 0;   // 0-based
  int64_t epoch = 0;
  std::string pair;   // "0-1", or "0-1+1-2+2-0" for sum
  double loss = 0, lr = 0, momentum = 0;  // momentum: BYOL's target momentum (0 otherwise)
  std::vector<std::pair<std::string, double>> terms;
  double seconds = 0;  // wall time of the step, data wait included
};

// The code version baked in at build time: `git describe --always --dirty`
// of the source tree, or "unknown (...)" with the reason (Makefile).
std::string code_version();
// "cuda <runtime> / cudnn <version> / <device name>" when built with CUDA and
// a device is present; else "none (built without CUDA)" or "none (no device)".
std::string cuda_versions();

// Writes config.txt and run.json into `dir` (created if missing). A resumed
// run keeps run.json's original "started" time and adds "resumed".
void write_run_files(const std::string& dir, const std::string& config_text, uint64_t seed,
                     const Device& device, const std::string& extra_json = "", bool resumed = false);

// Receives warnings ("warning: FILE:LINE: ..."); empty = printed to stderr.
using Warn = std::function<void(const std::string&)>;

// One JSON line for a step.
std::string to_json(const StepRecord& r);
// `s` as a JSON string literal, quotes included (", \ and control characters escaped).
std::string json_string(const std::string& s);
// Parses lines written by to_json (for resume and plots); unknown keys kept as
// terms. A line that is not one whole object (the torn last line of a killed
// run, a bad number) is dropped with a warning naming file and line.
std::vector<StepRecord> read_metrics(const std::string& path, const Warn& warn = {});
// Keeps only the records with step < `step` (resume rewinds the log to its
// checkpoint), rewriting the file atomically: torn lines are dropped (with
// the warning) and every kept line ends in a newline.
void truncate_metrics(const std::string& path, int64_t step, const Warn& warn = {});
// loss.png: total loss and each term against the step (log axis when all positive).
void plot_losses(const std::string& path, const std::vector<StepRecord>& records);

// "step 120/1000 [===>      ] 12% pair 0-1 | loss 23.41 inv 0.5102 ... | 41.23 clips/s | ETA 0:03:12"
// (numbers to 4 significant digits).
std::string progress_line(const StepRecord& r, int64_t total_steps, double clips_per_s, double eta_seconds);

}  // namespace vd::vididi
