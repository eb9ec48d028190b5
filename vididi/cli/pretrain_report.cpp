// vididi/cli/pretrain_report.cpp: a pretraining run's summary and report.md
// (see pretrain_report.h).
#include "vididi/cli/pretrain_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "vididi/cli/report.h"

namespace vd::cli {

namespace {
std::string sig4(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// Means of the first and last tenth of `v` (at least one value each).
std::pair<double, double> first_last_tenth(const std::vector<double>& v) {
  const size_t w = std::max<size_t>(1, v.size() / 10);
  double a = 0, b = 0;
  for (size_t i = 0; i < w; ++i) a += v[i] / double(w), b += v[v.size() - w + i] / double(w);
  return {a, b};
}
}  // namespace

std::string loss_summary(const std::vector<vididi::StepRecord>& records) {
  if (records.empty()) return "no steps run";
  std::vector<double> loss;
  for (const auto& r : records) loss.push_back(r.loss);
  const auto [first, last] = first_last_tenth(loss);
  return "loss " + sig4(first) + " -> " + sig4(last) + " (mean of the first / last " +
         std::to_string(std::max<size_t>(1, loss.size() / 10)) + " of " + std::to_string(loss.size()) + " steps)";
}

std::string write_pretrain_report(const vididi::TrainConfig& c, const config::KeyValues& settings,
                                  const vididi::TrainResult& r, const std::string& command,
                                  const std::string& dataset, const std::string& device) {
  const auto records = vididi::read_metrics(c.out + "/metrics.jsonl");  // the whole run, resumed parts included
  // Loss per pair: the alternating schedule's pairs have different loss levels.
  std::map<std::string, std::vector<double>> by_pair;
  for (const auto& rec : records) by_pair[rec.pair].push_back(rec.loss);
  std::vector<std::vector<std::string>> rows;
  for (const auto& [pair, l] : by_pair) {
    const auto [a, b] = first_last_tenth(l);
    rows.push_back({pair, std::to_string(l.size()), sig4(a), sig4(b)});
  }
  std::ostringstream res;
  res << "Dataset: " << dataset << ". Device: " << device << ".\n\n"
      << "Steps: " << r.steps_done << " of " << r.total_steps
      << (r.first_step > 0 ? " (resumed after step " + std::to_string(r.first_step) + ")" : "")
      << (r.finished ? "" : "; stopped early (stop_after), continue with `--resume auto`") << ".\n"
      << "This call: " << (r.steps_done - r.first_step) << " step(s) in " << sig4(r.seconds) << " s, "
      << sig4(r.clips_per_s) << " clips/s.\n\n"
      << loss_summary(records) << ".\n\n"
      << (r.substituted ? std::to_string(r.substituted) + " training clips came from a substitute video "
                          "(load_errors = substitute): see the run's output for the last failure.\n\n"
                        : std::string())
      << markdown_table({"pair", "steps", "loss, first 10%", "loss, last 10%"}, rows) << "\n"
      << "Files: `metrics.jsonl` (one JSON line per step: pair, loss terms, lr), `checkpoint.vdc` (model, "
         "optimizer and a model card: encoder, width divisor, blocks, heads, clip shape; use `--checkpoint "
      << c.out << "` in retrieve, linear, finetune), `config.txt`, `run.json` (seed, code version, CUDA/cuDNN).\n";
  Report rep;
  rep.title = "vididi pretrain: " + c.framework + ", pairs " + c.pairs + " (" + c.schedule + ")";
  rep.command = command;
  rep.config = settings;
  rep.sections.push_back({"Results", res.str()});
  rep.images.push_back({"loss per step (total and terms)", "loss.png"});
  return write_report(c.out, rep);
}

}  // namespace vd::cli
