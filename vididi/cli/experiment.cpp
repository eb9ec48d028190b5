// vididi/cli/experiment.cpp: reading experiment files, running their cells
// and aggregating over seeds (see experiment.h).
#include "vididi/cli/experiment.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "core/parse.h"
#include "vididi/cli/cli.h"
#include "vididi/files.h"

namespace vd::cli {

namespace {

// A metric in a progress line: 6 significant digits (R@1 14, not
// 14.000000000000002); files keep format_real's full precision.
std::string shown(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}
std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(trim(item));
  return out;
}

// A cell's folder name: letters, digits, '-', '_' and '.'; the rest as '_'.
std::string slug(const std::string& name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  return s;
}

std::vector<std::string> as_args(const config::KeyValues& kv) {
  std::vector<std::string> a;
  for (const auto& [k, v] : kv) a.push_back("--" + k + "=" + v);
  return a;
}

// Runs `args` in-process with its output in `log`; returns (exit code, error line).
std::pair<int, std::string> run_logged(const std::vector<std::string>& args, const std::string& log) {
  std::ofstream os(log, std::ios::app);
  std::ostringstream err;
  os << "$ vididi";
  for (const auto& a : args) os << " " << a;
  os << "\n" << std::flush;
  const int code = run(args, os, err);
  os << err.str();
  std::string line = err.str();
  while (!line.empty() && line.back() == '\n') line.pop_back();
  return {code, line};
}

// The metric from an evaluation's JSON file: R@k from retrieval.json's
// "recall" object, video_top1 / clip_top1 from linear.json or finetune.json.
double read_metric(const std::string& json_path, const std::string& metric) {
  const std::string text = vididi::read_text(json_path);
  std::string key = metric;
  if (metric.rfind("R@", 0) == 0) key = metric.substr(2);
  const std::string needle = "\"" + key + "\": ";
  const size_t k = text.find(needle);
  if (k == std::string::npos)
    throw UsageError(json_path + ": no metric '" + metric + "'; hint: metric = R@1 (retrieve) or video_top1", "metric");
  double v = 0;
  const size_t b = k + needle.size(), e = text.find_first_of(",}", b);
  const std::string why = parse_real(trim(text.substr(b, e - b)), 0, 1, &v);
  if (!why.empty()) throw UsageError(json_path + ": metric '" + metric + "': " + why, "metric");
  return 100 * v;
}

const char* json_name(const std::string& evaluate) {
  return evaluate == "retrieve" ? "retrieval.json" : evaluate == "linear" ? "linear.json" : "finetune.json";
}

// The keys an evaluation takes from the pretraining keys: the dataset, the
// model and clip shape (for a random-init cell), the device.
bool forwarded(const std::string& key) {
  static const char* const keys[] = {"dataset", "data_root", "split_dir", "split", "train_list", "test_list",
                                     "short_side", "on_corrupt", "synth_size", "synth_frames",
                                     "synth_train_per_class", "synth_test_per_class", "synth_seed", "synth_texture",
                                     "encoder", "width_divisor", "blocks", "frames", "stride", "crop", "device",
                                     "precision", "workers"};
  for (const char* k : keys)
    if (key == k) return true;
  return false;
}

std::vector<std::string> pretrain_args(const ExperimentSpec& spec, const ExperimentCell& cell) {
  std::vector<std::string> a{"pretrain"};
  for (const auto& x : as_args(spec.pretrain)) a.push_back(x);
  for (const auto& x : as_args(cell.keys)) a.push_back(x);
  return a;
}

std::vector<std::string> eval_args(const ExperimentSpec& spec, const ExperimentCell& cell) {
  std::map<std::string, std::string> fw;  // later keys win, as flags do
  for (const auto* kv : {&spec.pretrain, &cell.keys})
    for (const auto& [k, v] : *kv)
      if (forwarded(k)) fw[k] = v;
  std::vector<std::string> a{spec.evaluate};
  for (const auto& [k, v] : fw) a.push_back("--" + k + "=" + v);
  for (const auto& x : as_args(spec.evaluation)) a.push_back(x);
  for (const auto& x : as_args(cell.eval_keys)) a.push_back(x);
  return a;
}

// One (cell, seed): pretraining (resumable) then the evaluation; the
// result file marks it done.
RunResult run_one(const ExperimentSpec& spec, const ExperimentCell& cell, uint64_t seed, const std::string& dir) {
  RunResult r;
  r.cell = cell.name, r.seed = seed, r.dir = dir;
  vididi::make_dirs(dir);
  const std::string seed_arg = "--seed=" + std::to_string(seed), log = dir + "/log.txt";
  if (cell.pretrain) {
    std::vector<std::string> a = pretrain_args(spec, cell);
    for (const std::string& x : {seed_arg, "--out=" + dir + "/pretrain", std::string("--resume=auto")}) a.push_back(x);
    auto [code, err] = run_logged(a, log);
    if (code != 0) {
      r.error = "pretrain: " + err;
      return r;
    }
  }
  std::vector<std::string> a = eval_args(spec, cell);
  a.push_back(seed_arg);
  a.push_back("--out=" + dir + "/" + spec.evaluate);
  if (cell.pretrain) a.push_back("--checkpoint=" + dir + "/pretrain");
  auto [code, err] = run_logged(a, log);
  if (code != 0) {
    r.error = spec.evaluate + ": " + err;
    return r;
  }
  r.value = read_metric(dir + "/" + spec.evaluate + "/" + json_name(spec.evaluate), spec.metric);
  r.ok = true;
  vididi::write_text(dir + "/result.txt", format_real(r.value) + "\n");
  return r;
}

// A finished (cell, seed) from its result file, if any.
bool read_done(const std::string& dir, RunResult* r) {
  const std::string t = trim(vididi::read_text(dir + "/result.txt"));
  if (t.empty() || !parse_real(t, -1e9, 1e9, &r->value).empty()) return false;
  r->ok = true;
  return true;
}
}  // namespace

std::vector<uint64_t> ExperimentSpec::seed_list() const {
  std::vector<uint64_t> out;
  for (int64_t s : config::integer_list("seeds", seeds, 0, 0, INT64_MAX)) out.push_back(uint64_t(s));
  return out;
}

std::string default_metric(const std::string& evaluate) { return evaluate == "retrieve" ? "R@1" : "video_top1"; }

ExperimentSpec read_experiment(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("cannot open experiment file " + path, "config", path);
  ExperimentSpec spec;
  std::string header, line, section;
  std::vector<std::pair<std::string, std::vector<std::string>>> grid;
  std::vector<ExperimentCell> declared;
  config::KeyValues* target = nullptr;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = path + ":" + std::to_string(n), t = trim(line);
    if (t.empty() || t[0] == '#') {
      header += "\n";
      continue;
    }
    if (t[0] == '[') {
      if (t.back() != ']') throw UsageError(where + ": expected [pretrain], [evaluate] or [cell NAME], got '" + t + "'");
      section = trim(t.substr(1, t.size() - 2));
      if (section == "pretrain") target = &spec.pretrain;
      else if (section == "evaluate") target = &spec.evaluation;
      else if (section.rfind("cell ", 0) == 0 && !trim(section.substr(5)).empty()) {
        declared.push_back({trim(section.substr(5)), {}, {}, true});
        target = &declared.back().keys;
      } else {
        throw UsageError(where + ": unknown section [" + section + "]; expected [pretrain], [evaluate] or [cell NAME]");
      }
      header += "\n";
      continue;
    }
    const size_t eq = t.find('=');
    if (eq == std::string::npos) throw UsageError(where + ": expected 'key = value', got '" + t + "'");
    const std::string key = trim(t.substr(0, eq));
    std::string value = trim(t.substr(eq + 1));
    const size_t hash = value.find(" #");
    if (hash != std::string::npos) value = trim(value.substr(0, hash));
    if (!target && key.rfind("grid.", 0) == 0) {
      grid.push_back({key.substr(5), split(value, '|')});
      header += "\n";
    } else if (!target) {
      header += t + "\n";  // header keys, read by their table below
    } else if (section.rfind("cell ", 0) == 0 && key.rfind("evaluate.", 0) == 0) {
      declared.back().eval_keys.emplace_back(key.substr(9), value);
    } else if (section.rfind("cell ", 0) == 0 && key == "pretrain") {
      bool b = true;
      if (!parse_bool(value, &b).empty()) throw UsageError(where + ": pretrain expects true or false, got '" + value + "'");
      declared.back().pretrain = b;
    } else {
      target->emplace_back(key, value);
    }
  }
  config::Settings h;
  h.add("name", spec.name, "the experiment's title");
  h.add("seeds", spec.seeds, "seeds of every cell");
  h.add("evaluate", spec.evaluate, "the evaluation after pretraining").choices({"retrieve", "linear", "finetune"});
  h.add("metric", spec.metric, "R@k of retrieve, or video_top1 / clip_top1 (empty = R@1 or video_top1)");
  h.add("baseline", spec.baseline, "the cell the others are compared with, seed by seed");
  h.add("jobs", spec.jobs, "runs at once (worker processes)").range(1, 64);
  h.apply_text(header, path);
  if (spec.metric.empty()) spec.metric = default_metric(spec.evaluate);
  spec.seed_list();
  // Cells x grid: every declared cell with every combination of grid values.
  if (declared.empty()) declared.push_back({"", {}, {}, true});
  for (const ExperimentCell& c : declared) {
    std::vector<ExperimentCell> combos{c};
    for (const auto& [key, values] : grid) {
      std::vector<ExperimentCell> next;
      for (const ExperimentCell& x : combos)
        for (const std::string& v : values) {
          ExperimentCell y = x;
          y.name += (y.name.empty() ? "" : " ") + key + "=" + v;
          if (key.rfind("evaluate.", 0) == 0) y.eval_keys.emplace_back(key.substr(9), v);
          else y.keys.emplace_back(key, v);
          next.push_back(y);
        }
      combos = next;
    }
    for (const auto& x : combos) spec.cells.push_back(x);
  }
  bool has_baseline = spec.baseline.empty();
  for (const auto& c : spec.cells) has_baseline = has_baseline || c.name == spec.baseline;
  if (!has_baseline) throw UsageError(path + ": baseline '" + spec.baseline + "' is not one of the cells", "baseline", path);
  // Check every command line before anything runs.
  for (const auto& c : spec.cells) {
    std::ostringstream sink, err;
    std::vector<std::string> a = c.pretrain ? pretrain_args(spec, c) : eval_args(spec, c);
    a.push_back("--check");
    if (run(a, sink, err) != 0) throw UsageError(path + ": cell '" + c.name + "': " + trim(err.str()), "", path);
    if (c.pretrain) {
      a = eval_args(spec, c);
      a.push_back("--check");
      if (run(a, sink, err) != 0) throw UsageError(path + ": cell '" + c.name + "': " + trim(err.str()), "", path);
    }
  }
  return spec;
}

std::vector<RunResult> run_experiment(const ExperimentSpec& spec, const std::string& dir, std::ostream& out) {
  struct Job {
    const ExperimentCell* cell;
    uint64_t seed;
    std::string dir;
  };
  std::vector<Job> jobs;
  std::vector<RunResult> results;
  for (const auto& c : spec.cells)
    for (uint64_t s : spec.seed_list()) {
      const std::string d = dir + "/" + slug(c.name.empty() ? "cell" : c.name) + "/seed" + std::to_string(s);
      RunResult r;
      r.cell = c.name, r.seed = s, r.dir = d;
      if (read_done(d, &r)) {
        out << "done before: " << c.name << ", seed " << s << ": " << spec.metric << " " << shown(r.value) << "\n";
        results.push_back(r);
      } else {
        jobs.push_back({&c, s, d});
      }
    }
  size_t next = 0, done = 0;
  auto say = [&](const RunResult& r) {
    ++done;
    out << "[" << done << "/" << jobs.size() << "] " << r.cell << ", seed " << r.seed << ": "
        << (r.ok ? spec.metric + " " + shown(r.value) : "FAILED: " + r.error) << " (" << r.dir << ")\n"
        << std::flush;
    results.push_back(r);
  };
  if (spec.jobs <= 1) {
    for (const Job& j : jobs) say(run_one(spec, *j.cell, j.seed, j.dir));
    return results;
  }
  // Worker processes: each runs one (cell, seed) and exits; the result file
  // (or its absence and the log) tells the parent how it went.
  std::map<pid_t, size_t> running;
  while (next < jobs.size() || !running.empty()) {
    while (next < jobs.size() && running.size() < size_t(spec.jobs)) {
      const pid_t pid = ::fork();
      if (pid < 0) throw UsageError("experiment: cannot start a worker process (fork failed)");
      if (pid == 0) {
        RunResult r = run_one(spec, *jobs[next].cell, jobs[next].seed, jobs[next].dir);
        if (!r.ok) vididi::write_text(jobs[next].dir + "/error.txt", r.error + "\n");
        ::_exit(r.ok ? 0 : 1);
      }
      running[pid] = next++;
    }
    int status = 0;
    const pid_t pid = ::wait(&status);
    if (pid < 0) break;
    const Job& j = jobs[running.at(pid)];
    running.erase(pid);
    RunResult r;
    r.cell = j.cell->name, r.seed = j.seed, r.dir = j.dir;
    if (!read_done(j.dir, &r)) {
      r.error = trim(vididi::read_text(j.dir + "/error.txt"));
      if (r.error.empty()) r.error = "the worker process ended with status " + std::to_string(status);
    }
    say(r);
  }
  return results;
}

std::vector<CellSummary> summarize_experiment(const ExperimentSpec& spec, const std::vector<RunResult>& runs) {
  std::vector<CellSummary> out;
  auto value_of = [&](const std::string& cell, uint64_t seed, double* v) {
    for (const auto& r : runs)
      if (r.ok && r.cell == cell && r.seed == seed) {
        *v = r.value;
        return true;
      }
    return false;
  };
  for (const auto& c : spec.cells) {
    CellSummary s;
    s.cell = c.name;
    std::vector<double> mine, base;
    for (uint64_t seed : spec.seed_list()) {
      double v = 0, b = 0;
      if (!value_of(c.name, seed, &v)) {
        ++s.failed;
        continue;
      }
      s.seeds.push_back(seed), s.values.push_back(v);
      if (!spec.baseline.empty() && c.name != spec.baseline && value_of(spec.baseline, seed, &b))
        mine.push_back(v), base.push_back(b);
    }
    s.metric = eval::summarize(s.values);
    if (!mine.empty()) s.has_difference = true, s.difference = eval::paired_difference(mine, base);
    out.push_back(s);
  }
  return out;
}

}  // namespace vd::cli
