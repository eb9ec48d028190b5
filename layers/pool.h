// Pooling on channels-last video [N, T, H, W, C]: MaxPool3d, AvgPool3d, and
// AdaptiveAvgPool3d to output size 1 (the only size the video encoders use),
// which returns [N, 1, 1, 1, C] so that Flatten gives [N, C].
#pragma once
#include "layers/conv.h"

namespace vd::nn {

// Pool3dOptions({1, 3, 3}).stride({1, 2, 2}).padding({0, 1, 1}); stride
// defaults to the kernel size, as in torch.
struct Pool3dOptions {
  explicit Pool3dOptions(Triple kernel) : kernel_size_(kernel), stride_(kernel) {}
  Pool3dOptions& stride(Triple v) { stride_ = v; return *this; }
  Pool3dOptions& padding(Triple v) { padding_ = v; return *this; }
  Pool3dOptions& count_include_pad(bool on) { count_include_pad_ = on; return *this; }  // avg only
  Window3d window(const char* who) const;  // validated
  Triple kernel_size_, stride_, padding_{0, 0, 0};
  bool count_include_pad_ = true;
};

class MaxPool3d : public Module {
 public:
  explicit MaxPool3d(const Pool3dOptions& opt);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const Pool3dOptions options;
};

class AvgPool3d : public Module {
 public:
  explicit AvgPool3d(const Pool3dOptions& opt);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const Pool3dOptions options;
};

class AdaptiveAvgPool3d : public Module {
 public:
  // Only (1, 1, 1) is supported; other sizes raise vd::Error.
  explicit AdaptiveAvgPool3d(Triple output_size = {1, 1, 1});
  Tensor forward(const Tensor& x) override;  // [N, T, H, W, C] -> [N, 1, 1, 1, C]
  std::string extra_repr() const override { return "output_size=(1, 1, 1)"; }
};

}  // namespace vd::nn
