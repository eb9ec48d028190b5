// vididi/cli/common.cpp: help, the evaluation encoder, feature extraction,
// run-directory endings and the build description (see common.h).
#include "vididi/cli/common.h"

#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <iomanip>

#include "core/backend.h"
#include "core/precision.h"
#include "core/random.h"
#include "dist/communicator.h"
#include "layers/checkpoint.h"
#include "layers/safetensors.h"
#include "vididi/files.h"
#include "vididi/model_card.h"
#include "vididi/models/encoder.h"
#include "vididi/models/torchvision_io.h"
#include "vididi/run_dir.h"

namespace vd::cli {

bool parse_or_help(Settings& s, const std::vector<std::string>& args, const char* name, const char* summary,
                   std::ostream& out) {
  std::vector<std::string> rest;
  bool check = false;
  for (const auto& a : args) {
    if (a == "--check") check = true;
    else rest.push_back(a);
  }
  if (s.apply_args(rest)) {
    if (check) out << "vididi " << name << ": the keys and their values are valid (checks across keys run at the start)\n";
    return check;
  }
  out << "usage: vididi " << name << " [--config FILE] [--key value | --key=value ...] [--check]\n"
      << summary << "\n\nkeys (config file: one 'key = value' per line; flags override):\n"
      << s.help_text();
  return true;
}

// --- the evaluation encoder ------------------------------------------------------------

void encoder_keys(Settings& s, EncoderInput& e) {
  vididi::model_keys(s, e.model);
  s.add("checkpoint", e.checkpoint,
        "encoder weights: a pretrain run directory or checkpoint file; its model card sets encoder, width_divisor, "
        "blocks and the clip shape (empty = random init)")
      .path();
}

std::string resolve_checkpoint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw UsageError("checkpoint '" + path + "' does not exist; hint: give a pretrain run directory or a .ckpt file",
                     "checkpoint", path);
  if (!S_ISDIR(st.st_mode)) return path;
  for (const char* name : {"checkpoint.vdc", "encoder.ckpt", "last.ckpt", "checkpoint.ckpt", "latest.ckpt",
                           "encoder.safetensors"})
    if (vididi::path_exists(path + "/" + name)) return path + "/" + name;
  throw UsageError("checkpoint folder '" + path +
                       "' holds none of checkpoint.vdc, encoder.ckpt, last.ckpt, checkpoint.ckpt, latest.ckpt, "
                       "encoder.safetensors",
                   "checkpoint", path);
}

namespace {
// The model card's values replace the keys' defaults; a given key must agree.
void adopt_card(const Settings& s, const vididi::ModelCard& card, const std::string& path, EncoderInput& e,
                vididi::ClipSpec& clip, std::ostream& out) {
  auto model_key = [&](const char* key, auto& value, const auto& from_card) {
    if (value == from_card) return;
    std::ostringstream ours, theirs;
    ours << value, theirs << from_card;
    if (s.given(key))
      throw UsageError(std::string(key) + " = " + ours.str() + " (" + s.key(key).origin() +
                           ") contradicts the checkpoint's " + key + " = " + theirs.str() + " (" + path +
                           "); hint: leave " + key + " out: the checkpoint records its model",
                       key, s.key(key).origin());
    value = from_card;
  };
  model_key("encoder", e.model.encoder, card.model.encoder);
  model_key("width_divisor", e.model.width_divisor, card.model.width_divisor);
  model_key("blocks", e.model.blocks, card.model.blocks);
  auto clip_key = [&](const char* key, int64_t& value, int64_t from_card) {
    if (value == from_card) return;
    if (!s.has(key) || !s.given(key)) {
      value = from_card;
      return;
    }
    out << "note: " << key << " = " << value << " (" << s.key(key).origin() << ") differs from the " << from_card
        << " the checkpoint was trained at; evaluating at " << value << " as given\n";
  };
  clip_key("frames", clip.frames, card.clip.frames);
  clip_key("stride", clip.stride, card.clip.stride);
  clip_key("crop", clip.crop, card.clip.crop);
}

// Copies the encoder's tensors from a checkpoint's model: names may be the
// encoder's own or carry an "encoder." prefix (a whole pretraining model);
// every encoder tensor but the classification head must be there with its
// shape, and no other encoder tensor (a deeper checkpoint must not load into
// a shallower encoder).
void load_encoder_weights(models::Encoder& encoder, const Checkpoint& ck, const std::string& path) {
  nn::NamedTensors src;
  bool prefixed = false;
  for (const auto& [name, t] : ck.model) prefixed = prefixed || name.rfind("encoder.", 0) == 0;
  for (const auto& [name, t] : ck.model) {
    if (!prefixed) src.emplace_back(name, t);
    else if (name.rfind("encoder.", 0) == 0) src.emplace_back(name.substr(8), t);
  }
  auto head = [](const std::string& n) { return n.rfind("fc.", 0) == 0 || n.rfind("classifier.", 0) == 0; };
  const nn::NamedTensors dst = encoder.state_dict();
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, t] : dst) {
    const Tensor* from = nn::find_named(src, name);
    if (!from) {
      if (!head(name)) missing.push_back(name);
    } else if (from->shape() != t.shape()) {
      mismatched.push_back(name + " (encoder " + shape_str(t.shape()) + ", checkpoint " + shape_str(from->shape()) + ")");
    }
  }
  for (const auto& [name, t] : src)
    if (!head(name) && !nn::find_named(dst, name)) unexpected.push_back(name);
  if (missing.empty() && unexpected.empty() && mismatched.empty()) {
    nn::load_named(dst, src, false, "load_encoder_weights");
    return;
  }
  std::string what;
  auto list = [&](const char* title, const std::vector<std::string>& v) {
    if (v.empty()) return;
    what += "; " + std::to_string(v.size()) + " " + title + ":";
    for (size_t i = 0; i < v.size() && i < 3; ++i) what += " " + v[i];
    if (v.size() > 3) what += " ...";
  };
  list("encoder tensor(s) missing from the checkpoint", missing);
  list("checkpoint tensor(s) the encoder lacks", unexpected);
  list("shape mismatch(es)", mismatched);
  throw UsageError("checkpoint " + path + " does not match the encoder" + what +
                       "; hint: a checkpoint without a model card needs the --encoder, --width_divisor and --blocks "
                       "it was trained with",
                   "checkpoint", path);
}
}  // namespace

namespace {
bool is_safetensors(const std::string& path) {
  const std::string ext = ".safetensors";
  return path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}

// The model card of a safetensors file written by `vididi export`: its
// vididi.encoder, vididi.width_divisor, vididi.blocks and vididi.clip.*
// metadata. A file without them (e.g. torchvision's own weights) has none,
// and the keys build the encoder.
vididi::ModelCard card_of(const SafetensorsFile& f, const std::string& path) {
  CheckpointMeta meta;
  for (const char* k : {"encoder", "width_divisor", "blocks"})
    if (f.metadata.count(std::string("vididi.") + k)) meta.extra[std::string("model.") + k] = f.metadata.at(std::string("vididi.") + k);
  for (const char* k : {"clip.frames", "clip.stride", "clip.crop"})
    if (f.metadata.count(std::string("vididi.") + k)) meta.extra[k] = f.metadata.at(std::string("vididi.") + k);
  return vididi::read_model_card(meta, path);
}
}  // namespace

std::shared_ptr<models::Encoder> build_encoder(const Settings& s, EncoderInput& e, vididi::ClipSpec& clip,
                                               Device device, uint64_t seed, int64_t num_classes,
                                               std::ostream& out) {
  Checkpoint ck;
  SafetensorsFile st;
  std::string path;
  if (!e.checkpoint.empty()) {
    path = resolve_checkpoint(e.checkpoint);
    out << "reading checkpoint " << path << "\n" << std::flush;
    vididi::ModelCard card;
    if (is_safetensors(path)) {
      st = read_safetensors(path);
      card = card_of(st, path);
    } else {
      ck = read_checkpoint(path);
      card = vididi::read_model_card(ck.meta, path);
    }
    if (card.known) adopt_card(s, card, path, e, clip, out);
  }
  models::EncoderOptions o;
  o.width_divisor = e.model.width_divisor;
  o.blocks = e.model.block_counts();
  o.num_classes = num_classes;
  Generator gen(seed);
  o.gen = &gen;
  out << "building " << e.model.encoder << " (width/" << e.model.width_divisor << ", blocks " << e.model.blocks
      << ") for " << clip.frames << "x" << clip.crop << "x" << clip.crop << " clips\n" << std::flush;
  auto enc = models::make_encoder(e.model.encoder, o);
  if (is_safetensors(path)) models::import_encoder_state(*enc, st, path);
  else if (!path.empty()) load_encoder_weights(*enc, ck, path);
  enc->to(device);
  return enc;
}

std::pair<eval::VideoFeatures, eval::VideoFeatures> extract_splits(const DatasetSpec& d, nn::Module& encoder,
                                                                   const eval::ExtractOptions& o, std::ostream& out,
                                                                   bool recalibrate_bn) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  if (recalibrate_bn) {
    const auto t0 = Clock::now();
    const int64_t batches = eval::recalibrate_batch_norm(encoder, open_dataset(d, data::Subset::train, &out), o);
    out << "  batch norm re-estimated on the train clips (order " << o.order << "): " << batches << " batches of "
        << o.batch << " in " << std::fixed << std::setprecision(1) << seconds(t0) << " s\n" << std::flush;
  }
  auto one = [&](data::Subset subset, const char* name) {
    auto src = open_dataset(d, subset, &out);
    out << "  " << name << ": encoding " << src->size() << " videos x " << o.clip.clips << " clips\n" << std::flush;
    const auto t0 = Clock::now();
    eval::VideoFeatures f = eval::extract_features(encoder, src, o);
    out << "  " << name << ": " << f.videos << " videos x " << f.clips << " clips -> dim " << f.dim << " in "
        << std::fixed << std::setprecision(1) << seconds(t0) << " s\n" << std::flush;
    return f;
  };
  auto train = one(data::Subset::train, "train");
  auto test = one(data::Subset::test, "test");
  return {std::move(train), std::move(test)};
}

void head_train_keys(Settings& s, eval::HeadTrainOptions& t) {
  s.add("solver", t.solver, "lbfgs: full-batch L-BFGS on the mean loss + weight_decay/2 ||W||^2 to convergence "
                            "(docs/PROTOCOLS.md); minibatch: AdamW/SGD over batches by --schedule")
      .choices({"lbfgs", "minibatch"});
  s.add("epochs", t.epochs, "the most L-BFGS iterations (lbfgs) or epochs (minibatch plateau); exactly this many "
                            "epochs with minibatch cosine").range(1, 1e6);
  s.add("schedule", t.schedule, "minibatch: plateau = until the training loss stops improving (lr / 10 on a "
                                "plateau, twice, then stop); cosine = a fixed number of epochs, cosine to 0")
      .choices({"plateau", "cosine"});
  s.add("patience", t.patience, "minibatch plateau: epochs without an improvement of the loss by tolerance").range(1, 1e6);
  s.add("tolerance", t.tolerance, "minibatch plateau: the least improvement of the epoch's mean loss that counts")
      .range(0, 10);
  s.add("probe_batch", t.batch, "minibatch: features per optimizer step").range(1, 1 << 24);
  s.add("optimizer", t.optimizer, "minibatch: classifier optimizer").choices({"adamw", "sgd"});
  s.add("lr", t.lr, "minibatch: learning rate (plateau: the start; cosine: the peak)").range(1e-9, 1e3);
  s.add("weight_decay", t.weight_decay, "weight decay (lbfgs: the L2 coefficient on the weights)").range(0, 10);
}


void require_one_process(const std::string& command) {
  const dist::LaunchInfo launch = dist::launch_from_environment();
  if (launch.world_size > 1)
    throw UsageError(command + " runs in one process, and this one is " + launch.str() +
                     "; hint: start it without mpirun/srun (pretrain, retrieve, linear and bench run on many ranks)");
}

// --- run directories ------------------------------------------------------------------------

std::string default_run_dir(const std::string& prefix) {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + prefix + "-" + buf;
}

std::string write_eval_run(const std::string& dir, const Settings& s, const std::string& title,
                           const std::string& command, const std::string& json_name, const std::string& json,
                           const std::string& results,
                           const std::vector<std::pair<std::string, std::string>>& images) {
  vididi::make_dirs(dir);
  vididi::write_text(dir + "/" + json_name, json);
  vididi::write_text(dir + "/config.txt", s.as_config_file());
  Report rep;
  rep.title = title;
  rep.command = command;
  rep.config = s.resolved();
  rep.sections.push_back({"Results", results + "\nJSON: `" + json_name + "`.\n"});
  rep.images = images;
  return write_report(dir, rep);
}

std::vector<std::pair<std::string, std::string>> build_info() {
  std::vector<std::pair<std::string, std::string>> v;
  v.emplace_back("code version", vididi::code_version());
  v.emplace_back("compiler", "g++ " __VERSION__);
#if defined(__OPTIMIZE__)
  v.emplace_back("optimised", "yes");
#else
  v.emplace_back("optimised", "no");
#endif
#if defined(VD_CUDA)
  v.emplace_back("CUDA build", "yes");
#else
  v.emplace_back("CUDA build", "no (CUDA=0: the CPU backend only)");
#endif
#if defined(VD_OPENBLAS)
  v.emplace_back("BLAS", "OpenBLAS");
#else
  v.emplace_back("BLAS", "built-in gemm");
#endif
  const int n = cuda::is_available() ? cuda::device_count() : 0;
  std::string devs = "cpu";
  for (int i = 0; i < n; ++i) devs += ", cuda:" + std::to_string(i) + " (" + cuda::device_name(i) + ")";
  v.emplace_back("devices", devs);
  v.emplace_back("distributed", std::string("mpi ") + (dist::built_with_mpi() ? "yes" : "no (libopenmpi-dev not found)") +
                                    ", nccl " + (dist::built_with_nccl() ? "yes" : "no (needs CUDA and nccl.h)") +
                                    "; this process: " + dist::launch_from_environment().str());
  v.emplace_back("CUDA / cuDNN", vididi::cuda_versions());
  v.emplace_back("precision", precision_name(precision()));
  return v;
}

}  // namespace vd::cli
