// Encoder base checks, the factory and the torchvision layout mapping (see encoder.h).
#include "vididi/models/encoder.h"

#include <algorithm>
#include <cctype>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/precision.h"
#include "vididi/models/r3d.h"
#include "vididi/models/s3d.h"

namespace vd::models {

void Encoder::check_clip(const Tensor& x) const {
  VD_CHECK(x.dim() == 5 && x.size(4) == 3,
           type_name() << ": expected a clip batch [N, T, H, W, 3] (channels-last), got "
                       << describe(x) << "; hint: permute NCDHW to NDHWC");
}

Tensor Encoder::autocast_input(const Tensor& x) {
  bool bf16 = x.is_cuda() && precision() == Precision::BF16 && x.dtype() == DType::F32;
  return bf16 ? to_dtype(x, DType::BF16) : x;
}

Tensor Encoder::autocast_output(const Tensor& features) {
  return features.dtype() == DType::BF16 ? to_dtype(features, DType::F32) : features;
}

void Encoder::check_head(const Tensor& f) const {
  VD_CHECK(num_classes_ > 0, type_name() << ": classify() needs a head; hint: build the encoder "
                                            "with EncoderOptions::num_classes > 0");
  VD_CHECK(f.dim() == 2 && f.size(1) == feature_dim(),
           type_name() << ": classify expected features [N, " << feature_dim() << "], got "
                       << describe(f) << "; hint: pass forward()'s output");
}

std::string canonical_encoder_name(const std::string& name) {
  std::string k;
  for (char c : name)
    if (std::isalnum(static_cast<unsigned char>(c))) k += char(std::tolower(static_cast<unsigned char>(c)));
  if (k == "r3d18" || k == "r3d") return "r3d_18";
  if (k == "r2plus1d18" || k == "r21d18" || k == "r2plus1d" || k == "r21d") return "r2plus1d_18";
  if (k == "s3d") return "s3d";
  VD_FAIL("make_encoder: unknown encoder '" << name
                                            << "'; hint: expected one of r3d_18, r2plus1d_18, s3d");
}

std::vector<std::string> encoder_names() { return {"r3d_18", "r2plus1d_18", "s3d"}; }

std::shared_ptr<Encoder> make_encoder(const std::string& name, const EncoderOptions& opt) {
  std::string k = canonical_encoder_name(name);
  if (k == "s3d") return std::make_shared<S3D>(opt);
  return std::make_shared<VideoResNet>(k == "r3d_18" ? ResNetConv::Simple3d : ResNetConv::TwoPlusOne,
                                       opt);
}

Shape torch_shape(const Shape& s) {
  if (s.size() != 5) return s;
  return {s[0], s[4], s[1], s[2], s[3]};
}

Shape our_shape(const Shape& s) {
  if (s.size() != 5) return s;
  return {s[0], s[2], s[3], s[4], s[1]};
}

Tensor to_torch_layout(const Tensor& t) {
  return t.dim() == 5 ? ops::contiguous(ops::permute(t, {0, 4, 1, 2, 3})) : t;
}

Tensor from_torch_layout(const Tensor& t) {
  return t.dim() == 5 ? ops::contiguous(ops::permute(t, {0, 2, 3, 4, 1})) : t;
}

}  // namespace vd::models
