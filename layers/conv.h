// Conv3d on channels-last video: x [N, T, H, W, Cin] -> [N, To, Ho, Wo, Cout],
// weight [Cout, kT, kH, kW, Cin], bias [Cout]. Forwards to vd::conv3d
// (autograd/functions.h). No groups. Pools are in layers/pool.h.
#pragma once
#include <array>

#include "core/op_types.h"
#include "layers/module.h"

namespace vd {
class Generator;
}

namespace vd::nn {

using Triple = std::array<int64_t, 3>;  // (T, H, W)

// Conv3dOptions(3, 64, {3, 7, 7}).stride({1, 2, 2}).padding({1, 3, 3}).bias(false)
struct Conv3dOptions {
  Conv3dOptions(int64_t in, int64_t out, Triple kernel)
      : in_channels_(in), out_channels_(out), kernel_size_(kernel) {}
  Conv3dOptions& stride(Triple v) { stride_ = v; return *this; }
  Conv3dOptions& padding(Triple v) { padding_ = v; return *this; }
  Conv3dOptions& dilation(Triple v) { dilation_ = v; return *this; }
  Conv3dOptions& bias(bool on) { bias_ = on; return *this; }
  int64_t in_channels_, out_channels_;
  Triple kernel_size_, stride_{1, 1, 1}, padding_{0, 0, 0}, dilation_{1, 1, 1};
  bool bias_ = true;
};

// Initialised as torch.nn.Conv3d (kaiming_uniform a = sqrt(5)); torchvision's
// video ResNets re-initialise with init::video_resnet_.
class Conv3d : public Module {
 public:
  explicit Conv3d(const Conv3dOptions& opt, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  void reset_parameters(Generator& gen);
  std::string extra_repr() const override;
  Window3d window() const;
  const Conv3dOptions options;
  Tensor weight, bias;  // bias undefined when options.bias_ is false
};

}  // namespace vd::nn
