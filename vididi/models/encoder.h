// Video encoders: the common base class, their options and the factory.
// An encoder maps a clip batch x: [N, T, H, W, 3] (channels-last) to pooled
// features [N, feature_dim()]. Optional classification head (torchvision's
// `fc` / `classifier`) for fine-tuning; it is not applied by forward().
// Architectures live in r3d.h (R3D-18, R(2+1)D-18) and s3d.h (S3D); FLOP
// counting in flops.h; layout conversion helpers for torchvision at the end.
// Not here: projectors and SSL heads (vididi/), training, checkpoint files.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"
#include "vididi/models/flops.h"

namespace vd {
class Generator;
}

namespace vd::models {

struct EncoderOptions {
  // Every channel width is divided by this (the 3 RGB input channels stay 3),
  // as tests/golden/video_models.py's `_scaled`: 1 = torchvision, 8 = CPU-sized.
  int64_t width_divisor = 1;
  // VideoResNet depth: BasicBlocks per stage (torchvision: {2, 2, 2, 2}).
  // S3D has no depth setting and refuses a non-default value.
  std::vector<int64_t> blocks = {2, 2, 2, 2};
  // > 0 builds torchvision's head (`fc` Linear, or S3D's `classifier.1`
  // 1x1x1 Conv3d with bias) with this many classes; 0 = no head.
  int64_t num_classes = 0;
  // Initialisation draws from this generator (the default one when null).
  Generator* gen = nullptr;
};

class Encoder : public nn::Module, public ShapeTraced {
 public:
  explicit Encoder(std::string type_name) : nn::Module(std::move(type_name)) {}
  // x: [N, T, H, W, 3] -> features [N, feature_dim()]; the head is not applied.
  Tensor forward(const Tensor& x) override = 0;
  virtual int64_t feature_dim() const = 0;
  // x: [N, T, H, W, 3] -> the last feature map before pooling,
  // [N, T', H', W', feature_dim()] (f32 under bf16 too); forward() is its
  // mean over T', H', W'. For detection heads (RoIAlign on the map).
  virtual Tensor feature_map(const Tensor& x) = 0;
  // The head on pooled features: [N, feature_dim()] -> [N, num_classes].
  virtual Tensor classify(const Tensor& features) = 0;
  bool has_head() const { return num_classes_ > 0; }
  int64_t num_classes() const { return num_classes_; }
  Tensor logits(const Tensor& x) { return classify(forward(x)); }

 protected:
  // Throws unless x is a channels-last clip batch [N, T, H, W, 3].
  void check_clip(const Tensor& x) const;
  void check_head(const Tensor& features) const;
  // Mixed precision boundary: under precision bf16 on the GPU the clip enters
  // the network as bf16 (layers cast their f32 master weights to it), and the
  // pooled features leave as f32, so heads, BN statistics and losses stay f32.
  static Tensor autocast_input(const Tensor& x);
  static Tensor autocast_output(const Tensor& features);
  int64_t num_classes_ = 0;
};

// "r3d_18", "r2plus1d_18" or "s3d" (torchvision's names); "r3d18",
// "r2plus1d18", "r(2+1)d-18" etc. are accepted spellings (see canonical_name).
std::shared_ptr<Encoder> make_encoder(const std::string& name, const EncoderOptions& opt = {});
std::string canonical_encoder_name(const std::string& name);  // throws on unknown names
std::vector<std::string> encoder_names();

// --- torchvision layout mapping -------------------------------------------
// Conv weights: ours [Cout, kT, kH, kW, Cin] <-> torch [Cout, Cin, kT, kH, kW].
// Every other tensor (BN, Linear, biases) has the same layout in both.
Shape torch_shape(const Shape& ours);
Shape our_shape(const Shape& torch);
Tensor to_torch_layout(const Tensor& ours);     // contiguous copy for rank 5
Tensor from_torch_layout(const Tensor& torch);  // contiguous copy for rank 5

}  // namespace vd::models
