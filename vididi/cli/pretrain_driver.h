// vididi/cli/pretrain_driver.h: the pretraining loop the `pretrain` and `demo`
// subcommands run: two clips per video from the threaded loader, derivative
// views per the pair schedule, encoder + projector, the framework's loss,
// optimizer with warm-up and cosine, a JSONL log and a checkpoint whose
// tensors are named "encoder.*" and "projector.*". It is the command's
// interim driver built from vididi/derivatives.h, schedule.h and losses.h
// until vididi's trainer (resume, BYOL's target network, guards) replaces it;
// BYOL is refused here. Not here: settings parsing (cmd_train.cpp).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/source.h"

namespace vd::models {
class Encoder;
}

namespace vd::cli {

struct PretrainOptions {
  std::string framework = "vicreg";  // "vicreg" | "simclr"
  std::string pairs = "0-1,1-2,2-0";
  std::string schedule = "alternate";
  int64_t steps = 100;
  int batch = 16, frames = 16, stride = 1, crop = 112, workers = 0;
  int64_t projector_dim = 2048;      // VICReg: Linear-BN-ReLU x2 + Linear; SimCLR: to 128
  std::string optimizer = "lars";    // "lars" | "sgd" | "adamw"
  double lr = 0.3, weight_decay = 1e-6;
  int64_t warmup_steps = 10;
  uint64_t seed = 0;
  Device device = Device::cpu();
  std::string out;                   // run directory ("" = nothing written)
  int log_every = 10;
  std::function<void(const std::string&)> print;  // progress lines (may be empty)
};

struct PretrainResult {
  std::vector<double> loss;  // per step
  std::vector<std::string> pair;  // per step: "0-1" (sum: "0-1+1-2+2-0")
  double seconds = 0, clips_per_s = 0;
  std::string checkpoint;    // path written, or ""
};

// One optimisation step of encoder + projector on two clip batches
// (xa, xb: [N, T + k, H, W, C] on options.device); shared by pretrain() and
// `vididi bench`.
class SSLStep {
 public:
  SSLStep(models::Encoder& encoder, const PretrainOptions& options);
  ~SSLStep();
  // Returns the loss; `pair` gets the pairs used ("0-1"), `terms` the loss terms.
  double run(const Tensor& xa, const Tensor& xb, int64_t step, std::string* pair = nullptr,
             std::vector<std::pair<std::string, double>>* terms = nullptr);
  int max_order() const;
  void save(const std::string& path, int64_t step) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Trains `encoder` (on options.device) in place.
PretrainResult pretrain(models::Encoder& encoder, std::shared_ptr<const data::VideoSource> source,
                        const PretrainOptions& options);

}  // namespace vd::cli
