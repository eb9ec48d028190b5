// vididi/cli/cmd_demo.cpp: `vididi demo`, the `make run` job. On the
// synthetic dynamics dataset (classes = motions, appearance random) it
// pretrains a small R3D-18 with vididi::train twice from the same
// initialisation and seed -- frames only (pairs 0-0) and ViDiDi (the `pairs`
// key, 0-1,1-2,2-0 alternating by default) -- and prints retrieval R@k for
// random init, frames only and ViDiDi side by side. The run directory holds
// both pretraining runs (each a full Trainer run directory with its own
// report.md and loss.png), results.json, recall.png and report.md. Its
// training keys are TrainConfig's (vididi/config/train_config.h) with CPU-sized
// defaults.
#include <chrono>
#include <iomanip>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/cli/pretrain_report.h"
#include "vididi/files.h"
#include "vididi/plot.h"

namespace vd::cli {

namespace {
std::string pct_table(const std::vector<std::pair<std::string, eval::RecallResult>>& rows) {
  std::vector<std::string> header{"encoder"};
  for (int k : rows.at(0).second.ks) header.push_back("R@" + std::to_string(k));
  std::vector<std::vector<std::string>> cells;
  for (const auto& [name, r] : rows) {
    cells.push_back({name});
    for (double x : r.recall) {
      std::ostringstream os;
      os << std::fixed << std::setprecision(1) << 100 * x;
      cells.back().push_back(os.str());
    }
  }
  return markdown_table(header, cells);
}

// recall.png: R@k against k, one line per encoder.
void plot_recall(const std::string& path, const std::vector<std::pair<std::string, eval::RecallResult>>& rows) {
  std::vector<vididi::Series> series;
  for (const auto& [name, r] : rows) {
    vididi::Series sr;
    sr.name = name;
    for (size_t i = 0; i < r.ks.size(); ++i) sr.x.push_back(r.ks[i]), sr.y.push_back(100 * r.recall[i]);
    series.push_back(sr);
  }
  vididi::PlotOptions o;
  o.title = "retrieval R@k: test videos query train videos";
  o.xlabel = "k";
  o.ylabel = "R@k (%)";
  vididi::write_line_plot(path, series, o);
}
}  // namespace

int cmd_demo(const std::vector<std::string>& args, std::ostream& out) {
  DatasetSpec d;
  vididi::TrainConfig base;
  int64_t eval_batch = 32;
  std::string dir;
  // CPU-sized defaults (docs/ALGORITHM.md section 7 has the runs behind
  // them): 32x32 synthetic frames, width/8 R3D-18 with one block per stage,
  // 8-frame clips from 10-frame videos (an 8 + 2-frame clip sees most of each
  // path), 20 test videos per class (200 queries: one query is 0.5 points of
  // R@1), 300 steps of 32 videos (VICReg needs a few hundred steps before
  // the frame and derivative embeddings correlate and its variance term
  // leaves its plateau), a projector of 32 (32 embeddings span at most 31
  // dimensions, so a much wider projector cannot meet the variance and
  // covariance terms together), crops of at least
  // 60% of the frame (smaller ones lose the object). No horizontal flip: on
  // synthetic dynamics the class is a direction, and a flipped MoveRight clip
  // is a MoveLeft clip.
  d.synth_size = 32, d.synth_train_per_class = 24, d.synth_test_per_class = 20, d.synth_frames = 10;
  base.flip_p = 0, base.scale_min = 0.6, base.model.width_divisor = 8, base.model.blocks = "1,1,1,1";
  base.clip.frames = 8, base.clip.crop = 32, base.clip.clips = 4, base.steps = 300, base.batch = 32;
  base.projector_dim = 32, base.optimizer = "adamw", base.lr = 0.01, base.weight_decay = 0.0001;
  base.warmup_steps = 10;
  Settings s;
  dataset_keys(s, d);
  vididi::train_keys(s, base, {"out", "resume", "stop_after", "checkpoint_every", "quiet"});
  s.add("clips", base.clip.clips, "evaluation clips per video, evenly spaced (frames, stride, crop as in training)")
      .range(1, 1000);
  s.add("eval_batch", eval_batch, "clips per forward pass when extracting retrieval features").range(1, 1 << 20);
  s.add("out", dir, "run directory (empty = runs/demo-<date>-<time>)").path();
  const char* summary =
      "The `make run` job: synthetic dynamics, VICReg pretraining (vididi::train) of a small R3D-18 with\n"
      "frames only (pairs 0-0) and with ViDiDi (the pairs key), and retrieval R@k of random init vs\n"
      "frames-only vs ViDiDi. The training keys are pretrain's (docs/CONFIG.md), with CPU-sized defaults.";
  if (parse_or_help(s, args, "demo", summary, out)) return 0;
  const auto t_start = std::chrono::steady_clock::now();
  auto train = open_dataset(d, data::Subset::train);
  base.validate(*train);
  if (dir.empty()) dir = default_run_dir("demo");
  vididi::make_dirs(dir);
  vididi::write_text(dir + "/config.txt", s.as_config_file());
  auto print = [&](const std::string& line) { out << line << "\n" << std::flush; };
  out << "vididi demo: " << dataset_description(d) << " (" << train->num_classes() << " motion classes)\n"
      << "encoder " << base.model.encoder << " width/" << base.model.width_divisor << " blocks " << base.model.blocks
      << ", " << base.framework << ", " << base.steps << " steps of " << base.batch << " videos per run; run directory "
      << dir << "\n" << std::flush;

  struct Run {
    const char* name;
    std::string pairs;  // "" = no pretraining
  };
  const std::vector<Run> runs{{"random", ""}, {"frames-only", "0-0"}, {"vididi", base.pairs}};
  std::vector<std::pair<std::string, eval::RecallResult>> rows;
  std::string device, pretraining;
  for (const Run& run : runs) {
    vididi::TrainConfig c = base;
    c.pairs = run.pairs.empty() ? base.pairs : run.pairs;
    c.out = run.pairs.empty() ? "" : dir + "/" + run.name;
    // The same seed gives all three the same encoder initialisation.
    vididi::Trainer trainer(c, c.total_steps(train->size()), print);
    if (device.empty()) device = base.device = trainer.device().str();  // "auto" resolved (and said) once
    if (!run.pairs.empty()) {
      out << "\n[" << run.name << "] pretraining, pairs " << run.pairs << "\n" << std::flush;
      // This run's own config.txt: pretrain's keys with this run's values.
      DatasetSpec rd = d;
      vididi::TrainConfig rc = c;
      Settings rs;
      dataset_keys(rs, rd);
      vididi::train_keys(rs, rc);
      vididi::TrainResult r = vididi::train(trainer, train, rs.as_config_file());
      write_pretrain_report(c, rs.resolved(), r, command_line("demo", args) + "  # the " + run.name + " run",
                            dataset_description(d), device);
      std::ostringstream note;
      note << "**" << run.name << "** (pairs " << run.pairs << "): "
           << loss_summary(vididi::read_metrics(c.out + "/metrics.jsonl")) << ", " << std::fixed
           << std::setprecision(1) << r.seconds << " s, " << r.clips_per_s << " clips/s; [report](" << run.name
           << "/report.md), checkpoint `" << run.name << "/checkpoint.vdc`\n\n![" << run.name << " loss]("
           << run.name << "/loss.png)\n\n";
      pretraining += note.str();
    }
    out << "[" << run.name << "] retrieval features\n" << std::flush;
    eval::ExtractOptions eo;
    eo.clip = c.clip;
    eo.batch = int(eval_batch);
    eo.workers = int(c.workers);
    eo.device = trainer.device();
    auto [ftrain, ftest] = extract_splits(d, trainer.model().encoder(), eo, out);
    rows.emplace_back(run.name, eval::evaluate_retrieval(ftrain, ftest));
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  const std::string table = eval::recall_table(rows);
  std::ostringstream js;
  js << "{\"seconds\": " << int(total) << ", \"device\": \"" << device << "\"";
  for (const auto& [name, r] : rows) js << ", \"" << name << "\": " << eval::recall_json(r);
  js << "}\n";
  vididi::write_text(dir + "/results.json", js.str());
  plot_recall(dir + "/recall.png", rows);

  Report rep;
  rep.title = "vididi demo: random vs frames-only vs ViDiDi (" + base.framework + ", synthetic dynamics)";
  rep.command = command_line("demo", args);
  rep.config = s.resolved();
  rep.sections.push_back(
      {"Results", "Retrieval R@k in percent (" + dataset_description(d) + "; test videos query train videos by cosine "
                  "similarity of clip-averaged features, " + std::to_string(rows[0].second.queries) + " queries, " +
                  std::to_string(rows[0].second.gallery) + " gallery videos, " + std::to_string(train->num_classes()) +
                  " classes; docs/PROTOCOLS.md):\n\n" + pct_table(rows) + "\nJSON: `results.json`. Total time " +
                  std::to_string(int(total)) + " s on " + device + ".\n"});
  rep.sections.push_back({"Pretraining", pretraining});
  rep.images.push_back({"retrieval R@k per encoder", "recall.png"});
  const std::string report = write_report(dir, rep);
  out << "\nRetrieval R@k (%), " << dataset_description(d) << ":\n" << table << "\nrun directory: " << dir
      << "\nreport:        " << report << "\nplots:         " << dir << "/recall.png, " << dir
      << "/{frames-only,vididi}/loss.png\nresults:       " << dir << "/results.json\ntotal time " << int(total)
      << " s on " << device << "\n";
  return 0;
}

}  // namespace vd::cli
