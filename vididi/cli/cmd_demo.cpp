// vididi/cli/cmd_demo.cpp: `vididi demo`, the `make run` job. On the
// synthetic dynamics dataset (classes = motions, appearance random) it
// pretrains a small R3D-18 with vididi::train twice per seed from the same
// initialisation -- frames only (pairs 0-0) and ViDiDi (the `pairs` key,
// 0-1,1-2,2-0 alternating by default) -- measures retrieval R@k of random
// init, frames only and ViDiDi, and reports each over the seeds as a mean
// with a 95% interval, with the paired (same seed) differences of ViDiDi
// against the other two (vididi/eval/stats.h). The sentence it prints is
// read off those intervals. The run directory holds each seed's pretraining
// runs (full run directories with report.md and loss.png), results.json,
// recall.png and report.md. Its training keys are TrainConfig's
// (vididi/config/train_config.h) with CPU-sized defaults. With --detect
// (off by default) each encoder also gets the detection protocol on the
// synthetic boxes (vididi/eval/detection_eval.h: frozen, linear head) and
// the table a frame-mAP@0.5 column.
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/cli/pretrain_report.h"
#include "data/detection_set.h"
#include "vididi/eval/detection_eval.h"
#include "vididi/eval/stats.h"
#include "vididi/files.h"
#include "vididi/plot.h"

namespace vd::cli {

namespace {
const char* const kArms[] = {"random", "frames-only", "vididi"};

std::string fixed1(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", x);
  return b;
}

// R@k in percent of arm `a` over the seeds: recall[a][seed].
using Recalls = std::vector<std::vector<eval::RecallResult>>;
std::vector<double> percent(const std::vector<eval::RecallResult>& runs, size_t k) {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(100 * r.recall[k]);
  return v;
}

// Frame-mAP@0.5 in percent of arm `a` over the seeds (empty without --detect).
using Maps = std::vector<std::vector<double>>;

// One row per arm: mean R@k over the seeds, and R@1's interval; with
// detection, the mean frame-mAP@0.5 and its interval.
std::string mean_table(const Recalls& rec, const Maps& maps) {
  std::vector<std::string> header{"encoder"};
  for (int k : rec[0][0].ks) header.push_back("R@" + std::to_string(k));
  header.push_back("R@1 95% interval");
  if (!maps[0].empty()) header.push_back("frame-mAP@0.5"), header.push_back("frame-mAP 95% interval");
  std::vector<std::vector<std::string>> rows;
  for (size_t a = 0; a < rec.size(); ++a) {
    rows.push_back({kArms[a]});
    for (size_t k = 0; k < rec[a][0].ks.size(); ++k) rows.back().push_back(fixed1(eval::summarize(percent(rec[a], k)).mean));
    const eval::Summary s1 = eval::summarize(percent(rec[a], 0));
    rows.back().push_back(s1.n < 2 ? "(one seed)" : "[" + fixed1(s1.lo) + ", " + fixed1(s1.hi) + "]");
    if (maps[a].empty()) continue;
    const eval::Summary m = eval::summarize(maps[a]);
    rows.back().push_back(fixed1(m.mean));
    rows.back().push_back(m.n < 2 ? "(one seed)" : "[" + fixed1(m.lo) + ", " + fixed1(m.hi) + "]");
  }
  return markdown_table(header, rows);
}

// "ViDiDi - frames-only at R@1: +12.3 points, 95% interval [4.1, 20.5] over 3 seeds: ViDiDi ahead"
std::string difference_line(const Recalls& rec, size_t a, size_t b) {
  const eval::Summary d = eval::paired_difference(percent(rec[a], 0), percent(rec[b], 0));
  std::ostringstream os;
  os << kArms[a] << " - " << kArms[b] << " at R@1: " << (d.mean >= 0 ? "+" : "") << fixed1(d.mean) << " points";
  if (d.n < 2) return os.str() + " (one seed: no interval; give --seeds 0,1,2 or more)";
  os << ", 95% interval [" << fixed1(d.lo) << ", " << fixed1(d.hi) << "] over " << d.n << " seeds (paired): ";
  if (d.lo > 0) os << kArms[a] << " ahead";
  else if (d.hi < 0) os << kArms[a] << " behind";
  else os << "no difference shown (the interval holds 0)";
  return os.str();
}

// recall.png: mean R@k against k, one line per arm.
void plot_recall(const std::string& path, const Recalls& rec) {
  std::vector<vididi::Series> series;
  for (size_t a = 0; a < rec.size(); ++a) {
    vididi::Series sr;
    sr.name = kArms[a];
    for (size_t k = 0; k < rec[a][0].ks.size(); ++k)
      sr.x.push_back(rec[a][0].ks[k]), sr.y.push_back(eval::summarize(percent(rec[a], k)).mean);
    series.push_back(sr);
  }
  vididi::PlotOptions o;
  o.title = "retrieval R@k (mean over seeds): test videos query train videos";
  o.xlabel = "k";
  o.ylabel = "R@k (%)";
  vididi::write_line_plot(path, series, o);
}
}  // namespace

int cmd_demo(const std::vector<std::string>& args, std::ostream& out) {
  DatasetSpec d;
  vididi::TrainConfig base;
  int64_t eval_batch = 32, detect_stride = 2;
  bool detect = false;
  std::string dir, seeds_text = "0,1,2";
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
  vididi::train_keys(s, base, {"out", "resume", "stop_after", "checkpoint_every", "quiet", "seed"});
  s.add("seeds", seeds_text, "training seeds (initialisation, data order, augmentation); results are given as "
                             "mean and 95% interval over them, differences paired by seed");
  s.add("clips", base.clip.clips, "evaluation clips per video, evenly spaced (frames, stride, crop as in training)")
      .range(1, 1000);
  s.add("eval_batch", eval_batch, "clips per forward pass when extracting retrieval features").range(1, 1 << 20);
  s.add("detect", detect, "also the detection protocol on the synthetic boxes for each encoder (frozen, linear head, "
                          "docs/PROTOCOLS.md): a frame-mAP@0.5 column in the table");
  s.add("detect_keyframe_stride", detect_stride, "detect: train and test keyframes every this many frames")
      .range(1, 1 << 20);
  s.add("out", dir, "run directory (empty = runs/demo-<date>-<time>)").path();
  const char* summary =
      "The `make run` job: synthetic dynamics, VICReg pretraining (vididi::train) of a small R3D-18 with\n"
      "frames only (pairs 0-0) and with ViDiDi (the pairs key), and retrieval R@k of random init vs\n"
      "frames-only vs ViDiDi over several seeds (mean, 95% interval, paired differences). The training\n"
      "keys are pretrain's (docs/CONFIG.md), with CPU-sized defaults.";
  if (parse_or_help(s, args, "demo", summary, out)) return 0;
  const auto t_start = std::chrono::steady_clock::now();
  std::vector<uint64_t> seeds;
  for (int64_t v : config::integer_list("seeds", seeds_text, 0, 0, INT64_MAX)) seeds.push_back(uint64_t(v));
  if (seeds.empty()) throw UsageError("bad value for 'seeds': expected at least one seed", "seeds");
  auto train = open_dataset(d, data::Subset::train);
  base.validate(*train);
  if (dir.empty()) dir = default_run_dir("demo");
  vididi::make_dirs(dir);
  vididi::write_text(dir + "/config.txt", s.as_config_file());
  auto print = [&](const std::string& line) { out << line << "\n" << std::flush; };
  out << "vididi demo: " << dataset_description(d) << " (" << train->num_classes() << " motion classes)\n"
      << "encoder " << base.model.encoder << " width/" << base.model.width_divisor << " blocks " << base.model.blocks
      << ", " << base.framework << ", " << base.steps << " steps of " << base.batch << " videos per run, seeds "
      << seeds_text << "; run directory " << dir << "\n" << std::flush;

  Recalls rec(3);
  Maps maps(3);
  data::DetectionSet boxes;
  if (detect) {
    const data::SyntheticConfig tr = synthetic_config(d, data::Subset::train), te = synthetic_config(d, data::Subset::test);
    boxes = data::synthetic_detection_set(tr, te, int(detect_stride));
    boxes.train.keyframes = data::tube_keyframes(boxes.train, int(detect_stride), true);
  }
  std::string device, pretraining;
  for (uint64_t seed : seeds) {
    const std::string seed_dir = dir + "/seed" + std::to_string(seed);
    for (size_t a = 0; a < 3; ++a) {
      const std::string arm = kArms[a];
      vididi::TrainConfig c = base;
      c.seed = seed;
      if (arm == "frames-only") c.pairs = "0-0";
      c.out = arm == "random" ? "" : seed_dir + "/" + arm;
      // The same seed gives all three arms the same encoder initialisation.
      vididi::Trainer trainer(c, vididi::planned_steps(c, *train), print);
      if (device.empty()) device = base.device = trainer.device().str();  // "auto" resolved (and said) once
      if (arm != "random") {
        out << "\n[seed " << seed << ", " << arm << "] pretraining, pairs " << c.pairs << "\n" << std::flush;
        // This run's own config.txt: pretrain's keys with this run's values.
        DatasetSpec rd = d;
        vididi::TrainConfig rc = c;
        Settings rs;
        dataset_keys(rs, rd);
        vididi::train_keys(rs, rc);
        vididi::TrainResult r = vididi::train(trainer, train, rs.as_config_file());
        write_pretrain_report(c, rs.resolved(), r, command_line("demo", args) + "  # seed " + std::to_string(seed) +
                              ", the " + arm + " run", dataset_description(d), device);
        const std::string rel = "seed" + std::to_string(seed) + "/" + arm;
        pretraining += "**" + rel + "** (pairs " + c.pairs + "): " +
                       loss_summary(vididi::read_metrics(c.out + "/metrics.jsonl")) + ", " + fixed1(r.seconds) +
                       " s; [report](" + rel + "/report.md)\n\n";
      }
      out << "[seed " << seed << ", " << arm << "] retrieval features\n" << std::flush;
      eval::ExtractOptions eo;
      eo.clip = c.clip;
      eo.batch = int(eval_batch);
      eo.workers = int(c.workers);
      eo.device = trainer.device();
      auto [ftrain, ftest] = extract_splits(d, trainer.model().encoder(), eo, out);
      rec[a].push_back(eval::evaluate_retrieval(ftrain, ftest));
      out << "[seed " << seed << ", " << arm << "] R@1 " << fixed1(100 * rec[a].back().recall[0]) << "\n";
      if (detect) {
        eval::DetectionEvalOptions o;
        o.detector.frames = int(c.clip.frames), o.detector.stride = int(c.clip.stride);
        o.detector.short_side = int(c.clip.crop);
        o.detector.batch = int(eval_batch), o.detector.workers = int(c.workers);
        o.detector.train.device = trainer.device();
        o.detector.train.seed = seed;
        o.keyframe_stride = int(detect_stride);
        const eval::DetectionEvaluation e = eval::evaluate_detection(trainer.model().encoder(), boxes, o);
        maps[a].push_back(100 * e.frame.map);
        out << "[seed " << seed << ", " << arm << "] frame-mAP@0.5 " << fixed1(100 * e.frame.map) << " (video-mAP@0.5 "
            << fixed1(100 * e.video.back().second.map) << ", " << e.training.head.epochs_used() << " L-BFGS iterations)\n";
      }
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  const std::string table = mean_table(rec, maps);
  const std::string verdict = difference_line(rec, 2, 1) + "\n" + difference_line(rec, 2, 0) + "\n";
  std::ostringstream js;
  js << "{\"seconds\": " << int(total) << ", \"device\": \"" << device << "\", \"seeds\": [" << seeds_text
     << "], \"arms\": {";
  for (size_t a = 0; a < 3; ++a) {
    js << (a ? ", " : "") << "\"" << kArms[a] << "\": [";
    for (size_t i = 0; i < rec[a].size(); ++i) js << (i ? ", " : "") << eval::recall_json(rec[a][i]);
    js << "]";
  }
  js << "}";
  if (detect) {
    js << ", \"frame_map_0.5_percent\": {";
    for (size_t a = 0; a < 3; ++a) {
      js << (a ? ", " : "") << "\"" << kArms[a] << "\": [";
      for (size_t i = 0; i < maps[a].size(); ++i) js << (i ? ", " : "") << maps[a][i];
      js << "]";
    }
    js << "}";
  }
  js << "}\n";
  vididi::write_text(dir + "/results.json", js.str());
  plot_recall(dir + "/recall.png", rec);

  std::string per_seed = "| seed | random R@1 | frames-only R@1 | vididi R@1 |\n|---|---:|---:|---:|\n";
  for (size_t i = 0; i < seeds.size(); ++i)
    per_seed += "| " + std::to_string(seeds[i]) + " | " + fixed1(100 * rec[0][i].recall[0]) + " | " +
                fixed1(100 * rec[1][i].recall[0]) + " | " + fixed1(100 * rec[2][i].recall[0]) + " |\n";
  const eval::RecallResult& r0 = rec[0][0];
  Report rep;
  rep.title = "vididi demo: random vs frames-only vs ViDiDi (" + base.framework + ", synthetic dynamics)";
  rep.command = command_line("demo", args);
  rep.config = s.resolved();
  rep.sections.push_back(
      {"Results", "Retrieval R@k in percent, mean over " + std::to_string(seeds.size()) + " seeds (" +
                      dataset_description(d) + "; test videos query train videos by cosine similarity of "
                      "clip-averaged features, " + std::to_string(r0.queries) + " queries, " +
                      std::to_string(r0.gallery) + " gallery videos, " + std::to_string(train->num_classes()) +
                      " classes; docs/PROTOCOLS.md" +
                      (detect ? "; frame-mAP@0.5 of a linear head on the frozen encoder's RoI features of the "
                                "synthetic boxes, ground-truth test boxes, keyframes every " +
                                    std::to_string(detect_stride) + " frames" : std::string()) +
                      "):\n\n" + table + "\nPaired by seed (Student-t 95% intervals):\n\n" +
                      "- " + difference_line(rec, 2, 1) + "\n- " + difference_line(rec, 2, 0) + "\n\nPer seed:\n\n" +
                      per_seed + "\nJSON: `results.json`. Total time " + std::to_string(int(total)) + " s on " +
                      device + ".\n"});
  rep.sections.push_back({"Pretraining", pretraining});
  rep.images.push_back({"retrieval R@k per encoder (mean over seeds)", "recall.png"});
  const std::string report = write_report(dir, rep);
  out << "\nRetrieval R@k (%), mean over seeds " << seeds_text << ", " << dataset_description(d) << ":\n" << table
      << "\n" << verdict << "\nrun directory: " << dir << "\nreport:        " << report << "\nplots:         " << dir
      << "/recall.png, " << dir << "/seed*/{frames-only,vididi}/loss.png\nresults:       " << dir
      << "/results.json\ntotal time " << int(total) << " s on " << device << "\n";
  return 0;
}

}  // namespace vd::cli
