// vididi/trainer.cpp: the pretraining loop, checkpoints, resume and guards
// (see trainer.h). Forward/backward come from the model (heads.h), the views
// from derivatives.h, the pairs from schedule.h.
#include "vididi/trainer.h"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "autograd/functions.h"
#include "core/backend.h"
#include "core/ops.h"
#include "core/precision.h"
#include "core/random.h"
#include "data/loader.h"
#include "layers/checkpoint.h"
#include "layers/optim/adamw.h"
#include "layers/optim/lars.h"
#include "layers/optim/schedule.h"
#include "layers/optim/sgd.h"

namespace vd::vididi {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// A loader batch's view `v` as a tensor [N, T + k, H, W, C] on `device`.
Tensor view_tensor(const data::Batch& b, int v, Device device) {
  const data::ViewBatch& vb = b.views[size_t(v)];
  Tensor t = Tensor::empty({vb.N, vb.T, vb.H, vb.W, vb.C});
  std::memcpy(t.data<float>(), vb.data.get(), vb.numel() * sizeof(float));
  return device.is_cpu() ? t : ops::to_device(t, device);
}

// Settings that must agree between a checkpoint and the run resuming it.
const char* const kResumeKeys[] = {"framework", "pairs", "schedule", "gain", "standardize", "encoder",
                                   "width_divisor", "blocks", "projector_dim", "batch", "frames", "stride",
                                   "crop", "same_clip", "optimizer", "lr", "final_lr", "warmup_steps",
                                   "steps", "epochs", "seed"};

}  // namespace

Device resolve_device(const std::string& setting, std::string* note) {
  if (setting == "auto") {
    bool gpu = cuda::is_available();
    if (note)
      *note = gpu ? "device auto: using cuda:0 (" + cuda::device_name(0) + ")"
                  : "device auto: no CUDA device available (" + cuda_versions() + "), using cpu";
    return gpu ? Device::cuda(0) : Device::cpu();
  }
  Device d = Device::parse(setting);
  VD_CHECK(d.is_cpu() || cuda::is_available(), "device = " << setting << ": CUDA is not available ("
                                                           << cuda_versions() << "); hint: device = auto or cpu");
  return d;
}

Trainer::Trainer(TrainConfig config, std::shared_ptr<const data::VideoSource> source,
                 std::function<void(const std::string&)> print)
    : config_(std::move(config)), source_(std::move(source)), print_(std::move(print)) {
  VD_CHECK(source_, "Trainer: expected a dataset, got null");
  config_.validate(source_.get());
  std::string note;
  device_ = resolve_device(config_.device, &note);
  if (!note.empty()) say(note);
  VD_CHECK(device_.is_cuda() || config_.precision == "fp32",
           "precision = " << config_.precision << " needs the GPU, and training runs on the cpu; hint: precision = fp32");
  if (device_.is_cuda()) set_precision(parse_precision(config_.precision));
  schedule_ = PairSchedule(parse_schedule_kind(config_.schedule), parse_pairs(config_.pairs), config_.seed);
  std::vector<double> g = config_.gains();
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
  Generator gen(config_.seed);  // initialisation only; data and schedule have their own keyed streams
  models::EncoderOptions eo;
  eo.width_divisor = config_.width_divisor;
  eo.blocks = config_.block_counts();
  eo.gen = &gen;
  const std::string name = config_.encoder;
  model_ = std::make_shared<SSLModel>([&] { return models::make_encoder(name, eo); }, h, &gen);
  model_->to(device_);

  std::vector<optim::ParamGroup> groups;
  nn::NamedTensors decay, plain;
  for (auto& kv : model_->trainable_parameters())
    (config_.exclude_bias_bn && kv.second.dim() <= 1 ? plain : decay).push_back(kv);
  groups.push_back(optim::make_group(decay, config_.lr, config_.weight_decay, false));
  if (!plain.empty()) groups.push_back(optim::make_group(plain, config_.lr, 0.0, true));
  if (config_.optimizer == "lars")
    optimizer_ = std::make_unique<optim::LARS>(
        groups, optim::LARSOptions(config_.lr).momentum(config_.momentum).eta(config_.lars_eta).weight_decay(config_.weight_decay));
  else if (config_.optimizer == "sgd")
    optimizer_ = std::make_unique<optim::SGD>(
        groups, optim::SGDOptions(config_.lr).momentum(config_.momentum).weight_decay(config_.weight_decay));
  else
    optimizer_ = std::make_unique<optim::AdamW>(
        groups, optim::AdamWOptions(config_.lr).betas(config_.beta1, config_.beta2).weight_decay(config_.weight_decay));

  batches_per_epoch_ = int64_t(source_->size()) / config_.batch;  // the loader drops the last partial batch
  total_steps_ = config_.steps > 0 ? config_.steps : config_.epochs * batches_per_epoch_;
}

Trainer::~Trainer() = default;

void Trainer::say(const std::string& line) const {
  if (print_ && !config_.quiet) print_(line);
}

StepRecord Trainer::train_step(const Tensor& xa, const Tensor& xb, int64_t step) {
  const auto t0 = Clock::now();
  const std::vector<OrderPair> pairs = schedule_.pairs_at(step);
  const bool byol = model_->options().framework == Framework::BYOL;
  model_->train();
  // Each distinct (clip, order) view is encoded once and shared by the pairs.
  std::map<OrderPair, std::pair<Tensor, Tensor>> emb;  // (clip, order) -> (online, target)
  auto embed = [&](int clip, int order) -> const std::pair<Tensor, Tensor>& {
    auto it = emb.find({clip, order});
    if (it != emb.end()) return it->second;
    Tensor v = derivative_view(clip == 0 ? xa : xb, order, config_.frames, derivatives_);
    Tensor z = model_->online(v);
    Tensor t = byol ? model_->target(v) : Tensor();
    return emb[{clip, order}] = {z, t};
  };
  StepRecord rec;
  rec.step = step;
  Tensor loss;
  for (const OrderPair& p : pairs) {
    const auto& a = embed(0, p.first);
    const auto& b = embed(1, p.second);
    LossResult r = model_->loss(a.first, b.first, a.second, b.second);
    loss = loss.defined() ? loss + r.loss : r.loss;
    for (const auto& kv : r.terms) {
      size_t k = 0;
      while (k < rec.terms.size() && rec.terms[k].first != kv.first) ++k;
      if (k == rec.terms.size()) rec.terms.push_back({kv.first, 0.0});
      rec.terms[k].second += kv.second;
    }
    rec.pair += (rec.pair.empty() ? "" : "+") + std::to_string(p.first) + "-" + std::to_string(p.second);
  }
  rec.loss = loss.item();
  if (!std::isfinite(rec.loss)) {
    std::ostringstream terms, last;
    for (const auto& kv : rec.terms) terms << " " << kv.first << "=" << kv.second;
    if (last_checkpoint_.empty()) last << "none written yet";
    else last << last_checkpoint_ << " (after step " << last_checkpoint_step_ << ")";
    VD_FAIL("training stopped: the loss is " << rec.loss << " at step " << step << " (pair " << rec.pair << ";"
                                             << terms.str() << "); last good checkpoint: " << last.str()
                                             << "; hint: lower lr, set grad_clip, or check the input data");
  }
  optimizer_->zero_grad();
  loss.backward();
  if (config_.grad_clip > 0) {
    // Global L2 norm over every gradient; scaled down when above the limit.
    double sq = 0;
    for (auto& kv : model_->trainable_parameters())
      if (kv.second.grad().defined()) {
        double n = optim::norm2(kv.second.grad()).item();
        sq += n * n;
      }
    double norm = std::sqrt(sq);
    if (norm > config_.grad_clip)
      for (auto& kv : model_->trainable_parameters())
        if (kv.second.grad().defined())
          kv.second.set_grad(ops::unary(UnaryOp::MulScalar, kv.second.grad(), config_.grad_clip / (norm + 1e-6)));
  }
  optim::WarmupCosine lr(config_.lr, config_.final_lr, config_.warmup_steps, std::max<int64_t>(1, total_steps_));
  rec.lr = lr(step);
  optimizer_->set_lr(rec.lr);
  optimizer_->step();
  if (byol) {
    rec.momentum = byol_momentum(step, total_steps_, config_.byol_momentum);
    model_->update_target(rec.momentum);
  }
  rec.seconds = since(t0);
  return rec;
}

std::string Trainer::checkpoint_path() const { return config_.out + "/checkpoint.vdc"; }

void Trainer::save(const std::string& path, int64_t steps_done) {
  CheckpointMeta meta;
  meta.step = steps_done;
  meta.seed = config_.seed;
  meta.config = config_.to_text();
  meta.extra["code_version"] = code_version();
  meta.extra["generator"] = std::to_string(default_generator().seed()) + ":" + std::to_string(default_generator().counter());
  meta.extra["total_steps"] = std::to_string(total_steps_);
  // save_checkpoint writes a temporary file and renames it over `path`, so a
  // kill during the save leaves the previous checkpoint intact.
  save_checkpoint(path, *model_, optimizer_.get(), meta);
  last_checkpoint_ = path;
  last_checkpoint_step_ = steps_done;
}

int64_t Trainer::restore(const std::string& path) {
  VD_CHECK(file_exists(path), "resume: no checkpoint at '" << path << "'; hint: resume = auto starts fresh when none exists");
  Checkpoint ck = read_checkpoint(path);
  TrainConfig saved;
  saved.parse(ck.meta.config, path + " (saved config)");
  for (const char* key : kResumeKeys)
    VD_CHECK(saved.get(key) == config_.get(key),
             "resume: " << key << " = " << config_.get(key) << " differs from the checkpoint's " << saved.get(key)
                        << " (" << path << "); hint: resume with the run's own config.txt");
  CheckpointMeta meta = load_checkpoint(path, *model_, optimizer_.get());
  auto g = meta.extra.find("generator");
  if (g != meta.extra.end()) {
    size_t colon = g->second.find(':');
    default_generator().set_state(std::stoull(g->second.substr(0, colon)), std::stoull(g->second.substr(colon + 1)));
  }
  last_checkpoint_ = path;
  last_checkpoint_step_ = meta.step;
  return meta.step;
}

TrainResult Trainer::run() {
  TrainResult res;
  res.total_steps = total_steps_;
  const bool write = !config_.out.empty();
  std::string resume = config_.resume;
  if (resume == "auto") resume = write && file_exists(checkpoint_path()) ? checkpoint_path() : "";
  int64_t start = resume.empty() ? 0 : restore(resume);
  if (!resume.empty()) say("resumed from " + resume + " after step " + std::to_string(start));
  const std::string metrics = config_.out + "/metrics.jsonl";
  if (write) {
    write_run_files(config_.out, run_config_text_.empty() ? config_.to_text() : run_config_text_, config_.seed, device_,
                    "\"schedule\": \"" + schedule_.str() + "\", \"encoder_passes_per_video\": " +
                        std::to_string(schedule_.encoder_passes_per_video()) + ", \"parameters\": " +
                        std::to_string(model_->parameter_count()));
    truncate_metrics(metrics, start);
  }
  res.first_step = start;
  const int64_t end = config_.stop_after > 0 ? std::min(total_steps_, config_.stop_after) : total_steps_;

  data::ClipConfig clip;
  clip.frames = int(config_.frames);
  clip.extra_frames = schedule_.max_order();
  clip.stride = int(config_.stride);
  clip.views = 2;
  clip.same_clip = config_.same_clip;
  clip.train = true;
  clip.augment.out_h = clip.augment.out_w = int(config_.crop);
  clip.augment.scale_min = float(config_.scale_min);
  clip.augment.flip_p = float(config_.flip_p);
  clip.augment.jitter_p = float(config_.jitter_p);
  clip.augment.grayscale_p = float(config_.grayscale_p);
  data::LoaderConfig lc;
  lc.batch_size = int(config_.batch);
  lc.workers = int(config_.workers);
  lc.seed = config_.seed;
  lc.shuffle = true;
  lc.drop_last = true;
  data::Loader loader(source_, clip, lc);
  // Data order is a pure function of (seed, epoch, index): resuming re-enters
  // the epoch at the first batch not yet trained on, without rendering the
  // ones before it.
  int64_t epoch = start / batches_per_epoch_;
  loader.start_epoch(epoch, size_t(start % batches_per_epoch_));
  data::Batch batch;

  std::ofstream log;
  if (write) log.open(metrics, std::ios::app);
  const auto t0 = Clock::now();
  for (int64_t step = start; step < end; ++step) {
    const auto ts = Clock::now();
    if (!loader.next(batch)) {
      loader.start_epoch(++epoch);
      VD_CHECK(loader.next(batch), "Trainer: epoch " << epoch << " produced no batch");
    }
    StepRecord rec = train_step(view_tensor(batch, 0, device_), view_tensor(batch, 1, device_), step);
    rec.epoch = epoch;
    rec.seconds = since(ts);
    res.records.push_back(rec);
    if (write) log << to_json(rec) << "\n" << std::flush;
    const double elapsed = since(t0), done = double(step + 1 - start);
    const double clips_per_s = done * double(config_.batch) / std::max(elapsed, 1e-9);
    if ((step + 1) % config_.log_every == 0 || step + 1 == end)
      say(progress_line(rec, total_steps_, clips_per_s, elapsed / done * double(total_steps_ - step - 1)));
    if (write && config_.checkpoint_every > 0 && (step + 1) % config_.checkpoint_every == 0 && step + 1 < end)
      save(checkpoint_path(), step + 1);
  }
  res.seconds = since(t0);
  res.steps_done = std::max(start, end);
  res.finished = res.steps_done >= total_steps_;
  res.clips_per_s = double(res.steps_done - start) * double(config_.batch) / std::max(res.seconds, 1e-9);
  if (write) {
    save(checkpoint_path(), res.steps_done);
    log.close();
    plot_losses(config_.out + "/loss.png", read_metrics(metrics));
    say("run directory " + config_.out + ": config.txt run.json metrics.jsonl loss.png checkpoint.vdc");
  }
  res.checkpoint = last_checkpoint_;
  return res;
}

}  // namespace vd::vididi
