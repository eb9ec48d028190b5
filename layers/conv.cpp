// Conv3d (see conv.h).
#include "layers/conv.h"

#include <sstream>

#include "autograd/functions.h"
#include "core/random.h"
#include "layers/init.h"

namespace vd::nn {

Conv3d::Conv3d(const Conv3dOptions& o, Generator* gen) : Module("Conv3d"), options(o) {
  VD_CHECK(o.in_channels_ > 0 && o.out_channels_ > 0,
           "Conv3d: expected positive channels, got in " << o.in_channels_ << ", out "
                                                          << o.out_channels_);
  for (int i = 0; i < 3; ++i)
    VD_CHECK(o.kernel_size_[i] > 0 && o.stride_[i] > 0 && o.padding_[i] >= 0 && o.dilation_[i] > 0,
             "Conv3d: expected kernel, stride, dilation > 0 and padding >= 0, got "
                 << window().str());
  const Triple& k = o.kernel_size_;
  weight = register_parameter("weight",
                              Tensor::empty({o.out_channels_, k[0], k[1], k[2], o.in_channels_}));
  if (o.bias_) bias = register_parameter("bias", Tensor::empty({o.out_channels_}));
  reset_parameters(gen ? *gen : default_generator());
}

void Conv3d::reset_parameters(Generator& gen) { init::torch_default_(weight, bias, gen); }

Window3d Conv3d::window() const {
  Window3d w;
  w.kernel = options.kernel_size_;
  w.stride = options.stride_;
  w.padding = options.padding_;
  w.dilation = options.dilation_;
  return w;
}

Tensor Conv3d::forward(const Tensor& x) {
  VD_CHECK(x.dim() == 5 && x.size(4) == options.in_channels_,
           "Conv3d: expected input [N, T, H, W, " << options.in_channels_ << "] (channels-last), got "
                                                  << describe(x)
                                                  << "; hint: permute NCDHW to NDHWC");
  // Mixed precision: f32 master weights are cast to a bf16 input's dtype by a
  // differentiable cast, so their gradients come back in f32.
  return conv3d(x, to_dtype(weight, x.dtype()), bias.defined() ? to_dtype(bias, x.dtype()) : bias,
                window());
}

std::string Conv3d::extra_repr() const {
  const Conv3dOptions& o = options;
  std::ostringstream os;
  os << o.in_channels_ << ", " << o.out_channels_ << ", kernel_size=" << tuple_str(o.kernel_size_)
     << ", stride=" << tuple_str(o.stride_);
  if (o.padding_ != Triple{0, 0, 0}) os << ", padding=" << tuple_str(o.padding_);
  if (o.dilation_ != Triple{1, 1, 1}) os << ", dilation=" << tuple_str(o.dilation_);
  if (!o.bias_) os << ", bias=False";
  return os.str();
}

}  // namespace vd::nn
