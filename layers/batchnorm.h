// Batch norm over the last (channel) axis: BatchNorm1d for [N, C] and
// BatchNorm3d for channels-last video [N, T, H, W, C]. Parameters weight and
// bias [C]; buffers running_mean, running_var [C] and num_batches_tracked
// (a 0-dim f64 count of training batches, as in torchvision's state dicts).
// Training normalises with batch statistics and moves the running ones by
// `momentum` (or averages them, `cumulative`); eval normalises with the
// running ones. Forwards to vd::batch_norm. Not here: the kernels
// (core/cpu/batch_norm.cpp, cuda/batch_norm.cu) or SyncBatchNorm.
#pragma once
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
  std::string extra_repr() const override;
  const BatchNormOptions options;
  // Cumulative running statistics (PyTorch's momentum=None): in training,
  // the batch counted k-th by num_batches_tracked (from 1) enters them with
  // weight 1/k instead of `momentum`, so after a reset they are the plain
  // mean over batches. Off by default; eval::recalibrate_batch_norm sets it
  // for one pass.
  bool cumulative = false;
  Tensor weight, bias;                                    // [C]
  Tensor running_mean, running_var, num_batches_tracked;  // [C], [C], [] f64

 protected:
  BatchNormBase(const char* type, int rank, const BatchNormOptions& opt);

 private:
  int rank_;  // expected input rank
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

}  // namespace vd::nn
