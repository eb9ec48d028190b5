// vididi/trainer.cpp: model and optimizer construction, the training step,
// and checkpoints (see trainer.h). The loop over data is train_loop.cpp.
#include "vididi/trainer.h"

#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "core/ops.h"
#include "core/parse.h"
#include "core/precision.h"
#include "core/profile.h"
#include "core/random.h"
#include "dist/functions.h"
#include "dist/grad_buckets.h"
#include "layers/batchnorm.h"
#include "layers/checkpoint.h"
#include "layers/optim/adamw.h"
#include "layers/optim/clip_grad.h"
#include "layers/optim/lars.h"
#include "layers/optim/schedule.h"
#include "layers/optim/sgd.h"
#include "vididi/config/device.h"
#include "vididi/graph_step.h"
#include "vididi/model_card.h"

namespace vd::vididi {

namespace {
// Settings that must agree between a checkpoint and the run resuming it.
const char* const kResumeKeys[] = {"framework", "pairs", "schedule", "gain", "standardize", "encoder",
                                   "width_divisor", "blocks", "projector_dim", "batch", "frames", "stride",
                                   "crop", "same_clip", "optimizer", "lr", "final_lr", "warmup_steps",
                                   "steps", "epochs", "seed", "gather", "sync_bn", "lr_scale"};

// key -> value of a config text (TrainConfig::to_text's lines).
std::map<std::string, std::string> values_of(const TrainConfig& c) {
  TrainConfig copy = c;
  config::Settings s;
  train_keys(s, copy);
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : s.resolved()) out[k] = v;
  return out;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, const nn::NamedTensors& params) {
  auto groups_of = [&](const nn::NamedTensors& ps, double scale) {
    std::vector<optim::ParamGroup> gs =
        c.exclude_bias_bn ? optim::split_decay_groups(ps, c.lr * scale, c.weight_decay)
                          : std::vector<optim::ParamGroup>{optim::make_group(ps, c.lr * scale, c.weight_decay)};
    for (auto& g : gs) g.lr_scale = scale;
    return gs;
  };
  // BYOL's predictor may learn faster than the rest (byol_predictor_lr): its
  // parameters ("predictor.*") then form groups of their own.
  nn::NamedTensors rest, predictor;
  for (const auto& kv : params)
    (parse_framework(c.framework) == Framework::BYOL && c.byol_predictor_lr != 1 && kv.first.rfind("predictor.", 0) == 0 ? predictor : rest)
        .push_back(kv);
  std::vector<optim::ParamGroup> groups = groups_of(rest, 1.0);
  if (!predictor.empty())
    for (auto& g : groups_of(predictor, c.byol_predictor_lr)) groups.push_back(std::move(g));
  if (c.optimizer == "lars")
    return std::make_unique<optim::LARS>(
        groups, optim::LARSOptions(c.lr).momentum(c.momentum).eta(c.lars_eta).weight_decay(c.weight_decay));
  if (c.optimizer == "sgd")
    return std::make_unique<optim::SGD>(
        groups, optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
  return std::make_unique<optim::AdamW>(
      groups, optim::AdamWOptions(c.lr).betas(c.beta1, c.beta2).weight_decay(c.weight_decay));
}

// fused_optimizer: on, off, or auto = on for CUDA with f32 parameters.
bool wants_fused(const TrainConfig& c, Device device, const nn::NamedTensors& params) {
  if (c.fused_optimizer != "auto") return c.fused_optimizer == "on";
  for (const auto& [n, p] : params)
    if (p.dtype() != DType::F32) return false;
  return device.is_cuda() && !params.empty();
}
}  // namespace

std::string first_non_finite(const nn::NamedTensors& tensors) {
  autograd::NoGradGuard no_grad;
  // x - x is 0 for a finite x and NaN for NaN or +-inf, so the sum of all
  // such differences is finite exactly when every value is (no overflow).
  Tensor total;
  for (const auto& [name, t] : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    Tensor s = ops::reduce(ReduceOp::Sum, ops::to_dtype(t - t, DType::F32), {}, false);
    total = total.defined() ? total + ops::to_device(s, total.device()) : s;
  }
  if (!total.defined() || std::isfinite(total.item())) return "";
  for (const auto& [name, t] : tensors)
    if (t.defined() && t.numel() > 0 &&
        !std::isfinite(ops::reduce(ReduceOp::Sum, ops::to_dtype(t - t, DType::F32), {}, false).item()))
      return name;
  return "(a tensor)";  // not reached: the sum above was not finite
}

Trainer::Trainer(TrainConfig config, int64_t total_steps, std::function<void(const std::string&)> print,
                 Parallel parallel)
    : config_(std::move(config)), total_steps_(total_steps), print_(std::move(print)), parallel_(std::move(parallel)) {
  config_.validate();
  if (!parallel_.comm) {
    std::string note;
    parallel_ = vididi::single_process(resolve_device(config_.device, config_.precision, &note));
    parallel_.note = note;
  }
  device_ = parallel_.device;
  if (!parallel_.note.empty()) say(parallel_.note);
  if (config_.cuda_graphs && !device_.is_cuda())
    throw UsageError("cuda_graphs = true needs a GPU, and this run is on the " + device_.str() +
                         "; hint: cuda_graphs = false (the default)",
                     "cuda_graphs");
  if (config_.cuda_graphs && parallel_.world() > 1)
    throw UsageError("cuda_graphs = true runs in one process only (the data-parallel collectives are not "
                     "captured); hint: cuda_graphs = false with " + std::to_string(parallel_.world()) + " ranks",
                     "cuda_graphs");
  schedule_ = PairSchedule(parse_schedule_kind(config_.schedule), parse_pairs(config_.pairs), config_.seed);
  const std::vector<double> g = config_.gains();
  derivatives_.gain = {g[0], g[1], g[2]};
  derivatives_.standardize = config_.standardize;

  HeadOptions h;
  h.framework = parse_framework(config_.framework);
  h.vicreg_width = config_.projector_dim;
  h.byol_hidden = config_.byol_hidden, h.byol_dim = config_.byol_dim;
  h.simclr_hidden = config_.simclr_hidden, h.simclr_dim = config_.simclr_dim;
  h.temperature = config_.temperature;
  h.byol_base_momentum = config_.byol_momentum;
  h.vicreg = {config_.vicreg_inv, config_.vicreg_var, config_.vicreg_cov, 1e-4};
  models::EncoderOptions eo;
  eo.width_divisor = config_.model.width_divisor;
  eo.blocks = config_.model.block_counts();
  Generator gen(config_.seed);  // initialisation only; data and schedule have their own keyed streams
  eo.gen = &gen;
  say("building " + config_.model.encoder + " (width/" + std::to_string(config_.model.width_divisor) + ", blocks " +
      config_.model.blocks + ") with the " + config_.framework + " heads on " + device_.str());
  const std::string name = config_.model.encoder;
  model_ = std::make_shared<SSLModel>([&] { return models::make_encoder(name, eo); }, h, &gen);
  model_->to(device_);
  if (parallel_.world() > 1) {
    if (config_.dist.sync_bn) {
      const int n = nn::convert_sync_batchnorm(*model_, parallel_.comm);
      say("sync_bn: " + std::to_string(n) + " batch norms compute their statistics over all ranks");
    }
    // Every rank built the same model from the seed; broadcasting rank 0's
    // makes that a fact rather than an assumption.
    // (f32 tensors: the f64 num_batches_tracked counters are 0 everywhere.)
    for (auto& [name, t] : model_->state_dict())
      if (t.dtype() == DType::F32) parallel_.comm->broadcast(t, 0);
    say("data parallel: " + std::to_string(parallel_.world()) + " ranks x batch " + std::to_string(config_.batch) +
        " = " + std::to_string(parallel_.world() * config_.batch) + " videos per step");
  }
  make_optimizer_and_buckets();
  if (config_.cuda_graphs) graphs_ = std::make_unique<GraphStep>(*this);
}

void Trainer::make_optimizer_and_buckets() {
  optimizer_ = make_optimizer(config_, model_->trainable_parameters());
  // bf16 on a GPU: the fused step also writes the bf16 working copy that the
  // forward reads instead of casting every weight (docs/OPTIMIZER.md).
  if (wants_fused(config_, device_, model_->trainable_parameters()))
    optimizer_->enable_fused(device_.is_cuda() && precision() == Precision::BF16);
  if (parallel_.world() > 1)
    buckets_ = std::make_unique<dist::GradBuckets>(parallel_.comm, model_->trainable_parameters(),
                                                   size_t(config_.dist.bucket_mb * double(1 << 20)));
}

void Trainer::to(DType dtype) {
  VD_CHECK(!stepped_, "Trainer::to: expected a trainer that has not stepped yet (its optimizer state would be lost)");
  model_->to(dtype);
  make_optimizer_and_buckets();
}

Trainer::~Trainer() = default;

void Trainer::say(const std::string& line) const {
  if (print_ && !config_.quiet && is_root()) print_(line);
}

void add_terms(StepRecord& rec, const std::vector<std::pair<std::string, double>>& terms) {
  for (const auto& kv : terms) {
    size_t k = 0;
    while (k < rec.terms.size() && rec.terms[k].first != kv.first) ++k;
    if (k == rec.terms.size()) rec.terms.push_back({kv.first, 0.0});
    rec.terms[k].second += kv.second;
  }
}

StepRecord Trainer::train_step(const Tensor& xa, const Tensor& xb, int64_t step) {
  stepped_ = true;
  optimizer_->refresh_working_copy();  // parameters written outside the step (a load)?
  // --- cuda_graphs: a captured step when the pair set has warmed up (vididi/graph_step.h)
  if (graphs_)
    if (std::optional<StepRecord> rec = graphs_->step(xa, xb, step)) return *rec;
  // --- the uncaptured step
  profile::mark_step_begin();  // the op profiler's saved bytes (core/profile.h)
  model_->train();
  StepRecord rec;
  rec.step = step;
  StepForward f = forward_pairs(xa, xb, step);
  for (const LossResult& r : f.pairs) add_terms(rec, r.terms);
  rec.pair = f.pair;
  rec.loss = f.loss.item();
  judge_loss(rec, step);
  profile::mark_backward_begin();
  {
    profile::ProfileScope in_optimizer(profile::Kind::Optimizer);
    zero_grads();
  }
  if (buckets_)
    buckets_->backward(f.loss);  // gradients averaged over the ranks, overlapped with backward
  else
    f.loss.backward();
  return finish_step(std::move(rec), step);
}

void Trainer::zero_grads() {
  if (!graphs_) return optimizer_->zero_grad();
  // cuda_graphs: zeroed in place, so that every gradient keeps the storage a
  // captured backward writes (backward then adds into it).
  for (auto& [name, p] : model_->trainable_parameters()) {
    Tensor g = p.grad();
    if (g.defined()) ops::fill_(g, 0.0);
  }
}

Trainer::StepForward Trainer::forward_pairs(const Tensor& xa, const Tensor& xb, int64_t step) {
  const bool byol = model_->options().framework == Framework::BYOL;
  // Each distinct view (clip 0 or 1, derivative order) is encoded once and
  // shared by the pairs that use it: (online, BYOL target) embeddings.
  struct View {
    int clip, order;
    bool operator<(const View& o) const { return clip != o.clip ? clip < o.clip : order < o.order; }
  };
  std::map<View, std::pair<Tensor, Tensor>> emb;
  auto embed = [&](int clip, int order) -> const std::pair<Tensor, Tensor>& {
    auto it = emb.find({clip, order});
    if (it != emb.end()) return it->second;
    Tensor v = derivative_view(clip == 0 ? xa : xb, order, config_.clip.frames, derivatives_);
    return emb[{clip, order}] = {model_->online(v), byol ? model_->target(v) : Tensor()};
  };
  // VICReg and SimCLR on the global batch: every rank's embeddings (the
  // gather's backward hands each rank the gradient of its own rows).
  auto global = [&](const Tensor& z) {
    return parallel_.world() > 1 && gathered() ? dist::all_gather(*parallel_.comm, z) : z;
  };
  StepForward f;
  for (const OrderPair& p : schedule_.pairs_at(step)) {
    const auto& a = embed(0, p.first);
    const auto& b = embed(1, p.second);
    profile::ProfileScope in_loss(profile::Kind::Loss);
    LossResult r = model_->loss(global(a.first), global(b.first), a.second, b.second);
    f.loss = f.loss.defined() ? f.loss + r.loss : r.loss;
    f.pairs.push_back(std::move(r));
    f.pair += (f.pair.empty() ? "" : "+") + std::to_string(p.first) + "-" + std::to_string(p.second);
  }
  return f;
}

void Trainer::judge_loss(StepRecord& rec, int64_t step) {
  if (parallel_.world() > 1 && !gathered()) {
    // Each rank's loss is of its own clips: log (and judge) their mean, the
    // loss of the global batch, so that every rank takes the same decision.
    std::vector<double> v{rec.loss};
    for (const auto& kv : rec.terms) v.push_back(kv.second);
    parallel_.comm->all_reduce_host(v, dist::Reduce::Average);
    rec.loss = v[0];
    for (size_t k = 0; k < rec.terms.size(); ++k) rec.terms[k].second = v[k + 1];
  }
  if (!std::isfinite(rec.loss)) {
    std::ostringstream terms;
    for (const auto& kv : rec.terms) terms << " " << kv.first << "=" << kv.second;
    VD_FAIL("training stopped: the loss is " << rec.loss << " at step " << step << " (pair " << rec.pair << ";"
                                             << terms.str() << "); last good checkpoint: " << last_good()
                                             << "; hint: lower lr, set grad_clip, or check the input data");
  }
}

StepRecord Trainer::finish_step(StepRecord rec, int64_t step) {
  const bool byol = model_->options().framework == Framework::BYOL;
  const bool check = config_.nan_check_every > 0 && step % config_.nan_check_every == 0;
  auto stop = [&](const std::string& what, const std::string& name) {
    VD_FAIL("training stopped: " << what << " '" << name << "' holds NaN or inf at step " << step << " (pair "
                                 << rec.pair << "; loss " << rec.loss << "); last good checkpoint: " << last_good()
                                 << "; hint: lower lr, set grad_clip, or check the input data");
  };
  if (check) {
    profile::ProfileScope in_check(profile::Kind::FiniteCheck);
    nn::NamedTensors grads;
    for (const auto& [name, p] : model_->trainable_parameters()) grads.emplace_back(name, p.grad());
    const std::string bad = first_non_finite(grads);
    if (!bad.empty()) stop("the gradient of", bad);
  }
  {
    profile::ProfileScope in_optimizer(profile::Kind::Optimizer);
    if (config_.grad_clip > 0) optim::clip_grad_norm(model_->trainable_parameters(), config_.grad_clip);
    const double scale = config_.dist.lr_scale == "linear" ? double(parallel_.world()) : 1.0;
    optim::WarmupCosine lr(config_.lr * scale, config_.final_lr * scale, config_.warmup_steps,
                           std::max<int64_t>(1, total_steps_));
    rec.lr = lr(step);
    optimizer_->set_lr(rec.lr);
    optimizer_->step();
    if (byol) {
      rec.momentum = byol_momentum(step, total_steps_, config_.byol_momentum);
      model_->update_target(rec.momentum);
    }
  }
  if (parallel_.world() > 1 && !config_.dist.sync_bn) average_running_statistics();
  if (check) {
    profile::ProfileScope in_check(profile::Kind::FiniteCheck);
    const std::string bad = first_non_finite(model_->state_dict());
    if (!bad.empty()) stop("after the update, parameter or buffer", bad);
  }
  return rec;
}

bool Trainer::gathered() const {
  return config_.dist.gather == "global" && model_->options().framework != Framework::BYOL;
}

void Trainer::average_running_statistics() {
  // Without SyncBN each rank's batch norms see its own clips: their running
  // statistics are averaged, so that every rank (and the checkpoint) holds
  // the same model.
  for (auto& [name, t] : model_->named_buffers())
    if (t.dtype() == DType::F32) parallel_.comm->all_reduce(t, dist::Reduce::Average);
}

std::string Trainer::last_good() const {
  return last_checkpoint_.empty() ? "none written yet"
                                  : last_checkpoint_ + " (after step " + std::to_string(last_checkpoint_step_) + ")";
}

void Trainer::save(const std::string& path, int64_t steps_done) {
  CheckpointMeta meta;
  meta.step = steps_done;
  meta.seed = config_.seed;
  meta.config = config_.to_text();
  write_model_card(config_, &meta.extra);
  meta.extra["code_version"] = code_version();
  meta.extra["generator"] = std::to_string(default_generator().seed()) + ":" + std::to_string(default_generator().counter());
  meta.extra["total_steps"] = std::to_string(total_steps_);
  meta.extra["world_size"] = std::to_string(parallel_.world());
  if (is_root()) save_checkpoint(path, *model_, optimizer_.get(), meta);
  last_checkpoint_ = path;
  last_checkpoint_step_ = steps_done;
}

int64_t Trainer::restore(const std::string& path) {
  Checkpoint ck = read_checkpoint(path);
  TrainConfig saved;
  saved.parse(ck.meta.config, path + " (saved config)");
  const auto ours = values_of(config_), theirs = values_of(saved);
  for (const char* key : kResumeKeys)
    if (ours.at(key) != theirs.at(key))
      throw UsageError("resume: " + std::string(key) + " = " + ours.at(key) + " differs from the checkpoint's " +
                           theirs.at(key) + " (" + path + "); hint: resume with the run's own config.txt",
                       key, path);
  auto w = ck.meta.extra.find("world_size");
  const std::string world = w == ck.meta.extra.end() ? "1" : w->second;
  if (world != std::to_string(parallel_.world()))
    throw UsageError("resume: the checkpoint " + path + " was written by a run of " + world +
                         " rank(s), and this run has " + std::to_string(parallel_.world()) +
                         "; hint: resume with the same number of ranks (the data order and the batch depend on it)",
                     "resume", path);
  CheckpointMeta meta = load_checkpoint(path, *model_, optimizer_.get());
  auto g = meta.extra.find("generator");
  if (g != meta.extra.end()) {
    // "seed:counter", both decimal (save() writes it); checked, never std::stoull.
    const size_t colon = g->second.find(':');
    int64_t seed = 0, counter = 0;
    std::string why = colon == std::string::npos ? "expected 'seed:counter'"
                                                  : parse_integer(g->second.substr(0, colon), 0, INT64_MAX, &seed);
    if (why.empty()) why = parse_integer(g->second.substr(colon + 1), 0, INT64_MAX, &counter);
    if (!why.empty())
      throw UsageError("checkpoint " + path + ": meta/extra/generator = '" + g->second + "': " + why +
                           "; hint: the checkpoint's metadata is damaged",
                       "resume", path);
    default_generator().set_state(uint64_t(seed), uint64_t(counter));
  }
  last_checkpoint_ = path;
  last_checkpoint_step_ = meta.step;
  return meta.step;
}

}  // namespace vd::vididi
