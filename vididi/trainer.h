// vididi/trainer.h: ViDiDi's model and its optimisation, without data. A
// Trainer holds the encoder with the framework's heads (heads.h), the
// optimizer and the learning-rate schedule; train_step() is one step on two
// clip batches: the pair(s) of derivative orders of the schedule, their
// views (derivatives.h), one encoder for all orders, the framework's loss,
// backward, optional gradient clipping, the optimizer step (BYOL: then the
// EMA target update). save()/restore() write and read its checkpoint (model,
// optimizer, RNG, config and a model card saying what the checkpoint holds).
// In a data-parallel run (config/parallel.h) every rank holds a Trainer of
// the same config: parameters are broadcast from rank 0, each step's
// gradients are averaged over the ranks in buckets during backward, VICReg
// and SimCLR see the gathered global batch, and rank 0 alone prints and
// writes (docs/DISTRIBUTED.md). With cuda_graphs (one GPU process) the
// steady-state forward + backward of each pair set is replayed as a CUDA
// graph (graph_step.h).
// Not here: the loop over a dataset, logs and resume (train_loop.h); benches
// call train_step directly.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "vididi/config/parallel.h"
#include "vididi/config/train_config.h"
#include "vididi/derivatives.h"
#include "vididi/heads.h"
#include "vididi/run_dir.h"
#include "vididi/schedule.h"

namespace vd::optim {
class Optimizer;
}
namespace vd::dist {
class GradBuckets;
}

namespace vd::vididi {

class GraphStep;  // vididi/graph_step.h

// The terms of `terms` added into rec.terms by name, in order of first appearance.
void add_terms(StepRecord& rec, const std::vector<std::pair<std::string, double>>& terms);

// The name of the first tensor of `tensors` holding a NaN or an infinity, or
// "" when all are finite (undefined tensors are skipped). One reduction per
// tensor on its own device and one host synchronisation when all are finite.
std::string first_non_finite(const nn::NamedTensors& tensors);

class Trainer {
 public:
  // Validates `config` (no dataset needed), seeds and builds the model and
  // optimizer on the device. `total_steps` sets the length of the
  // learning-rate cosine and of BYOL's momentum schedule. `parallel`: this
  // rank's device and communicator (start_parallel); by default one process
  // on the device config.device names.
  Trainer(TrainConfig config, int64_t total_steps, std::function<void(const std::string&)> print = {},
          Parallel parallel = {});
  ~Trainer();

  // One optimisation step on clip batches xa, xb: [N, T + k, H, W, C] on the
  // device; `step` picks the pair(s) and the learning rate. Throws vd::Error
  // on a non-finite loss, and (every config.nan_check_every steps) on a
  // non-finite gradient or parameter/buffer after the update, naming the
  // step, the first such tensor and the last good checkpoint.
  StepRecord train_step(const Tensor& xa, const Tensor& xb, int64_t step);

  // Writes the checkpoint atomically (the previous file stays until the
  // rename); rank 0 writes, every rank remembers it as the last good one.
  void save(const std::string& path, int64_t steps_done);
  // Loads a checkpoint of the same run (the keys that define the run and the
  // world size must agree, else a UsageError names the key and both
  // values); returns its steps. Every rank reads the file.
  int64_t restore(const std::string& path);

  // The whole model in `dtype` (f32, or f64 for reference runs and the
  // equivalence tests, where float32 rounding would hide a wrong result);
  // before the first step only: the optimizer and the gradient buckets are
  // made anew for the new tensors. The clips passed to train_step must then
  // be of that dtype.
  void to(DType dtype);

  // A progress or status line, unless config.quiet; rank 0 only.
  void say(const std::string& line) const;

  SSLModel& model() { return *model_; }
  const TrainConfig& config() const { return config_; }
  Device device() const { return device_; }
  dist::Communicator& comm() const { return *parallel_.comm; }
  bool is_root() const { return parallel_.comm->is_root(); }
  // Seconds this rank has spent waiting on collectives so far.
  double comm_wait_seconds() const { return parallel_.comm->wait_seconds(); }
  int64_t total_steps() const { return total_steps_; }
  const PairSchedule& schedule() const { return schedule_; }
  const std::string& last_checkpoint() const { return last_checkpoint_; }

 private:
  TrainConfig config_;
  int64_t total_steps_;
  std::function<void(const std::string&)> print_;
  Parallel parallel_;
  Device device_;
  PairSchedule schedule_;
  DerivativeOptions derivatives_;
  std::shared_ptr<SSLModel> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<dist::GradBuckets> buckets_;  // world size > 1 only
  std::string last_good() const;  // "PATH (after step N)" or "none written yet"
  bool gathered() const;           // the loss sees the global batch (VICReg, SimCLR with gather = global)
  void average_running_statistics();
  void make_optimizer_and_buckets();

  std::string last_checkpoint_;
  int64_t last_checkpoint_step_ = -1;
  bool stepped_ = false;  // train_step has run

  // --- the pieces of train_step, shared with the captured path (graph_step.cpp)
  friend class GraphStep;
  struct StepForward {
    Tensor loss;                   // summed over the pairs
    std::vector<LossResult> pairs;  // each pair's loss and terms (or parts, under DeferLossTerms)
    std::string pair;              // "0-1" or "0-1+1-2"
  };
  // The step's views, embeddings and losses (no host read unless the losses read their terms).
  StepForward forward_pairs(const Tensor& xa, const Tensor& xb, int64_t step);
  // Data parallel: averages the logged loss over the ranks; throws on a non-finite loss.
  void judge_loss(StepRecord& rec, int64_t step);
  // optimizer zero_grad; with cuda_graphs the gradients are zeroed in place instead.
  void zero_grads();
  // After backward: finite checks, clipping, learning rate, optimizer, BYOL's target.
  StepRecord finish_step(StepRecord rec, int64_t step);
  std::unique_ptr<GraphStep> graphs_;  // cuda_graphs = true only
};

}  // namespace vd::vididi
