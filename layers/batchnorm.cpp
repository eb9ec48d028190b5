// BatchNorm1d / BatchNorm3d (see batchnorm.h).
#include "layers/batchnorm.h"

#include <sstream>

#include "autograd/functions.h"
#include "core/ops.h"

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

Tensor BatchNormBase::forward(const Tensor& x) {
  int64_t c = options.num_features_;
  VD_CHECK(x.dim() == rank_ && x.size(-1) == c,
           type_name() << ": expected input " << (rank_ == 2 ? "[N, " : "[N, T, H, W, ") << c
                       << "] (channels last), got " << describe(x)
                       << "; hint: BatchNorm1d takes [N, C], BatchNorm3d [N, T, H, W, C]");
  Tensor gamma = weight, beta = bias;
  if (!options.affine_) {
    gamma = Tensor::ones({c}, x.dtype(), x.device());
    beta = Tensor::zeros({c}, x.dtype(), x.device());
  }
  // Cumulative: the k-th tracked batch has weight 1/k (one host read of the count).
  const double momentum =
      training_ && cumulative ? 1.0 / (num_batches_tracked.item() + 1.0) : options.momentum_;
  Tensor y = batch_norm(x, gamma, beta, running_mean, running_var, training_, momentum, options.eps_);
  if (training_) {
    autograd::NoGradGuard guard;
    ops::copy_(num_batches_tracked, num_batches_tracked + 1.0);
  }
  return y;
}

std::string BatchNormBase::extra_repr() const {
  std::ostringstream os;
  os << options.num_features_ << ", eps=" << options.eps_ << ", momentum=" << options.momentum_
     << ", affine=" << (options.affine_ ? "True" : "False") << ", track_running_stats=True";
  return os.str();
}

}  // namespace vd::nn
