// Parameter initialisation, drawn from a vd::Generator on the host and copied
// into the tensor (any device, f32 or f64). Fans follow the channels-last
// layouts: Linear [out, in]; Conv3d [Cout, kT, kH, kW, Cin]. Schemes: torch's
// defaults (Linear, Conv3d) and torchvision's video ResNets (video_resnet_).
#pragma once
#include "core/tensor.h"

namespace vd {
class Generator;
}

namespace vd::nn {
class Module;
}

namespace vd::nn::init {

// receptive = prod(shape[1:-1]); fan_in = shape[-1] * receptive,
// fan_out = shape[0] * receptive. Needs rank >= 2.
struct Fans {
  int64_t fan_in = 0, fan_out = 0;
};
Fans fans(const Shape& weight_shape);

enum class FanMode { FanIn, FanOut };

void constant_(Tensor& t, double value);
void zeros_(Tensor& t);
void ones_(Tensor& t);
void normal_(Tensor& t, double mean, double std, Generator& gen);
void uniform_(Tensor& t, double lo, double hi, Generator& gen);
// N(0, gain^2 / fan) with gain sqrt(2) (relu), as torch.nn.init.kaiming_normal_.
void kaiming_normal_(Tensor& t, FanMode mode, Generator& gen);
// U(-b, b), b = sqrt(6 / ((1 + a^2) fan)), as torch.nn.init.kaiming_uniform_.
void kaiming_uniform_(Tensor& t, double a, FanMode mode, Generator& gen);
// torch's default for Linear and Conv: kaiming_uniform_(a = sqrt(5)) on the
// weight, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the
// bias (when defined).
void torch_default_(Tensor& weight, Tensor& bias, Generator& gen);

// torchvision VideoResNet's init over every layer of `m`: Conv3d weight
// kaiming_normal_(fan_out, relu), conv bias 0; BatchNorm weight 1, bias 0;
// Linear weight N(0, 0.01), bias 0. Draws in module order (named_modules()).
void video_resnet_(Module& m, Generator& gen);

}  // namespace vd::nn::init
