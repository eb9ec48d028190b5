// Linear, ReLU, Flatten (see basic.h).
#include "layers/basic.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "core/random.h"
#include "layers/init.h"

namespace vd::nn {

Linear::Linear(const LinearOptions& opt, Generator* gen) : Module("Linear"), options(opt) {
  VD_CHECK(opt.in_features_ > 0 && opt.out_features_ > 0,
           "Linear: expected positive in/out features, got in " << opt.in_features_ << ", out "
                                                                << opt.out_features_);
  weight = register_parameter("weight", Tensor::empty({opt.out_features_, opt.in_features_}));
  if (opt.bias_) bias = register_parameter("bias", Tensor::empty({opt.out_features_}));
  reset_parameters(gen ? *gen : default_generator());
}

void Linear::reset_parameters(Generator& gen) {
  init::torch_default_(weight, bias, gen);
}

Tensor Linear::forward(const Tensor& x) {
  VD_CHECK(x.dim() >= 1 && x.size(-1) == options.in_features_,
           "Linear: expected input [..., " << options.in_features_ << "], got " << describe(x)
                                           << "; hint: flatten the features first");
  // Mixed precision: f32 master weights follow a bf16 input (see Conv3d).
  Tensor w = to_dtype(weight, x.dtype()), b = bias.defined() ? to_dtype(bias, x.dtype()) : bias;
  if (x.dim() == 2) return linear(x, w, b);
  Shape out_shape = x.shape();
  out_shape.back() = options.out_features_;
  Tensor y = linear(reshape(x, {-1, options.in_features_}), w, b);
  return reshape(y, out_shape);
}

std::string Linear::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << options.in_features_ << ", out_features=" << options.out_features_
     << ", bias=" << (options.bias_ ? "True" : "False");
  return os.str();
}

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor Flatten::forward(const Tensor& x) {
  int d = wrap_dim(start_dim_, x.dim(), "Flatten");
  Shape s(x.shape().begin(), x.shape().begin() + d);
  s.push_back(-1);
  if (x.numel() == 0) s.back() = 0;
  return reshape(x, s);
}

std::string Flatten::extra_repr() const {
  std::ostringstream os;
  os << "start_dim=" << start_dim_ << ", end_dim=-1";
  return os.str();
}

}  // namespace vd::nn
