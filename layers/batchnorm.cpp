// BatchNorm1d / BatchNorm3d and their SyncBatchNorm path (see batchnorm.h).
// The ordinary path forwards to vd::batch_norm (fused kernels), forward_relu
// to vd::batch_norm_act; the sync path is composed of differentiable ops
// around one dist::all_reduce_sum.
#include "layers/batchnorm.h"

#include <sstream>

#include "autograd/functions.h"
#include "core/ops.h"
#include "dist/functions.h"

namespace vd::nn {

BatchNormBase::BatchNormBase(const char* type, int rank, const BatchNormOptions& opt)
    : Module(type), options(opt), rank_(rank) {
  int64_t c = opt.num_features_;
  VD_CHECK(c > 0, type << ": expected a positive number of features, got " << c);
  VD_CHECK(opt.eps_ > 0 && opt.momentum_ >= 0 && opt.momentum_ <= 1,
           type << ": expected eps > 0 and momentum in [0, 1], got eps " << opt.eps_
                << ", momentum " << opt.momentum_);
  if (opt.affine_) {
    weight = register_parameter("weight", Tensor::ones({c}));
    bias = register_parameter("bias", Tensor::zeros({c}));
  }
  running_mean = register_buffer("running_mean", Tensor::zeros({c}));
  running_var = register_buffer("running_var", Tensor::ones({c}));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::F64));
}

double BatchNormBase::prepare(const Tensor& x, Tensor& gamma, Tensor& beta) {
  int64_t c = options.num_features_;
  VD_CHECK(x.dim() == rank_ && x.size(-1) == c,
           type_name() << ": expected input " << (rank_ == 2 ? "[N, " : "[N, T, H, W, ") << c
                       << "] (channels last), got " << describe(x)
                       << "; hint: BatchNorm1d takes [N, C], BatchNorm3d [N, T, H, W, C]");
  gamma = weight;
  beta = bias;
  if (!options.affine_) {
    gamma = Tensor::ones({c}, x.dtype(), x.device());
    beta = Tensor::zeros({c}, x.dtype(), x.device());
  }
  // Cumulative: the k-th tracked batch has weight 1/k (one host read of the count).
  return training_ && cumulative ? 1.0 / (num_batches_tracked.item() + 1.0) : options.momentum_;
}

Tensor BatchNormBase::forward(const Tensor& x) {
  Tensor gamma, beta;
  const double momentum = prepare(x, gamma, beta);
  Tensor y = training_ && syncs()
                 ? sync_forward(x, gamma, beta, momentum)
                 : batch_norm(x, gamma, beta, running_mean, running_var, training_, momentum, options.eps_);
  if (training_) {
    autograd::NoGradGuard guard;
    ops::copy_(num_batches_tracked, num_batches_tracked + 1.0);
  }
  return y;
}

// x: [N, C] or [N, T, H, W, C]; residual: x's shape or undefined -> x's shape.
Tensor BatchNormBase::forward_relu(const Tensor& x, const Tensor& residual) {
  if (!fuse_act || (training_ && syncs())) {
    const Tensor y = forward(x);
    return relu(residual.defined() ? y + residual : y);
  }
  Tensor gamma, beta;
  const double momentum = prepare(x, gamma, beta);
  Tensor y = batch_norm_act(x, residual, gamma, beta, running_mean, running_var, training_, momentum,
                            options.eps_);
  if (training_) {
    autograd::NoGradGuard guard;
    ops::copy_(num_batches_tracked, num_batches_tracked + 1.0);
  }
  return y;
}

// x: [N, C] or [N, T, H, W, C] (channels last) -> same shape; gamma, beta: [C].
// Over the M = x.numel() / C rows of this rank and n = sum of M over ranks:
//   [s1 | s2 | M] = [sum_rows x | sum_rows x^2 | M]        local, [2C + 1]
//   [S1 | S2 | n] = all_reduce_sum([s1 | s2 | M])           every rank, [2C + 1]
//   mean = S1 / n, var = max(S2 / n - mean^2, 0)            biased, [C]
//   y = x * scale + shift, scale = gamma / sqrt(var + eps), shift = beta - mean * scale
// The tape differentiates all of it: the all-reduce's backward sums the
// gradients of S1, S2 over ranks, so dx, dgamma, dbeta are those of the
// whole batch's loss restricted to this rank's rows (dgamma, dbeta: this
// rank's share; their sum over ranks is the one-process value, which the
// gradient buckets turn into the mean). Statistics in f32 (f64 for f64 x);
// bf16 x is widened for them and y narrowed back. Precision: S2 / n -
// mean^2 loses about 2^-24 (1 + 2 mean^2 / var) of the variance relative to
// the fused kernel's two-pass f64 sums: ~1e-7 for centred activations.
Tensor BatchNormBase::sync_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   double momentum) {
  const int64_t C = options.num_features_;
  const DType sd = x.dtype() == DType::F64 ? DType::F64 : DType::F32;
  const Tensor xs = x.dtype() == sd ? x : to_dtype(x, sd);
  const Tensor rows = reshape(xs, {-1, C});  // [M, C]
  const int64_t M = rows.size(0);
  VD_CHECK(M * sync_->world_size() > 1,
           type_name() << " (sync): expected more than one value per channel in training over "
                       << sync_->world_size() << " rank(s), got x " << describe(x)
                       << "; hint: use a larger batch or eval()");
  const Tensor local = concat({sum(rows, {0}), sum(square(rows), {0}),
                               Tensor::full({1}, double(M), sd, x.device())},
                              0);                                    // [2C + 1]
  const Tensor total = dist::all_reduce_sum(*sync_, local);          // [2C + 1]
  const Tensor n = narrow(total, 0, 2 * C, 1);                       // [1]
  const Tensor mean = narrow(total, 0, 0, C) / n;                    // [C]
  const Tensor var = maximum(narrow(total, 0, C, C) / n - square(mean),
                             Tensor::zeros({1}, sd, x.device()));    // [C]
  const Tensor g = gamma.dtype() == sd ? gamma : to_dtype(gamma, sd);
  const Tensor b = beta.dtype() == sd ? beta : to_dtype(beta, sd);
  const Tensor scale = g * rsqrt(var + options.eps_);                // [C]
  const Tensor shift = b - mean * scale;                             // [C]
  Tensor y = xs * scale + shift;                                     // x's shape
  if (y.dtype() != x.dtype()) y = to_dtype(y, x.dtype());

  // Running statistics: the global mean and unbiased variance var * n / (n - 1),
  // blended as vd::batch_norm does; the same values on every rank.
  autograd::NoGradGuard no_grad;
  const Tensor unbiased = var * (n / (n - 1.0));
  auto blend = [momentum](Tensor& run, const Tensor& batch) {
    ops::copy_(run, run * (1.0 - momentum) + ops::to_dtype(batch.detach(), run.dtype()) * momentum);
  };
  blend(running_mean, mean);
  blend(running_var, unbiased);
  return y;
}

void BatchNormBase::set_sync(std::shared_ptr<dist::Communicator> comm, bool at_world_1) {
  sync_ = std::move(comm);
  sync_at_world_1_ = sync_ && at_world_1;
}

int convert_sync_batchnorm(Module& root, std::shared_ptr<dist::Communicator> comm, bool at_world_1) {
  int switched = 0;
  root.apply([&](Module& m) {
    if (auto* bn = dynamic_cast<BatchNormBase*>(&m)) {
      bn->set_sync(comm, at_world_1);
      ++switched;
    }
  });
  return switched;
}

int set_fuse_act(Module& root, bool on) {
  int set = 0;
  root.apply([&](Module& m) {
    if (auto* bn = dynamic_cast<BatchNormBase*>(&m)) {
      bn->fuse_act = on;
      ++set;
    }
  });
  return set;
}

std::string BatchNormBase::extra_repr() const {
  std::ostringstream os;
  os << options.num_features_ << ", eps=" << options.eps_ << ", momentum=" << options.momentum_
     << ", affine=" << (options.affine_ ? "True" : "False") << ", track_running_stats=True";
  if (sync_) os << ", sync=" << sync_->backend() << " world " << sync_->world_size();
  return os.str();
}

}  // namespace vd::nn
