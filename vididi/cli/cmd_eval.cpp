// vididi/cli/cmd_eval.cpp: the evaluation subcommands. `retrieve`: features
// of the train and test splits (or saved ones), R@k, table + JSON;
// `linear`: the linear probe on cached features; `finetune`: the whole
// network with a classifier. Each writes a run directory with report.md when
// --out is given. The protocols are in vididi/eval/ and docs/PROTOCOLS.md.
#include <iomanip>
#include <sstream>

#include "data/synthetic.h"
#include "vididi/cli/cli.h"
#include "vididi/cli/report.h"
#include "vididi/eval/finetune.h"
#include "vididi/eval/linear_probe.h"
#include "vididi/models/encoder.h"

namespace vd::cli {

namespace {
std::vector<int> parse_ks(const std::string& text) {
  std::vector<int> ks;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) ks.push_back(int(parse_int("ks", item)));
  for (size_t i = 0; i < ks.size(); ++i)
    if (ks[i] < 1 || (i && ks[i] <= ks[i - 1]))
      throw UsageError("bad value for 'ks': expected ascending positive integers, got '" + text + "'");
  if (ks.empty()) throw UsageError("bad value for 'ks': expected at least one k");
  return ks;
}

std::string pct(double x) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << 100 * x;
  return os.str();
}

// Features per the settings: loaded from --load_features, else extracted
// with the encoder (random init or --checkpoint); saved to --save_features.
std::pair<eval::VideoFeatures, eval::VideoFeatures> features_for(const Settings& s, std::ostream& out) {
  if (!s.str("load_features").empty()) {
    const std::string d = s.str("load_features");
    out << "loading features from " << d << "/{train,test}.vdf\n";
    return {eval::load_features(d + "/train.vdf"), eval::load_features(d + "/test.vdf")};
  }
  Device device = pick_device(s);
  open_dataset(s, data::Subset::train);  // a dataset error comes before the encoder is built
  auto enc = build_encoder(s, device, uint64_t(s.integer("seed")));
  out << "extracting features: " << s.str("encoder") << " (width/" << s.str("width_divisor") << ", "
      << (s.str("checkpoint").empty() ? std::string("random init") : s.str("checkpoint")) << ") on "
      << device.str() << ", " << dataset_description(s) << "\n";
  auto f = extract_splits(s, *enc, extract_options(s, device), out, s.flag("bn_recalibrate"));
  if (!s.str("save_features").empty()) {
    make_dirs(s.str("save_features"));
    eval::save_features(f.first, s.str("save_features") + "/train.vdf");
    eval::save_features(f.second, s.str("save_features") + "/test.vdf");
    out << "saved features to " << s.str("save_features") << "/{train,test}.vdf\n";
  }
  return f;
}

// What every evaluation reads: the data, the encoder, the device, the clips.
static void add_encoder_input_keys(Settings& s) {
  add_dataset_keys(s);
  add_encoder_keys(s);
  add_device_keys(s);
  add_clip_keys(s);
}

void add_common_eval_keys(Settings& s) {
  add_encoder_input_keys(s);
  s.add("bn_recalibrate", "false",
        "re-estimate the batch-norm running statistics on the train split's evaluation clips (of --order) "
        "before extracting features (docs/PROTOCOLS.md)",
        KeyType::Bool);
  s.add("seed", "0", "seed of a random-init encoder and of training", KeyType::Int);
  s.add("load_features", "", "folder with train.vdf and test.vdf to use instead of running the encoder", KeyType::Path);
  s.add("save_features", "", "folder to save train.vdf and test.vdf into", KeyType::Path);
  s.add("out", "", "run directory for results and report.md (empty = print only)", KeyType::Path);
}
}  // namespace

int cmd_retrieve(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  add_common_eval_keys(s);
  s.add("ks", "1,5,10,20,50", "the k of R@k, ascending");
  s.add("name", "", "row label in the table (default: the checkpoint or 'random')");
  const char* summary =
      "Video retrieval (docs/PROTOCOLS.md): each test video queries the train videos by cosine\n"
      "similarity of clip-averaged, L2-normalised encoder features; prints R@k and writes JSON.";
  if (parse_or_help(s, args, "retrieve", summary, out)) return 0;
  std::vector<int> ks = parse_ks(s.str("ks"));
  auto [train, test] = features_for(s, out);
  eval::RecallResult r = eval::evaluate_retrieval(train, test, ks);
  std::string name = !s.str("name").empty() ? s.str("name") : s.str("checkpoint").empty() ? "random" : s.str("checkpoint");
  const std::string table = eval::recall_table({{name, r}});
  out << "\n" << table << "(" << r.queries << " test queries, " << r.gallery << " train videos in the gallery)\n";
  if (!s.str("out").empty()) {
    const std::string dir = s.str("out");
    make_dirs(dir);
    write_text(dir + "/retrieval.json", eval::recall_json(r) + "\n");
    write_resolved_config(s, dir);
    Report rep;
    rep.title = "vididi retrieve";
    rep.command = command_line("retrieve", args);
    rep.config = s.resolved();
    rep.sections.push_back({"Results", "Retrieval on " + dataset_description(s) + " (percent):\n\n```\n" + table +
                                           "```\n\nJSON: `retrieval.json`.\n"});
    out << "wrote " << dir << "/retrieval.json and " << write_report(dir, rep) << "\n";
  }
  return 0;
}

int cmd_linear(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  add_common_eval_keys(s);
  s.add("epochs", "10", "passes over the cached train clip features", KeyType::Int);
  s.add("probe_batch", "256", "features per optimizer step", KeyType::Int);
  s.add("optimizer", "adamw", "classifier optimizer", KeyType::Choice, {"adamw", "sgd"});
  s.add("lr", "0.001", "peak learning rate (cosine to 0)", KeyType::Float);
  s.add("weight_decay", "0.0001", "weight decay", KeyType::Float);
  const char* summary =
      "Linear probe (docs/PROTOCOLS.md): frozen encoder, cached features of every evaluation clip,\n"
      "a linear classifier; prints clip top-1 and video top-1 (mean of the clips' logits).";
  if (parse_or_help(s, args, "linear", summary, out)) return 0;
  auto [train, test] = features_for(s, out);
  eval::LinearProbeOptions o;
  o.epochs = int(s.integer("epochs"));
  o.batch = int(s.integer("probe_batch"));
  o.optimizer = s.str("optimizer");
  o.lr = s.real("lr");
  o.weight_decay = s.real("weight_decay");
  o.seed = uint64_t(s.integer("seed"));
  if (o.epochs < 1 || o.batch < 1 || o.lr <= 0)
    throw UsageError("bad value: expected epochs >= 1, probe_batch >= 1 and lr > 0");
  o.on_epoch = [&](int e, double loss) {
    out << "  epoch " << e + 1 << "/" << o.epochs << "  loss " << std::fixed << std::setprecision(4) << loss << "\n";
  };
  eval::LinearProbeResult r = eval::linear_probe(train, test, o);
  out << "\nlinear probe: clip top-1 " << pct(r.top1.clip) << "%, video top-1 " << pct(r.top1.video)
      << "% (" << r.test_videos << " test videos, " << r.classes << " classes)\n";
  if (!s.str("out").empty()) {
    const std::string dir = s.str("out");
    make_dirs(dir);
    std::ostringstream js;
    js << "{\"clip_top1\": " << r.top1.clip << ", \"video_top1\": " << r.top1.video << ", \"epoch_loss\": [";
    for (size_t i = 0; i < r.epoch_loss.size(); ++i) js << (i ? ", " : "") << r.epoch_loss[i];
    js << "]}\n";
    write_text(dir + "/linear.json", js.str());
    write_resolved_config(s, dir);
    Report rep;
    rep.title = "vididi linear";
    rep.command = command_line("linear", args);
    rep.config = s.resolved();
    rep.sections.push_back({"Results", markdown_table({"clip top-1 %", "video top-1 %", "test videos", "classes"},
                                                      {{pct(r.top1.clip), pct(r.top1.video), std::to_string(r.test_videos), std::to_string(r.classes)}})});
    out << "wrote " << write_report(dir, rep) << "\n";
  }
  return 0;
}

int cmd_finetune(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  add_encoder_input_keys(s);
  s.add("seed", "0", "seed of the head init, dropout and data order", KeyType::Int);
  s.add("epochs", "5", "training epochs", KeyType::Int);
  s.add("optimizer", "sgd", "optimizer", KeyType::Choice, {"sgd", "adamw"});
  s.add("lr", "0.05", "peak learning rate after warm-up (cosine to 0)", KeyType::Float);
  s.add("weight_decay", "0.0001", "weight decay (not on biases and BN)", KeyType::Float);
  s.add("warmup_epochs", "1", "linear warm-up length in epochs", KeyType::Float);
  s.add("dropout", "0.5", "dropout before the classifier", KeyType::Float);
  s.add("out", "", "run directory for results and report.md (empty = print only)", KeyType::Path);
  const char* summary =
      "Fine-tuning (docs/PROTOCOLS.md): the whole encoder plus a classifier on augmented clips;\n"
      "prints video top-1 over the test split with 10-clip averaging.";
  if (parse_or_help(s, args, "finetune", summary, out)) return 0;
  Device device = pick_device(s);
  auto train = open_dataset(s, data::Subset::train);
  auto test = open_dataset(s, data::Subset::test);
  auto enc = build_encoder(s, device, uint64_t(s.integer("seed")), train->num_classes());
  eval::FinetuneOptions o;
  eval::ExtractOptions eo = extract_options(s, device);
  o.epochs = int(s.integer("epochs"));
  o.batch = eo.batch;
  o.frames = eo.frames;
  o.stride = eo.stride;
  o.crop = eo.crop;
  o.eval_clips = eo.clips;
  o.workers = eo.workers;
  o.optimizer = s.str("optimizer");
  o.lr = s.real("lr");
  o.weight_decay = s.real("weight_decay");
  o.warmup_epochs = s.real("warmup_epochs");
  o.dropout = s.real("dropout");
  o.seed = uint64_t(s.integer("seed"));
  o.device = device;
  if (o.dropout < 0 || o.dropout >= 1) throw UsageError("bad value for 'dropout': expected 0 <= p < 1, got " + s.str("dropout"));
  if (eo.order != 0) throw UsageError("finetune trains on raw frames; 'order' must be 0");
  o.on_step = [&](int64_t step, int64_t total, double loss) {
    if (step % 10 == 0 || step + 1 == total)
      out << "  step " << step + 1 << "/" << total << "  loss " << std::fixed << std::setprecision(4) << loss << "\n" << std::flush;
  };
  out << "fine-tuning " << s.str("encoder") << " on " << device.str() << ", " << dataset_description(s) << "\n";
  eval::FinetuneResult r = eval::finetune(*enc, train, test, o);
  out << "\nfine-tune: clip top-1 " << pct(r.top1.clip) << "%, video top-1 " << pct(r.top1.video) << "%\n";
  if (!s.str("out").empty()) {
    const std::string dir = s.str("out");
    make_dirs(dir);
    std::ostringstream js;
    js << "{\"clip_top1\": " << r.top1.clip << ", \"video_top1\": " << r.top1.video << ", \"steps\": " << r.steps << "}\n";
    write_text(dir + "/finetune.json", js.str());
    write_resolved_config(s, dir);
    Report rep;
    rep.title = "vididi finetune";
    rep.command = command_line("finetune", args);
    rep.config = s.resolved();
    rep.sections.push_back({"Results", markdown_table({"clip top-1 %", "video top-1 %", "steps"},
                                                      {{pct(r.top1.clip), pct(r.top1.video), std::to_string(r.steps)}})});
    out << "wrote " << write_report(dir, rep) << "\n";
  }
  return 0;
}

}  // namespace vd::cli
