// torchvision's VideoResNet family with BasicBlocks: R3D-18 (Conv3DSimple,
// BasicStem) and R(2+1)D-18 (Conv2Plus1D, R2Plus1dStem), channels-last.
// Module and parameter names equal torchvision's (`stem.0.weight`,
// `layer1.0.conv1.0.weight`, `layer2.0.downsample.1.running_mean`, `fc.weight`)
// and so do shapes after the conv-weight permutation (encoder.h). Width and
// depth are settings (EncoderOptions). Not here: MC3, Bottleneck blocks.
#pragma once
#include "layers/layers.h"
#include "vididi/models/encoder.h"

namespace vd::models {

enum class ResNetConv {
  Simple3d,    // Conv3DSimple: one 3x3x3 conv
  TwoPlusOne,  // Conv2Plus1D: 1x3x3 conv, BN, ReLU, 3x1x1 conv
};

// torchvision BasicBlock's R(2+1)D mid width:
// (in * out * 27) // (in * 9 + 3 * out), integer division.
int64_t r2plus1d_midplanes(int64_t in_planes, int64_t out_planes);

// conv1 = Sequential(conv(in, out, stride), BN, ReLU); conv2 = Sequential(conv(out, out), BN);
// downsample = Sequential(Conv3d 1x1x1 stride s, BN) when the shape changes.
// forward: relu(conv2(conv1(x)) + (downsample ? downsample(x) : x)), with
// conv2's batch norm, the residual add and the ReLU fused
// (BatchNormBase::forward_relu); conv1's BN + ReLU are fused by Sequential.
class BasicBlock : public nn::Module, public ShapeTraced {
 public:
  BasicBlock(ResNetConv kind, int64_t in_planes, int64_t planes, int64_t stride, Generator* gen);
  Tensor forward(const Tensor& x) override;  // [N,T,H,W,in] -> [N,T',H',W',planes]
  Shape trace(FlopCounter& fc, const std::string& prefix, const Shape& in) override;
  std::shared_ptr<nn::Sequential> conv1, conv2, downsample;  // downsample may be null

 private:
  std::shared_ptr<nn::Module> conv2_conv_;        // conv2[0]
  std::shared_ptr<nn::BatchNormBase> conv2_bn_;   // conv2[1]
};

class VideoResNet : public Encoder {
 public:
  VideoResNet(ResNetConv kind, const EncoderOptions& opt);
  // x: [N, T, H, W, 3] -> [N, 512 / width_divisor]: stem, layer1..4, mean over T, H, W.
  Tensor forward(const Tensor& x) override;
  Tensor feature_map(const Tensor& x) override;       // layer4's output [N, T', H', W', 512 / width_divisor]
  Tensor classify(const Tensor& features) override;  // fc
  int64_t feature_dim() const override { return feature_dim_; }
  Shape trace(FlopCounter& fc, const std::string& prefix, const Shape& in) override;

  std::shared_ptr<nn::Sequential> stem, layer1, layer2, layer3, layer4;
  std::shared_ptr<nn::Linear> fc;  // null without a head

 private:
  int64_t feature_dim_;
};

}  // namespace vd::models
