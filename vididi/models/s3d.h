// torchvision's S3D (separable 3-D inception net), channels-last, without the
// classifier unless asked for. Module and parameter names equal torchvision's
// (`features.0.0.0.weight`, `features.5.branch1.1.0.1.running_var`,
// `classifier.1.weight`). BatchNorm eps 1e-3, momentum 1e-3 as torchvision.
//
// Pooling difference (docs/MODELS.md): torchvision pools the last feature map
// with a fixed AvgPool3d((2, 7, 7), stride 1) and then averages the logits
// over what remains; that needs a map of at least 2x7x7 (inputs of 224x224,
// 13 to 20 frames give exactly 2x7x7). We average over T, H, W, which
// equals torchvision's whenever the map is exactly 2x7x7 and also works for
// 112x112 inputs (map 2x3x3). With a head, torchvision's classifier (a 1x1x1
// conv, linear per position) then mean is the same as classifier(mean).
#pragma once
#include "layers/layers.h"
#include "vididi/models/encoder.h"

namespace vd::models {

// Sequential(Conv3dNormActivation (1,k,k) stride (1,s,s), Conv3dNormActivation (k,1,1) stride (s,1,1)).
std::shared_ptr<nn::Sequential> temporal_separable_conv(int64_t in, int64_t out, int64_t k,
                                                        int64_t s, int64_t p, Generator* gen);

// Four branches concatenated along channels (last axis):
// branch0 1x1x1; branch1, branch2 1x1x1 then TemporalSeparableConv 3;
// branch3 MaxPool3d 3x3x3 stride 1 pad 1 then 1x1x1.
class SepInceptionBlock3D : public nn::Module, public ShapeTraced {
 public:
  SepInceptionBlock3D(int64_t in, int64_t b0_out, int64_t b1_mid, int64_t b1_out, int64_t b2_mid,
                      int64_t b2_out, int64_t b3_out, Generator* gen);
  Tensor forward(const Tensor& x) override;  // [N,T,H,W,in] -> [N,T,H,W,b0+b1+b2+b3]
  Shape trace(FlopCounter& fc, const std::string& prefix, const Shape& in) override;
  std::shared_ptr<nn::Module> branch[4];
};

class S3D : public Encoder {
 public:
  explicit S3D(const EncoderOptions& opt);
  // x: [N, T, H, W, 3] -> [N, 1024 / width_divisor]: features, then mean over T, H, W.
  Tensor forward(const Tensor& x) override;
  Tensor feature_map(const Tensor& x) override;  // features' output [N, T', H', W', 1024 / width_divisor]
  Tensor classify(const Tensor& features) override;  // classifier.1 (a 1x1x1 conv with bias)
  int64_t feature_dim() const override { return feature_dim_; }
  Shape trace(FlopCounter& fc, const std::string& prefix, const Shape& in) override;

  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Conv3d> classifier_conv;  // null without a head

 private:
  int64_t feature_dim_;
};

}  // namespace vd::models
