// vididi/cli/cmd_demo.cpp: `vididi demo`, the `make run` job. On the
// synthetic dynamics dataset (classes = motions, appearance random) it
// pretrains a small R3D-18 with VICReg twice from the same initialisation
// and seed -- frames only (pairs 0-0) and ViDiDi (0-1,1-2,2-0 alternating) --
// and prints retrieval R@k for random init, frames only and ViDiDi side by
// side, with a run directory holding both pretraining runs, results.json and
// report.md. Sized to finish in a few minutes on a 2-core CPU.
#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/cli/pretrain_driver.h"
#include "vididi/cli/report.h"
#include "vididi/models/encoder.h"

namespace vd::cli {

int cmd_demo(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  add_dataset_keys(s);
  add_encoder_keys(s);
  add_device_keys(s);
  add_clip_keys(s, 8, 32);
  s.add("steps", "60", "pretraining steps of each run", KeyType::Int);
  s.add("train_batch", "16", "videos per pretraining step", KeyType::Int);
  s.add("projector_dim", "256", "projector width", KeyType::Int);
  s.add("optimizer", "adamw", "optimizer", KeyType::Choice, {"lars", "sgd", "adamw"});
  s.add("lr", "0.001", "peak learning rate", KeyType::Float);
  s.add("weight_decay", "0.000001", "weight decay", KeyType::Float);
  s.add("warmup_steps", "5", "warm-up steps", KeyType::Int);
  s.add("seed", "0", "seed of the init, data order and augmentation", KeyType::Int);
  s.add("vididi_pairs", "0-1,1-2,2-0", "the ViDiDi run's pairs");
  s.add("out", "", "run directory (default runs/demo-<time>)", KeyType::Path);
  // CPU-sized defaults: 32x32 synthetic frames, width/8 R3D-18, 8-frame clips, 4 eval clips.
  s.set("synth_size", "32", "default");
  s.set("synth_train_per_class", "24", "default");
  s.set("synth_test_per_class", "8", "default");
  s.set("synth_frames", "20", "default");
  s.set("width_divisor", "8", "default");
  s.set("clips", "4", "default");
  s.set("batch", "32", "default");
  const char* summary =
      "The `make run` job: synthetic dynamics, VICReg pretraining of a small R3D-18 with frames only\n"
      "(pairs 0-0) and with ViDiDi, and retrieval R@k of random init vs frames-only vs ViDiDi.";
  if (parse_or_help(s, args, "demo", summary, out)) return 0;
  const auto t_start = std::chrono::steady_clock::now();
  Device device = pick_device(s);
  std::string dir = s.str("out");
  if (dir.empty()) {
    std::time_t now = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&now));
    dir = std::string("runs/demo-") + buf;
  }
  make_dirs(dir);
  write_resolved_config(s, dir);
  auto train = open_dataset(s, data::Subset::train);
  const uint64_t seed = uint64_t(s.integer("seed"));
  out << "vididi demo on " << device.str() << ": " << dataset_description(s) << " ("
      << train->num_classes() << " motion classes)\nencoder " << s.str("encoder") << " width/"
      << s.str("width_divisor") << ", VICReg, " << s.str("steps") << " steps of " << s.str("train_batch")
      << " videos per run; run directory " << dir << "\n";

  PretrainOptions o;
  o.framework = "vicreg";
  o.schedule = "alternate";
  o.steps = s.integer("steps");
  o.batch = int(s.integer("train_batch"));
  o.frames = int(s.integer("frames"));
  o.stride = int(s.integer("stride"));
  o.crop = int(s.integer("crop"));
  o.projector_dim = s.integer("projector_dim");
  o.optimizer = s.str("optimizer");
  o.lr = s.real("lr");
  o.weight_decay = s.real("weight_decay");
  o.warmup_steps = s.integer("warmup_steps");
  o.workers = int(s.integer("workers"));
  o.seed = seed;
  o.device = device;
  o.log_every = int(std::max<int64_t>(1, o.steps / 6));
  o.print = [&](const std::string& line) { out << line << "\n" << std::flush; };

  std::vector<std::pair<std::string, eval::RecallResult>> rows;
  std::vector<std::string> notes;
  struct Run {
    const char* name;
    std::string pairs;  // "" = no pretraining
  };
  const std::vector<Run> runs{{"random", ""}, {"frames-only", "0-0"}, {"vididi", s.str("vididi_pairs")}};
  for (const auto& run : runs) {
    auto enc = build_encoder(s, device, seed);  // the same initialisation for all three
    if (!run.pairs.empty()) {
      o.pairs = run.pairs;
      o.out = dir + "/" + run.name;
      make_dirs(o.out);
      out << "\n[" << run.name << "] pretraining, pairs " << run.pairs << "\n";
      PretrainResult r = pretrain(*enc, train, o);
      std::ostringstream note;
      note << std::fixed << std::setprecision(3) << run.name << ": loss " << r.loss.front() << " -> "
           << r.loss.back() << " in " << std::setprecision(1) << r.seconds << " s (" << r.clips_per_s
           << " clips/s); checkpoint `" << run.name << "/last.ckpt`, log `" << run.name << "/metrics.jsonl`";
      notes.push_back(note.str());
    }
    out << "[" << run.name << "] retrieval features\n";
    auto [ftrain, ftest] = extract_splits(s, *enc, device, out);
    rows.emplace_back(run.name, eval::evaluate_retrieval(ftrain, ftest));
  }
  const std::string table = eval::recall_table(rows);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::ostringstream js;
  js << "{";
  for (size_t i = 0; i < rows.size(); ++i) js << (i ? ", " : "") << "\"" << rows[i].first << "\": " << eval::recall_json(rows[i].second);
  js << "}\n";
  write_text(dir + "/results.json", js.str());
  Report rep;
  rep.title = "vididi demo: random vs frames-only vs ViDiDi (VICReg, synthetic dynamics)";
  rep.command = command_line("demo", args);
  rep.config = s.resolved();
  std::string pre;
  for (const auto& n : notes) pre += "- " + n + "\n";
  rep.sections.push_back({"Results", "Retrieval R@k in percent (test videos query train videos, " +
                                         std::to_string(rows[0].second.queries) + " queries, " +
                                         std::to_string(rows[0].second.gallery) + " gallery videos):\n\n```\n" +
                                         table + "```\n\nJSON: `results.json`. Total time " +
                                         std::to_string(int(total)) + " s on " + device.str() + ".\n"});
  rep.sections.push_back({"Pretraining", pre});
  const std::string report = write_report(dir, rep);
  out << "\nRetrieval R@k (%), " << dataset_description(s) << ":\n" << table
      << "\nrun directory: " << dir << "\nreport:        " << report << "\nresults:       " << dir
      << "/results.json\nlogs:          " << dir << "/{frames-only,vididi}/metrics.jsonl\ntotal time "
      << int(total) << " s\n";
  return 0;
}

}  // namespace vd::cli
