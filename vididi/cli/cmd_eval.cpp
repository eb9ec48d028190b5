// vididi/cli/cmd_eval.cpp: the evaluation subcommands. `retrieve`: features
// of the train and test splits (or saved ones), R@k, table + JSON;
// `linear`: the linear probe on cached features; `finetune`: the whole
// network with a classifier. Each writes a run directory with report.md when
// --out is given. The protocols are in vididi/eval/ and docs/PROTOCOLS.md.
#include <iomanip>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/config/device.h"
#include "vididi/eval/finetune.h"
#include "vididi/eval/linear_probe.h"
#include "vididi/files.h"
#include "vididi/models/encoder.h"

namespace vd::cli {

namespace {
// What every evaluation reads: the data, the encoder, the device, the clips.
struct EvalInput {
  DatasetSpec data;
  EncoderInput encoder;
  std::string device = "auto", precision = "fp32";
  vididi::ParallelSpec dist;     // dist_backend, dist_timeout
  vididi::Parallel par;          // set by features_for / encoder_for
  eval::ExtractOptions extract;  // clip shape, order, batch, workers
  uint64_t seed = 0;
  bool bn_recalibrate = false;
  std::string load_features, save_features, out;
};

void input_keys(Settings& s, EvalInput& e) {
  dataset_keys(s, e.data);
  encoder_keys(s, e.encoder);
  vididi::device_keys(s, e.device, e.precision);
  vididi::clip_keys(s, e.extract.clip, true);
  s.add("order", e.extract.order, "derivative order the encoder sees at evaluation (0 = raw frames)").range(0, 2);
  s.add("batch", e.extract.batch, "clips per forward pass").range(1, 1 << 20);
  s.add("workers", e.extract.workers, "data loader threads (0 = one per core)").range(0, 1024);
}

// The keys of retrieve and linear: the input, plus cached features.
void feature_keys(Settings& s, EvalInput& e) {
  input_keys(s, e);
  vididi::parallel_keys(s, e.dist, false);
  s.add("bn_recalibrate", e.bn_recalibrate,
        "re-estimate the batch-norm running statistics on the train split's evaluation clips (of --order) "
        "before extracting features (docs/PROTOCOLS.md)");
  s.add("seed", e.seed, "seed of a random-init encoder and of training");
  s.add("load_features", e.load_features, "folder with train.vdf and test.vdf to use instead of running the encoder")
      .path();
  s.add("save_features", e.save_features, "folder to save train.vdf and test.vdf into").path();
  s.add("out", e.out, "run directory for results and report.md (empty = print only)").path();
}

std::string pct(double x) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << 100 * x;
  return os.str();
}

// The encoder, on the resolved device, as the checkpoint (or the keys) say.
std::shared_ptr<models::Encoder> encoder_for(const Settings& s, EvalInput& e, int64_t num_classes, std::ostream& out) {
  const dist::LaunchInfo launch = dist::launch_from_environment();
  if (launch.world_size > 1)
    throw UsageError("finetune runs in one process, and this one is " + launch.str() +
                     "; hint: start it without mpirun/srun (retrieve and linear extract features on many ranks)");
  std::string note;
  e.extract.device = vididi::resolve_device(e.device, e.precision, &note);
  if (!note.empty()) out << note << "\n";
  return build_encoder(s, e.encoder, e.extract.clip, e.extract.device, e.seed, num_classes, out);
}

// Features per the settings: loaded from --load_features, else extracted
// with the encoder (random init or --checkpoint); saved to --save_features.
// Under a launcher every rank extracts its share of the videos and all hold
// the features after; rank 0 alone prints, saves and (in the caller) goes on.
std::pair<eval::VideoFeatures, eval::VideoFeatures> features_for(const Settings& s, EvalInput& e,
                                                                 std::ostream& all_out) {
  // The device (and a precision the CPU cannot honour) is checked even for saved features.
  e.par = vididi::start_parallel(e.dist, e.device, e.precision);
  e.extract.device = e.par.device;
  e.extract.comm = e.par.comm.get();
  std::ostream null_out(nullptr);
  std::ostream& out = e.par.comm->is_root() ? all_out : null_out;
  if (!e.par.note.empty()) out << e.par.note << "\n";
  if (!e.load_features.empty()) {
    const std::string& d = e.load_features;
    out << "loading features from " << d << "/{train,test}.vdf\n";
    return {eval::load_features(d + "/train.vdf"), eval::load_features(d + "/test.vdf")};
  }
  open_dataset(e.data, data::Subset::train);  // a dataset error comes before the encoder is built
  auto enc = build_encoder(s, e.encoder, e.extract.clip, e.extract.device, e.seed, 0, out);
  out << "extracting features: " << (e.encoder.checkpoint.empty() ? std::string("random init") : e.encoder.checkpoint)
      << " on " << e.extract.device.str() << ", " << dataset_description(e.data) << "\n";
  auto f = extract_splits(e.data, *enc, e.extract, out, e.bn_recalibrate);
  if (!e.save_features.empty() && e.par.comm->is_root()) {
    vididi::make_dirs(e.save_features);
    eval::save_features(f.first, e.save_features + "/train.vdf");
    eval::save_features(f.second, e.save_features + "/test.vdf");
    out << "saved features to " << e.save_features << "/{train,test}.vdf\n";
  }
  return f;
}

std::vector<int> parse_ks(const std::string& text) {
  std::vector<int> ks;
  for (int64_t k : config::integer_list("ks", text, 0, 1, 1 << 30)) ks.push_back(int(k));
  for (size_t i = 1; i < ks.size(); ++i)
    if (ks[i] <= ks[i - 1])
      throw UsageError("bad value for 'ks': expected ascending positive integers, got '" + text + "'", "ks");
  if (ks.empty()) throw UsageError("bad value for 'ks': expected at least one k", "ks");
  return ks;
}
}  // namespace

int cmd_retrieve(const std::vector<std::string>& args, std::ostream& out) {
  EvalInput e;
  std::string ks_text = "1,5,10,20,50", name;
  Settings s;
  feature_keys(s, e);
  s.add("ks", ks_text, "the k of R@k, ascending");
  s.add("name", name, "row label in the table (default: the checkpoint or 'random')");
  const char* summary =
      "Video retrieval (docs/PROTOCOLS.md): each test video queries the train videos by cosine\n"
      "similarity of clip-averaged, L2-normalised encoder features; prints R@k and writes JSON.";
  if (parse_or_help(s, args, "retrieve", summary, out)) return 0;
  const std::vector<int> ks = parse_ks(ks_text);
  auto [train, test] = features_for(s, e, out);
  if (!e.par.comm->is_root()) return 0;  // rank 0 evaluates and writes
  eval::RecallResult r = eval::evaluate_retrieval(train, test, ks);
  if (name.empty()) name = e.encoder.checkpoint.empty() ? "random" : e.encoder.checkpoint;
  const std::string table = eval::recall_table({{name, r}});
  out << "\n" << table << "(" << r.queries << " test queries, " << r.gallery << " train videos in the gallery)\n";
  if (!e.out.empty())
    out << "wrote "
        << write_eval_run(e.out, s, "vididi retrieve", command_line("retrieve", args), "retrieval.json",
                          eval::recall_json(r) + "\n",
                          "Retrieval on " + dataset_description(e.data) + " (percent):\n\n```\n" + table + "```\n")
        << "\n";
  return 0;
}

int cmd_linear(const std::vector<std::string>& args, std::ostream& out) {
  EvalInput e;
  eval::LinearProbeOptions o;
  Settings s;
  feature_keys(s, e);
  s.add("epochs", o.epochs, "passes over the cached train clip features").range(1, 1e6);
  s.add("probe_batch", o.batch, "features per optimizer step").range(1, 1 << 24);
  s.add("optimizer", o.optimizer, "classifier optimizer").choices({"adamw", "sgd"});
  s.add("lr", o.lr, "peak learning rate (cosine to 0)").range(1e-9, 1e3);
  s.add("weight_decay", o.weight_decay, "weight decay").range(0, 10);
  const char* summary =
      "Linear probe (docs/PROTOCOLS.md): frozen encoder, cached features of every evaluation clip,\n"
      "a linear classifier; prints clip top-1 and video top-1 (mean of the clips' logits).";
  if (parse_or_help(s, args, "linear", summary, out)) return 0;
  auto [train, test] = features_for(s, e, out);
  if (!e.par.comm->is_root()) return 0;  // rank 0 trains the probe and writes
  o.seed = e.seed;
  o.on_epoch = [&](int ep, double loss) {
    out << "  epoch " << ep + 1 << "/" << o.epochs << "  loss " << std::setprecision(4) << loss << "\n";
  };
  eval::LinearProbeResult r = eval::linear_probe(train, test, o);
  out << "\nlinear probe: clip top-1 " << pct(r.top1.clip) << "%, video top-1 " << pct(r.top1.video) << "% ("
      << r.test_videos << " test videos, " << r.classes << " classes)\n";
  if (!e.out.empty()) {
    std::ostringstream js;
    js << "{\"clip_top1\": " << r.top1.clip << ", \"video_top1\": " << r.top1.video << ", \"epoch_loss\": [";
    for (size_t i = 0; i < r.epoch_loss.size(); ++i) js << (i ? ", " : "") << r.epoch_loss[i];
    js << "]}\n";
    out << "wrote "
        << write_eval_run(e.out, s, "vididi linear", command_line("linear", args), "linear.json", js.str(),
                          markdown_table({"clip top-1 %", "video top-1 %", "test videos", "classes"},
                                         {{pct(r.top1.clip), pct(r.top1.video), std::to_string(r.test_videos),
                                           std::to_string(r.classes)}}))
        << "\n";
  }
  return 0;
}

int cmd_finetune(const std::vector<std::string>& args, std::ostream& out) {
  EvalInput e;
  eval::FinetuneOptions o;
  Settings s;
  input_keys(s, e);
  s.add("seed", e.seed, "seed of the head init, dropout and data order");
  s.add("epochs", o.epochs, "training epochs").range(1, 1e6);
  s.add("optimizer", o.optimizer, "optimizer").choices({"sgd", "adamw"});
  s.add("lr", o.lr, "peak learning rate after warm-up (cosine to 0)").range(1e-9, 1e3);
  s.add("weight_decay", o.weight_decay, "weight decay (not on biases and BN)").range(0, 10);
  s.add("warmup_epochs", o.warmup_epochs, "linear warm-up length in epochs").range(0, 1e6);
  s.add("dropout", o.dropout, "dropout before the classifier").range(0, 0.99);
  s.add("out", e.out, "run directory for results and report.md (empty = print only)").path();
  const char* summary =
      "Fine-tuning (docs/PROTOCOLS.md): the whole encoder plus a classifier on augmented clips;\n"
      "prints video top-1 over the test split with 10-clip averaging.";
  if (parse_or_help(s, args, "finetune", summary, out)) return 0;
  if (e.extract.order != 0) throw UsageError("finetune trains on raw frames; 'order' must be 0", "order");
  auto train = open_dataset(e.data, data::Subset::train, &out);
  auto test = open_dataset(e.data, data::Subset::test, &out);
  auto enc = encoder_for(s, e, train->num_classes(), out);
  o.clip = e.extract.clip;
  o.batch = e.extract.batch;
  o.workers = e.extract.workers;
  o.seed = e.seed;
  o.device = e.extract.device;
  o.on_step = [&](int64_t step, int64_t total, double loss) {
    if (step % 10 == 0 || step + 1 == total)
      out << "  step " << step + 1 << "/" << total << "  loss " << std::setprecision(4) << loss << "\n" << std::flush;
  };
  out << "fine-tuning " << e.encoder.model.encoder << " on " << o.device.str() << ", " << dataset_description(e.data)
      << "\n";
  eval::FinetuneResult r = eval::finetune(*enc, train, test, o);
  out << "\nfine-tune: clip top-1 " << pct(r.top1.clip) << "%, video top-1 " << pct(r.top1.video) << "%\n";
  if (!e.out.empty()) {
    std::ostringstream js;
    js << "{\"clip_top1\": " << r.top1.clip << ", \"video_top1\": " << r.top1.video << ", \"steps\": " << r.steps
       << "}\n";
    out << "wrote "
        << write_eval_run(e.out, s, "vididi finetune", command_line("finetune", args), "finetune.json", js.str(),
                          markdown_table({"clip top-1 %", "video top-1 %", "steps"},
                                         {{pct(r.top1.clip), pct(r.top1.video), std::to_string(r.steps)}}))
        << "\n";
  }
  return 0;
}

}  // namespace vd::cli
