// vididi/cli/cmd_experiment.cpp: `vididi experiment`: runs an experiment
// file's cells over its seeds (vididi/cli/experiment.h) and writes the
// results: report.md (per cell: mean, sd, 95% interval, the paired
// difference against the baseline with its interval), results.csv (one row
// per cell and seed), results.json and results.png (per-seed points,
// means and interval bars). Exits 1 when a run failed, after writing them.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/cli/experiment.h"
#include "vididi/files.h"
#include "vididi/plot.h"

namespace vd::cli {

namespace {
std::string f2(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", x);
  return b;
}

std::string summary_table(const ExperimentSpec& spec, const std::vector<CellSummary>& cells) {
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < cells.size(); ++i) {
    const CellSummary& c = cells[i];
    const eval::Summary& m = c.metric;
    const eval::Summary& d = c.difference;
    rows.push_back({std::to_string(i), c.cell.empty() ? "(the one cell)" : c.cell, std::to_string(m.n),
                    f2(m.mean), m.n < 2 ? "" : f2(m.sd), m.n < 2 ? "" : "[" + f2(m.lo) + ", " + f2(m.hi) + "]",
                    !c.has_difference ? (c.cell == spec.baseline ? "baseline" : "")
                                      : (d.mean >= 0 ? "+" : "") + f2(d.mean) +
                                            (d.n < 2 ? "" : " [" + f2(d.lo) + ", " + f2(d.hi) + "]"),
                    c.failed ? std::to_string(c.failed) : ""});
  }
  return markdown_table({"#", "cell", "seeds", spec.metric + " mean", "sd", "95% interval",
                         "minus " + (spec.baseline.empty() ? std::string("baseline") : spec.baseline) + " (paired)",
                         "failed"},
                        rows);
}

// Per cell (x = its number): each seed's value, the mean, the interval.
void plot_cells(const std::string& path, const ExperimentSpec& spec, const std::vector<CellSummary>& cells) {
  vididi::Series points{"per seed", {}, {}}, means{"mean", {}, {}}, bars{"95% interval", {}, {}};
  // A NaN after each point or bar ends it, so that nothing joins the cells.
  auto add = [](vididi::Series& s, std::vector<double> x, std::vector<double> y) {
    x.push_back(NAN), y.push_back(NAN);
    s.x.insert(s.x.end(), x.begin(), x.end());
    s.y.insert(s.y.end(), y.begin(), y.end());
  };
  for (size_t i = 0; i < cells.size(); ++i) {
    const double x = double(i);
    for (double v : cells[i].values) add(points, {x}, {v});
    add(means, {x}, {cells[i].metric.mean});
    if (cells[i].metric.n >= 2) add(bars, {x, x}, {cells[i].metric.lo, cells[i].metric.hi});
  }
  vididi::PlotOptions o;
  o.title = (spec.name.empty() ? std::string("experiment") : spec.name) + ": " + spec.metric + " per cell";
  o.xlabel = "cell (numbered as in report.md)";
  o.ylabel = spec.metric + " (%)";
  vididi::write_line_plot(path, {bars, points, means}, o);
}
}  // namespace

int cmd_experiment(const std::vector<std::string>& args, std::ostream& out) {
  std::string file, dir;
  int64_t jobs = 0;
  Settings s;
  s.add("spec", file, "the experiment file (docs/RESULTS.md, 'Experiments'; examples in experiments/)").path();
  s.add("out", dir, "results folder; run again with the same --out to resume (empty = runs/experiment-<name>)").path();
  s.add("jobs", jobs, "runs at once, as worker processes (0 = the file's jobs key)").range(0, 64);
  const char* summary =
      "Run an experiment file's cells (pretrain settings, optionally crossed with a grid) over its seeds, each\n"
      "an ordinary pretrain run directory plus an evaluation, skipping the runs already done; then per cell the\n"
      "mean, sd and 95% interval of the metric and the paired difference against the baseline cell.";
  if (parse_or_help(s, args, "experiment", summary, out)) return 0;
  if (file.empty()) throw UsageError("experiment needs --spec FILE", "spec");
  ExperimentSpec spec = read_experiment(file);
  if (jobs > 0) spec.jobs = jobs;
  if (dir.empty()) dir = "runs/experiment-" + (spec.name.empty() ? std::string("unnamed") : spec.name);
  for (char& c : dir) c = c == ' ' ? '_' : c;
  vididi::make_dirs(dir);
  out << "experiment " << (spec.name.empty() ? file : spec.name) << ": " << spec.cells.size() << " cells x "
      << spec.seed_list().size() << " seeds, " << spec.evaluate << " (" << spec.metric << "), " << spec.jobs
      << " at once, results in " << dir << "\n" << std::flush;
  const std::vector<RunResult> runs = run_experiment(spec, dir, out);
  const std::vector<CellSummary> cells = summarize_experiment(spec, runs);

  std::ostringstream csv, js;
  csv << "cell,seed,ok," << spec.metric << ",error\n";
  for (const auto& r : runs)
    csv << "\"" << r.cell << "\"," << r.seed << "," << (r.ok ? 1 : 0) << "," << (r.ok ? f2(r.value) : "") << ",\""
        << (r.ok ? "" : r.error) << "\"\n";
  js << "{\"name\": \"" << spec.name << "\", \"metric\": \"" << spec.metric << "\", \"baseline\": \"" << spec.baseline
     << "\", \"cells\": [";
  for (size_t i = 0; i < cells.size(); ++i) {
    const CellSummary& c = cells[i];
    js << (i ? ", " : "") << "{\"cell\": \"" << c.cell << "\", \"n\": " << c.metric.n << ", \"mean\": " << c.metric.mean
       << ", \"sd\": " << c.metric.sd << ", \"lo\": " << c.metric.lo << ", \"hi\": " << c.metric.hi << ", \"values\": [";
    for (size_t k = 0; k < c.values.size(); ++k) js << (k ? ", " : "") << c.values[k];
    js << "], \"seeds\": [";
    for (size_t k = 0; k < c.seeds.size(); ++k) js << (k ? ", " : "") << c.seeds[k];
    js << "], \"failed\": " << c.failed;
    if (c.has_difference)
      js << ", \"difference\": {\"n\": " << c.difference.n << ", \"mean\": " << c.difference.mean << ", \"lo\": "
         << c.difference.lo << ", \"hi\": " << c.difference.hi << "}";
    js << "}";
  }
  js << "]}\n";
  vididi::write_text(dir + "/results.csv", csv.str());
  vididi::write_text(dir + "/results.json", js.str());
  plot_cells(dir + "/results.png", spec, cells);
  const std::string table = summary_table(spec, cells);
  std::string failures;
  for (const auto& r : runs)
    if (!r.ok) failures += "- " + r.cell + ", seed " + std::to_string(r.seed) + ": " + r.error + " (`" + r.dir + "/log.txt`)\n";
  Report rep;
  rep.title = "vididi experiment: " + (spec.name.empty() ? file : spec.name);
  rep.command = command_line("experiment", args);
  rep.config = s.resolved();
  rep.sections.push_back({"Results", spec.metric + " in percent after `" + spec.evaluate + "`, over seeds " + spec.seeds +
                                         " (Student-t 95% intervals; differences paired by seed):\n\n" + table +
                                         "\nFiles: `results.csv`, `results.json`; each run's folder holds its "
                                         "pretrain and " + spec.evaluate + " run directories and `log.txt`.\n"});
  if (!failures.empty()) rep.sections.push_back({"Failed runs", failures});
  rep.sections.push_back({"Experiment file", "`" + file + "`:\n\n```\n" + vididi::read_text(file) + "```\n"});
  rep.images.push_back({"per cell: each seed, the mean and the 95% interval", "results.png"});
  const std::string report = write_report(dir, rep);
  out << "\n" << table << "\nreport: " << report << "\n";
  size_t failed = 0;
  for (const auto& r : runs) failed += r.ok ? 0 : 1;
  if (failed)
    throw UsageError(std::to_string(failed) + " of " + std::to_string(runs.size()) +
                     " runs failed (listed in " + report + "); run the same command again to retry them");
  return 0;
}

}  // namespace vd::cli
