// vididi/cli/train_settings.cpp: TrainConfig's keys as command-line
// settings, and the report of a pretraining run (see train_settings.h).
#include "vididi/cli/train_settings.h"

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <map>
#include <sstream>

#include "vididi/cli/common.h"

namespace vd::cli {

namespace {
KeyType key_type(const std::string& t) {
  if (t == "int") return KeyType::Int;
  if (t == "real") return KeyType::Float;
  if (t == "bool") return KeyType::Bool;
  return KeyType::String;
}

// "vididi/config.cpp:123: config: batch = 1 ..." -> "config: batch = 1 ...":
// a refused setting is the user's mistake, not a place in the source.
std::string without_location(const std::string& m) {
  size_t colon = m.find(':');
  if (colon == std::string::npos || m.find(' ') < colon) return m;
  size_t end = colon + 1;
  while (end < m.size() && std::isdigit(static_cast<unsigned char>(m[end]))) ++end;
  if (end == colon + 1 || m.compare(end, 2, ": ") != 0) return m;
  return m.substr(end + 2);
}

std::string origin_of(const Settings& s, const std::string& key) {
  for (const auto& k : s.keys())
    if (k.name == key) return k.origin;
  return "default";
}

// A TrainConfig refusal of the value of `key` as a UsageError naming the key
// and where its value came from.
UsageError bad_value(const Settings& s, const std::string& key, const vd::Error& e) {
  std::string o = origin_of(s, key);
  return UsageError("bad value for '" + key + "'" + (o == "default" ? "" : " (" + o + ")") + ": " +
                    without_location(e.what()));
}

std::string fixed(double v, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}
}  // namespace

void add_train_keys(Settings& s, const std::vector<std::string>& skip) {
  for (const auto& k : vididi::TrainConfig::keys())
    if (std::find(skip.begin(), skip.end(), k.name) == skip.end())
      s.add(k.name, k.default_value, k.help, key_type(k.type));
}

void add_train_key(Settings& s, const std::string& name) {
  for (const auto& k : vididi::TrainConfig::keys())
    if (k.name == name) {
      s.add(k.name, k.default_value, k.help, key_type(k.type));
      return;
    }
  VD_FAIL("add_train_key: TrainConfig has no key " << name << "; hint: a bug in the subcommand");
}

std::vector<int64_t> block_counts(const Settings& s) {
  vididi::TrainConfig c;
  try {
    c.set("blocks", s.str("blocks"));
    return c.block_counts();
  } catch (const vd::Error& e) {
    throw bad_value(s, "blocks", e);
  }
}

Settings pretrain_settings() {
  Settings s;
  add_dataset_keys(s);
  add_train_keys(s, {"out"});
  // The command always writes a run directory (TrainConfig's "" = none).
  s.add("out", "", "run directory (empty = runs/pretrain-<date>-<time>)", KeyType::Path);
  return s;
}

vididi::TrainConfig train_config(const Settings& s, const data::VideoSource* source) {
  vididi::TrainConfig c;
  for (const auto& k : vididi::TrainConfig::keys()) {
    if (!s.has(k.name)) continue;
    try {
      c.set(k.name, s.str(k.name));
    } catch (const vd::Error& e) {
      throw bad_value(s, k.name, e);
    }
  }
  try {
    c.validate(source);
  } catch (const vd::Error& e) {
    throw UsageError(without_location(e.what()));
  }
  return c;
}

Settings pretrain_settings_of(const Settings& s, const vididi::TrainConfig& c) {
  Settings run = pretrain_settings();
  for (const auto& k : s.keys())
    if (run.has(k.name)) run.set(k.name, k.value, k.origin);
  for (const auto& k : vididi::TrainConfig::keys())
    if (run.has(k.name)) run.set(k.name, c.get(k.name), origin_of(run, k.name));
  return run;
}

std::string loss_summary(const std::vector<vididi::StepRecord>& records) {
  if (records.empty()) return "no steps run";
  const size_t n = records.size(), w = std::max<size_t>(1, n / 10);
  double first = 0, last = 0;
  for (size_t i = 0; i < w; ++i) first += records[i].loss / double(w), last += records[n - w + i].loss / double(w);
  return "loss " + fixed(first, 3) + " -> " + fixed(last, 3) + " (mean of the first / last " + std::to_string(w) +
         " of " + std::to_string(n) + " steps)";
}

std::string write_pretrain_report(const Settings& run, const vididi::TrainResult& r, const std::string& command,
                                  const std::string& dataset, const std::string& device) {
  const std::string dir = run.str("out");
  const auto records = vididi::read_metrics(dir + "/metrics.jsonl");  // the whole run, resumed parts included
  // Loss per pair: the alternating schedule's pairs have different loss levels.
  std::map<std::string, std::vector<double>> by_pair;
  for (const auto& rec : records) by_pair[rec.pair].push_back(rec.loss);
  std::vector<std::vector<std::string>> rows;
  for (const auto& [pair, l] : by_pair) {
    const size_t w = std::max<size_t>(1, l.size() / 10);
    double a = 0, b = 0;
    for (size_t i = 0; i < w; ++i) a += l[i] / double(w), b += l[l.size() - w + i] / double(w);
    rows.push_back({pair, std::to_string(l.size()), fixed(a, 3), fixed(b, 3)});
  }
  std::ostringstream res;
  res << "Dataset: " << dataset << ". Device: " << device << ".\n\n"
      << "Steps: " << r.steps_done << " of " << r.total_steps
      << (r.first_step > 0 ? " (resumed after step " + std::to_string(r.first_step) + ")" : "")
      << (r.finished ? "" : "; stopped early (stop_after), continue with `--resume auto`") << ".\n"
      << "This call: " << (r.steps_done - r.first_step) << " step(s) in " << fixed(r.seconds, 1) << " s, "
      << fixed(r.clips_per_s, 1) << " clips/s.\n\n"
      << loss_summary(records) << ".\n\n"
      << markdown_table({"pair", "steps", "loss, first 10%", "loss, last 10%"}, rows) << "\n"
      << "Files: `metrics.jsonl` (one JSON line per step: pair, loss terms, lr), `checkpoint.vdc` (model and "
         "optimizer; encoder tensors named `encoder.*`: use `--checkpoint " << dir << "` in retrieve, linear, "
         "finetune), `config.txt`, `run.json` (seed, code version, CUDA/cuDNN).\n";
  Report rep;
  rep.title = "vididi pretrain: " + run.str("framework") + ", pairs " + run.str("pairs") + " (" +
              run.str("schedule") + ")";
  rep.command = command;
  rep.config = run.resolved();
  rep.sections.push_back({"Results", res.str()});
  rep.images.push_back({"loss per step (total and terms)", "loss.png"});
  return write_report(dir, rep);
}

}  // namespace vd::cli
