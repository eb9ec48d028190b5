// vididi/eval/head_training.h: training a small head (a Linear, or a
// two-layer MLP) on cached features, shared by the linear probe and the
// frozen-encoder detection head. Two solvers:
//   - lbfgs (the default): full-batch L-BFGS (layers/optim/lbfgs.h) on the
//     mean loss + weight_decay / 2 * ||weights||^2 (biases not penalised),
//     as scikit-learn's LogisticRegression and CLIP's linear probes fit
//     them, to convergence (gradient or value tolerance) or `epochs`
//     iterations (each a full pass, plus line-search passes);
//   - minibatch: AdamW or SGD over shuffled batches with an epoch-level
//     rule (EpochSchedule, also used by detection fine-tuning): `plateau`
//     trains until the training loss stops improving (scikit-learn
//     MLPClassifier's test: an epoch improves when its mean loss is at least
//     `tolerance` below the best so far; `patience` epochs without one is a
//     plateau, which divides the learning rate by 10 at most `decays` times,
//     then stops), `epochs` being a maximum; `cosine` is the older fixed
//     schedule, exactly `epochs` epochs with a cosine learning rate to 0.
// Losses: softmax cross-entropy for one label per sample, sigmoid binary
// cross-entropy for multi-label targets.
// Not here: extracting features (features.h, detection_head.h).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "layers/module.h"

namespace vd {
class Generator;
}

namespace vd::eval {

struct HeadTrainOptions {
  std::string solver = "lbfgs";      // "lbfgs" | "minibatch"
  int epochs = 1000;                 // lbfgs: iterations at most; plateau: epochs at most; cosine: exactly
  std::string schedule = "plateau";  // "plateau" | "cosine"
  int patience = 10;                 // plateau: epochs without improvement
  double tolerance = 1e-4;           // plateau: improvement that counts (loss units)
  int decays = 2;                    // plateau: lr / 10 this many times before stopping
  int batch = 256;
  std::string optimizer = "adamw";   // "adamw" | "sgd" (momentum 0.9)
  double lr = 1e-3;
  double weight_decay = 1e-4;
  double dropout = 0;                // minibatch: on the features, before the head (training only)
  uint64_t seed = 0;                 // shuffling and dropout
  Device device = Device::cpu();
};
// Refuses bad values naming the field (VD_CHECK).
void validate(const HeadTrainOptions& o, const char* who);

// The learning rate per step and the stopping rule, epoch by epoch.
class EpochSchedule {
 public:
  EpochSchedule(const HeadTrainOptions& o, int64_t steps_per_epoch);
  double lr(int64_t step) const;
  // After an epoch with mean loss `loss`: false when training should stop.
  bool end_epoch(double loss);
  int epochs_done() const { return epochs_; }
  const std::string& stop_reason() const { return reason_; }  // "" while running

 private:
  HeadTrainOptions o_;
  int64_t per_epoch_;
  double scale_ = 1, best_ = 1e300;
  int epochs_ = 0, bad_ = 0, decays_ = 0;
  std::string reason_;
};

// Targets of N samples over K classes: labels (single-label) or multi_hot
// [N * K] of 0 / 1 (multi-label).
struct HeadTargets {
  int64_t classes = 0;
  std::vector<int64_t> labels;
  std::vector<float> multi_hot;
  bool multi_label() const { return !multi_hot.empty(); }
  int64_t size() const { return multi_label() ? int64_t(multi_hot.size()) / classes : int64_t(labels.size()); }
};

struct EpochStats {
  int epoch = 0;                 // 0-based (lbfgs: the iteration)
  double loss = 0, lr = 0;       // mean data loss (no penalty); lr, or lbfgs's step length
  double train_accuracy = 0;     // top-1 on the epoch's batches (single-label; NaN for multi-label)
};

struct HeadTrainResult {
  std::vector<EpochStats> epochs;  // per epoch (lbfgs: per iteration)
  std::string stop_reason;         // "converged: ...", "max epochs (N) reached", "fixed schedule", ...
  int64_t passes = 0;              // full passes over the features (lbfgs: function evaluations)
  int epochs_used() const { return int(epochs.size()); }
};

// A Linear (hidden = 0) or Linear-ReLU-Linear (hidden > 0) head D -> K,
// torch init from `gen`; children "0" (and "1", "2") of a Sequential.
std::shared_ptr<nn::Module> make_head(int64_t in, int64_t hidden, int64_t classes, Generator& gen);

// mean over all elements of the sigmoid binary cross-entropy, computed
// stably as relu(z) - z y + log(1 + exp(-|z|)); targets in [0, 1].
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);
// The loss of `logits` [B, K] for samples `rows` of `y`.
Tensor head_loss(const Tensor& logits, const HeadTargets& y, const std::vector<int64_t>& rows);

// Trains `head` (on o.device) on x [N, D] (host floats) against y with
// o.solver (minibatch: the samples reshuffled every epoch); on_epoch (may
// be empty) after each epoch or L-BFGS iteration.
HeadTrainResult train_head(nn::Module& head, const std::vector<float>& x, int64_t D, const HeadTargets& y,
                           const HeadTrainOptions& o, const std::function<void(const EpochStats&)>& on_epoch);

// head(x) for x [N, D] in eval mode under no-grad, in chunks: [N, K] floats.
std::vector<float> head_logits(nn::Module& head, const std::vector<float>& x, int64_t D, Device device);

// Per-dimension mean and std of the rows of x [N, D] (std + 1e-6), and x
// standardised with them in place.
struct Standardizer {
  std::vector<double> mean, sd;
  static Standardizer fit(const std::vector<float>& x, int64_t D);
  void apply(std::vector<float>& x) const;
};

}  // namespace vd::eval
