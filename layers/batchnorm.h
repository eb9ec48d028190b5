// Batch norm over the last (channel) axis: BatchNorm1d for [N, C] and
// BatchNorm3d for channels-last video [N, T, H, W, C]. Parameters weight and
// bias [C]; buffers running_mean, running_var [C] and num_batches_tracked
// (a 0-dim f64 count of training batches, as in torchvision's state dicts).
// Training normalises with batch statistics and moves the running ones by
// `momentum` (or averages them, `cumulative`); eval normalises with the
// running ones. Forwards to vd::batch_norm.
//
// SyncBatchNorm (set_sync, convert_sync_batchnorm): in training, with a
// communicator of world size > 1, the statistics are those of the union of
// every rank's batch: per-channel sum, sum of squares and count are
// all-reduced through dist::all_reduce_sum (so backward all-reduces their
// gradients too) and the normalisation is written with differentiable ops
// (layers/batchnorm.cpp, sync_forward). Running statistics move with the
// global mean and unbiased global variance, the same on every rank. Eval
// mode, and training at world size 1 unless forced, take the ordinary path.
//
// Fused with the ReLU that follows (forward_relu, issue 18): relu(bn(x) [+
// residual]) through vd::batch_norm_act, one node that keeps x and its
// output instead of also the batch norm's output and the sum; the same
// statistics, running-statistics update and (on the CPU) bit for bit the
// same values and gradients. nn::Sequential calls it for a batch norm
// followed by a ReLU; BasicBlock (vididi/models/r3d.cpp) for its residual
// sum. The sync path has no fused kernel (its backward is the tape's, with
// the all-reduce): a training forward that syncs takes the composition.
// Not here: the kernels (core/cpu/batch_norm*.cpp, cuda/batch_norm*.cu).
#pragma once
#include <memory>

#include "dist/communicator.h"
#include "layers/module.h"

namespace vd::nn {

struct BatchNormOptions {
  explicit BatchNormOptions(int64_t num_features) : num_features_(num_features) {}
  BatchNormOptions& eps(double v) { eps_ = v; return *this; }
  BatchNormOptions& momentum(double v) { momentum_ = v; return *this; }
  BatchNormOptions& affine(bool on) { affine_ = on; return *this; }
  int64_t num_features_;
  double eps_ = 1e-5, momentum_ = 0.1;
  bool affine_ = true;  // false: weight/bias are not registered (fixed 1 and 0)
};

class BatchNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  // relu(forward(x) + residual) (residual undefined: relu(forward(x))),
  // fused unless fuse_act is off or the forward syncs (then composed).
  Tensor forward_relu(const Tensor& x, const Tensor& residual = Tensor());
  std::string extra_repr() const override;
  // forward_relu's fused path (on by default); off: the composition
  // relu(forward(x) + residual), for tests and comparisons (set_fuse_act).
  bool fuse_act = true;
  const BatchNormOptions options;
  // Cumulative running statistics (PyTorch's momentum=None): in training,
  // the batch counted k-th by num_batches_tracked (from 1) enters them with
  // weight 1/k instead of `momentum`, so after a reset they are the plain
  // mean over batches. Off by default; eval::recalibrate_batch_norm sets it
  // for one pass.
  bool cumulative = false;
  Tensor weight, bias;                                    // [C]
  Tensor running_mean, running_var, num_batches_tracked;  // [C], [C], [] f64

  // SyncBatchNorm: training statistics over every rank of `comm` (nullptr
  // turns it off). `at_world_1`: take the sync path even when comm has one
  // rank (tests; the ordinary path is the same function, faster). Every
  // rank must run the same forwards and backwards of its synced layers in
  // the same order (each is one collective each way), with running
  // statistics equal on every rank (they start so and stay so).
  void set_sync(std::shared_ptr<dist::Communicator> comm, bool at_world_1 = false);
  const std::shared_ptr<dist::Communicator>& sync_communicator() const { return sync_; }
  // Whether a training forward takes the sync path.
  bool syncs() const { return sync_ && (sync_->world_size() > 1 || sync_at_world_1_); }

 protected:
  BatchNormBase(const char* type, int rank, const BatchNormOptions& opt);

 private:
  Tensor sync_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double momentum);
  // forward's checks, the parameters (ones/zeros without affine) and the momentum.
  double prepare(const Tensor& x, Tensor& gamma, Tensor& beta);

  int rank_;  // expected input rank
  std::shared_ptr<dist::Communicator> sync_;
  bool sync_at_world_1_ = false;
};

class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(const BatchNormOptions& opt) : BatchNormBase("BatchNorm1d", 2, opt) {}
  explicit BatchNorm1d(int64_t c) : BatchNorm1d(BatchNormOptions(c)) {}
};

class BatchNorm3d : public BatchNormBase {
 public:
  explicit BatchNorm3d(const BatchNormOptions& opt) : BatchNormBase("BatchNorm3d", 5, opt) {}
  explicit BatchNorm3d(int64_t c) : BatchNorm3d(BatchNormOptions(c)) {}
};

// Switches every BatchNorm1d/BatchNorm3d in `root` (itself included) to
// SyncBatchNorm over `comm` (nullptr: back to ordinary batch norm), as
// torch.nn.SyncBatchNorm.convert_sync_batchnorm but in place; parameters and
// buffers are untouched. Returns the number of layers switched.
int convert_sync_batchnorm(Module& root, std::shared_ptr<dist::Communicator> comm,
                           bool at_world_1 = false);

// Sets fuse_act on every BatchNorm1d/BatchNorm3d in `root` (itself
// included); returns the number of layers set. Off gives the unfused
// composition everywhere (the tests' reference for the fused path).
int set_fuse_act(Module& root, bool on);

}  // namespace vd::nn
