// vididi/cli/cmd_eval.cpp: the evaluation subcommands. `retrieve`: features
// of the train and test splits (or saved ones), R@k, table + JSON;
// `linear`: the linear probe on cached features; `finetune`: the whole
// network with a classifier. Each writes a run directory with report.md when
// --out is given, with the outputs of vididi/cli/eval_outputs.h. The protocols are in vididi/eval/ and docs/PROTOCOLS.md.
#include <cmath>
#include <iomanip>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/cli/eval_outputs.h"
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
  require_one_process("finetune");
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

namespace {
// The frames of both splits for pictures, when the dataset keys name the
// videos the features came from (same count and names); else nulls.
std::pair<std::shared_ptr<const data::VideoSource>, std::shared_ptr<const data::VideoSource>> frames_for(
    const DatasetSpec& d, const eval::VideoFeatures& train, const eval::VideoFeatures& test) {
  try {
    auto a = open_dataset(d, data::Subset::train), b = open_dataset(d, data::Subset::test);
    auto same = [](const data::VideoSource& src, const eval::VideoFeatures& f) {
      if (src.size() != size_t(f.videos)) return false;
      for (size_t v = 0; v < src.size() && v < f.names.size(); ++v)
        if (!f.names[v].empty() && src.name(v) != f.names[v]) return false;
      return true;
    };
    if (same(*a, train) && same(*b, test)) return {a, b};
  } catch (const std::exception&) {
  }
  return {nullptr, nullptr};
}

std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

int cmd_retrieve(const std::vector<std::string>& args, std::ostream& out) {
  EvalInput e;
  std::string ks_text = "1,5,10,20,50", name;
  int64_t neighbours = 10, picture_queries = 6;
  Settings s;
  feature_keys(s, e);
  s.add("ks", ks_text, "the k of R@k, ascending");
  s.add("name", name, "row label in the table (default: the checkpoint or 'random')");
  s.add("neighbours", neighbours, "nearest train videos listed per test video in neighbours.json/.csv (with --out)")
      .range(1, 1 << 20);
  s.add("picture_queries", picture_queries,
        "test videos shown with their nearest neighbours in neighbours.png (with --out; 0 = no picture)")
      .range(0, 1000);
  const char* summary =
      "Video retrieval (docs/PROTOCOLS.md): each test video queries the train videos by cosine\n"
      "similarity of clip-averaged, L2-normalised encoder features; prints R@k and writes JSON,\n"
      "each query's neighbours (JSON, CSV), recall.png and neighbours.png.";
  if (parse_or_help(s, args, "retrieve", summary, out)) return 0;
  const std::vector<int> ks = parse_ks(ks_text);
  auto [train, test] = features_for(s, e, out);
  if (!e.par.comm->is_root()) return 0;  // rank 0 evaluates and writes
  eval::RecallResult r = eval::evaluate_retrieval(train, test, ks);
  if (name.empty()) name = e.encoder.checkpoint.empty() ? "random" : e.encoder.checkpoint;
  const std::string table = eval::recall_table({{name, r}});
  out << "\n" << table << "(" << r.queries << " test queries, " << r.gallery << " train videos in the gallery)\n";
  if (!e.out.empty()) {
    vididi::make_dirs(e.out);
    std::string results = "Retrieval on " + dataset_description(e.data) + " (percent):\n\n```\n" + table + "```\n\n" +
                          write_neighbours(e.out, train, test, int(neighbours));
    write_recall_png(e.out + "/recall.png", r, "retrieval R@k: " + name);
    std::vector<std::pair<std::string, std::string>> images{{"R@k against k", "recall.png"}};
    if (picture_queries > 0) {
      auto [ftrain, ftest] = frames_for(e.data, train, test);
      if (write_neighbour_picture(e.out + "/neighbours.png", train, test, ftrain.get(), ftest.get(),
                                  int(picture_queries), 5))
        images.push_back({"queries and their five nearest train videos (middle frames)", "neighbours.png"});
      else
        results += "\nNo neighbours.png: the dataset keys do not name the videos of the loaded features.\n";
    }
    out << "wrote "
        << write_eval_run(e.out, s, "vididi retrieve", command_line("retrieve", args), "retrieval.json",
                          eval::recall_json(r) + "\n", results, images)
        << "\n";
  }
  return 0;
}

int cmd_linear(const std::vector<std::string>& args, std::ostream& out) {
  EvalInput e;
  eval::LinearProbeOptions o;
  eval::HeadTrainOptions& t = o.train;
  Settings s;
  feature_keys(s, e);
  head_train_keys(s, t);
  const char* summary =
      "Linear probe (docs/PROTOCOLS.md): frozen encoder, cached features of every evaluation clip,\n"
      "a linear classifier trained until its loss stops improving; prints clip top-1 and video top-1\n"
      "(mean of the clips' logits); writes curves, per-class accuracy and the confusion matrix.";
  if (parse_or_help(s, args, "linear", summary, out)) return 0;
  auto [train, test] = features_for(s, e, out);
  if (!e.par.comm->is_root()) return 0;  // rank 0 trains the probe and writes
  t.seed = e.seed;
  const char* unit = t.solver == "lbfgs" ? "iteration" : "epoch";
  o.on_epoch = [&](const eval::EpochStats& st, const eval::Top1* te) {
    if (te && (st.epoch < 5 || (st.epoch + 1) % 50 == 0))
      out << "  " << unit << " " << st.epoch + 1 << "  loss " << std::setprecision(4) << st.loss << "  "
          << (t.solver == "lbfgs" ? "step " : "lr ") << st.lr << "  test video top-1 " << pct(te->video) << "%\n";
  };
  eval::LinearProbeResult r = eval::linear_probe(train, test, o);
  out << "\nlinear probe: clip top-1 " << pct(r.top1.clip) << "%, video top-1 " << pct(r.top1.video) << "% ("
      << r.test_videos << " test videos, " << r.classes << " classes; " << r.epochs_used() << " " << unit << "s, "
      << r.stop_reason << ")\n";
  if (!e.out.empty()) {
    vididi::make_dirs(e.out);
    std::ostringstream js;
    js << "{\"clip_top1\": " << r.top1.clip << ", \"video_top1\": " << r.top1.video << ", \"solver\": \"" << t.solver
       << "\", \"epochs\": " << r.epochs_used() << ", \"passes\": " << r.passes << ", \"stop\": \"" << r.stop_reason
       << "\", \"epoch_loss\": [";
    for (size_t i = 0; i < r.epochs.size(); ++i) js << (i ? ", " : "") << num(r.epochs[i].loss);
    js << "], \"train_clip_top1\": [";
    for (size_t i = 0; i < r.epochs.size(); ++i) js << (i ? ", " : "") << num(r.epochs[i].train_accuracy);
    js << "], \"test_video_top1\": {";
    for (size_t i = 0; i < r.test_per_epoch.size(); ++i)
      js << (i ? ", " : "") << "\"" << r.test_per_epoch[i].first << "\": " << num(r.test_per_epoch[i].second.video);
    js << "}}\n";
    vididi::Series loss{"train loss", {}, {}}, tr{"train clip top-1", {}, {}}, tc{"test clip top-1", {}, {}},
        tv{"test video top-1", {}, {}};
    for (size_t i = 0; i < r.epochs.size(); ++i) {
      const double x = double(i + 1);
      loss.x.push_back(x), loss.y.push_back(r.epochs[i].loss);
      tr.x.push_back(x), tr.y.push_back(100 * r.epochs[i].train_accuracy);
    }
    for (const auto& [ep, top] : r.test_per_epoch) {
      tc.x.push_back(ep), tc.y.push_back(100 * top.clip);
      tv.x.push_back(ep), tv.y.push_back(100 * top.video);
    }
    write_curve(e.out + "/loss.png", {loss}, std::string("linear probe: mean training loss per ") + unit, unit, "loss");
    write_curve(e.out + "/accuracy.png", {tr, tc, tv}, std::string("linear probe: top-1 per ") + unit, unit,
                "top-1 (%)");
    const std::string classes = write_class_outputs(e.out, test.labels, r.video_predicted, test.class_names, r.classes,
                                                    "linear probe: confusion matrix (test videos)");
    out << "wrote "
        << write_eval_run(e.out, s, "vididi linear", command_line("linear", args), "linear.json", js.str(),
                          markdown_table({"clip top-1 %", "video top-1 %", "test videos", "classes", std::string(unit) + "s"},
                                         {{pct(r.top1.clip), pct(r.top1.video), std::to_string(r.test_videos),
                                           std::to_string(r.classes), std::to_string(r.epochs_used())}}) +
                              "\nTraining stopped: " + r.stop_reason + ".\n\n" + classes,
                          {{"training loss per epoch", "loss.png"},
                           {"train and test top-1 per epoch", "accuracy.png"},
                           {"confusion matrix of the test videos", "confusion.png"}})
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
    vididi::make_dirs(e.out);
    std::ostringstream js;
    js << "{\"clip_top1\": " << r.top1.clip << ", \"video_top1\": " << r.top1.video << ", \"steps\": " << r.steps
       << ", \"epoch_loss\": [";
    for (size_t i = 0; i < r.epoch_loss.size(); ++i) js << (i ? ", " : "") << num(r.epoch_loss[i]);
    js << "], \"epoch_train_top1\": [";
    for (size_t i = 0; i < r.epoch_train_accuracy.size(); ++i) js << (i ? ", " : "") << num(r.epoch_train_accuracy[i]);
    js << "]}\n";
    vididi::Series step{"step loss", {}, {}}, acc{"train top-1 (augmented clips)", {}, {}};
    for (size_t i = 0; i < r.step_loss.size(); ++i) step.x.push_back(double(i)), step.y.push_back(r.step_loss[i]);
    for (size_t i = 0; i < r.epoch_train_accuracy.size(); ++i)
      acc.x.push_back(double(i + 1)), acc.y.push_back(100 * r.epoch_train_accuracy[i]);
    write_curve(e.out + "/loss.png", {step}, "fine-tuning: training loss per step", "step", "loss");
    write_curve(e.out + "/accuracy.png", {acc}, "fine-tuning: train top-1 per epoch", "epoch", "top-1 (%)");
    const std::string classes = write_class_outputs(e.out, r.test_labels, r.video_predicted, test->class_names(),
                                                    r.classes, "fine-tuning: confusion matrix (test videos)");
    out << "wrote "
        << write_eval_run(e.out, s, "vididi finetune", command_line("finetune", args), "finetune.json", js.str(),
                          markdown_table({"clip top-1 %", "video top-1 %", "steps"},
                                         {{pct(r.top1.clip), pct(r.top1.video), std::to_string(r.steps)}}) +
                              "\n" + classes,
                          {{"training loss per step", "loss.png"},
                           {"train top-1 per epoch", "accuracy.png"},
                           {"confusion matrix of the test videos", "confusion.png"}})
        << "\n";
  }
  return 0;
}

}  // namespace vd::cli
