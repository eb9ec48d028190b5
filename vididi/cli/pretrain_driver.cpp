// vididi/cli/pretrain_driver.cpp: the interim pretraining loop (see
// pretrain_driver.h): loader -> derivative views -> encoder -> projector ->
// loss -> optimizer, with a JSONL log and a checkpoint at the end.
#include "vididi/cli/pretrain_driver.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "autograd/functions.h"
#include "core/random.h"
#include "data/loader.h"
#include "layers/checkpoint.h"
#include "layers/layers.h"
#include "layers/optim/adamw.h"
#include "layers/optim/lars.h"
#include "layers/optim/schedule.h"
#include "layers/optim/sgd.h"
#include "vididi/cli/settings.h"
#include "vididi/derivatives.h"
#include "vididi/losses.h"
#include "vididi/models/encoder.h"
#include "vididi/schedule.h"

namespace vd::cli {

namespace {
// The module saved in checkpoints: children "encoder" and "projector".
class SSLModel : public nn::Module {
 public:
  SSLModel(std::shared_ptr<nn::Module> enc, std::shared_ptr<nn::Module> proj) : nn::Module("SSLModel") {
    register_module("encoder", enc);
    register_module("projector", proj);
  }
};

// VICReg: Linear-BN-ReLU, Linear-BN-ReLU, Linear (width P); SimCLR: Linear-BN-ReLU, Linear to 128.
std::shared_ptr<nn::Sequential> make_projector(const std::string& fw, int64_t D, int64_t P, Generator& gen) {
  auto s = std::make_shared<nn::Sequential>();
  s->push_back(std::make_shared<nn::Linear>(D, P, &gen));
  s->push_back(std::make_shared<nn::BatchNorm1d>(P));
  s->push_back(std::make_shared<nn::ReLU>());
  if (fw == "vicreg") {
    s->push_back(std::make_shared<nn::Linear>(P, P, &gen));
    s->push_back(std::make_shared<nn::BatchNorm1d>(P));
    s->push_back(std::make_shared<nn::ReLU>());
    s->push_back(std::make_shared<nn::Linear>(P, P, &gen));
  } else {
    s->push_back(std::make_shared<nn::Linear>(P, 128, &gen));
  }
  return s;
}

Tensor to_tensor(const data::ViewBatch& v, Device device) {
  Tensor t = Tensor::empty({v.N, v.T, v.H, v.W, v.C});
  std::memcpy(t.data<float>(), v.data.get(), v.numel() * sizeof(float));
  return device.is_cpu() ? t : t.to(device);
}
}  // namespace

struct SSLStep::State {
  PretrainOptions o;
  models::Encoder* encoder = nullptr;
  std::shared_ptr<nn::Sequential> projector;
  std::unique_ptr<SSLModel> model;
  std::unique_ptr<optim::Optimizer> opt;
  std::unique_ptr<vididi::PairSchedule> schedule;
  std::unique_ptr<optim::WarmupCosine> lr;
};

SSLStep::SSLStep(models::Encoder& encoder, const PretrainOptions& o) : s_(std::make_unique<State>()) {
  if (o.framework != "vicreg" && o.framework != "simclr")
    throw UsageError("framework '" + o.framework + "' is not supported by this pretrain driver yet; use vicreg or simclr");
  if (o.batch < 2) throw UsageError("bad value for 'batch': batch norm and the losses need >= 2 clips, got " + std::to_string(o.batch));
  if (o.steps < 1) throw UsageError("bad value for 'steps': expected >= 1");
  s_->o = o;
  s_->encoder = &encoder;
  s_->schedule = std::make_unique<vididi::PairSchedule>(vididi::parse_schedule_kind(o.schedule), vididi::parse_pairs(o.pairs), o.seed);
  Generator gen(o.seed + 1);
  auto enc_handle = std::shared_ptr<nn::Module>(&encoder, [](nn::Module*) {});
  s_->projector = make_projector(o.framework, encoder.feature_dim(), o.projector_dim, gen);
  s_->projector->to(o.device);
  s_->model = std::make_unique<SSLModel>(enc_handle, s_->projector);
  auto groups = optim::split_decay_groups(*s_->model, o.lr, o.weight_decay);
  if (o.optimizer == "lars") s_->opt = std::make_unique<optim::LARS>(groups, optim::LARSOptions(o.lr));
  else if (o.optimizer == "sgd") s_->opt = std::make_unique<optim::SGD>(groups, optim::SGDOptions(o.lr).momentum(0.9));
  else if (o.optimizer == "adamw") s_->opt = std::make_unique<optim::AdamW>(groups, optim::AdamWOptions(o.lr));
  else throw UsageError("bad value for 'optimizer': expected lars, sgd or adamw, got '" + o.optimizer + "'");
  s_->lr = std::make_unique<optim::WarmupCosine>(o.lr, o.lr * 1e-3, o.warmup_steps, o.steps);
  s_->model->train();
}

SSLStep::~SSLStep() = default;
int SSLStep::max_order() const { return s_->schedule->max_order(); }

double SSLStep::run(const Tensor& xa, const Tensor& xb, int64_t step, std::string* pair,
                    std::vector<std::pair<std::string, double>>* terms) {
  const PretrainOptions& o = s_->o;
  s_->opt->set_lr((*s_->lr)(step));
  s_->opt->zero_grad();
  Tensor loss;
  std::string pair_name;
  for (const auto& [pa, pb] : s_->schedule->pairs_at(step)) {
    Tensor za = s_->projector->forward(s_->encoder->forward(vididi::derivative_view(xa, pa, o.frames)));
    Tensor zb = s_->projector->forward(s_->encoder->forward(vididi::derivative_view(xb, pb, o.frames)));
    vididi::LossResult lr_ = o.framework == "vicreg" ? vididi::vicreg_loss(za, zb) : vididi::simclr_loss(za, zb);
    loss = loss.defined() ? add(loss, lr_.loss) : lr_.loss;
    pair_name += (pair_name.empty() ? "" : "+") + std::to_string(pa) + "-" + std::to_string(pb);
    if (terms) *terms = lr_.terms;
  }
  const double l = loss.item();
  if (!std::isfinite(l))
    throw vd::Error("pretrain: the loss is " + std::to_string(l) + " at step " + std::to_string(step) +
                    "; hint: lower --lr");
  loss.backward();
  s_->opt->step();
  if (pair) *pair = pair_name;
  return l;
}

void SSLStep::save(const std::string& path, int64_t step) const {
  CheckpointMeta meta;
  meta.step = step;
  meta.seed = s_->o.seed;
  save_checkpoint(path, *s_->model, s_->opt.get(), meta);
}

PretrainResult pretrain(models::Encoder& encoder, std::shared_ptr<const data::VideoSource> source,
                        const PretrainOptions& o) {
  SSLStep trainer(encoder, o);
  data::ClipConfig clip;
  clip.frames = o.frames;
  clip.extra_frames = trainer.max_order();
  clip.stride = o.stride;
  clip.views = 2;
  clip.train = true;
  clip.augment.out_h = clip.augment.out_w = o.crop;
  data::LoaderConfig lc;
  lc.batch_size = o.batch;
  lc.workers = o.workers;
  lc.seed = o.seed;
  lc.drop_last = true;
  data::Loader loader(source, clip, lc);
  if (loader.batches_per_epoch() < 1)
    throw UsageError("the dataset has " + std::to_string(source->size()) + " videos, fewer than one batch of " +
                     std::to_string(o.batch));

  std::ofstream log;
  if (!o.out.empty()) log.open(o.out + "/metrics.jsonl", std::ios::trunc);
  PretrainResult r;
  auto t0 = std::chrono::steady_clock::now();
  int64_t epoch = 0;
  loader.start_epoch(epoch);
  data::Batch b;
  for (int64_t step = 0; step < o.steps; ++step) {
    if (!loader.next(b)) {
      loader.start_epoch(++epoch);
      loader.next(b);
    }
    std::string pair_name;
    std::vector<std::pair<std::string, double>> terms;
    const double l = trainer.run(to_tensor(b.views.at(0), o.device), to_tensor(b.views.at(1), o.device), step,
                                 &pair_name, &terms);
    r.loss.push_back(l);
    r.pair.push_back(pair_name);
    if (log.is_open()) {
      log << "{\"step\": " << step << ", \"pair\": \"" << pair_name << "\", \"loss\": " << l;
      for (const auto& [k, v] : terms) log << ", \"" << k << "\": " << v;
      log << "}\n";
    }
    if (o.print && (step % o.log_every == 0 || step + 1 == o.steps)) {
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::ostringstream os;
      os.setf(std::ios::fixed);
      os.precision(3);
      os << "  step " << step + 1 << "/" << o.steps << "  pair " << pair_name << "  loss " << l << "  "
         << double((step + 1) * o.batch) / sec << " clips/s  ETA "
         << int(sec / double(step + 1) * double(o.steps - step - 1)) << " s";
      o.print(os.str());
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.clips_per_s = double(o.steps * o.batch) / r.seconds;
  if (!o.out.empty()) {
    r.checkpoint = o.out + "/last.ckpt";
    trainer.save(r.checkpoint, o.steps);
  }
  return r;
}

}  // namespace vd::cli
