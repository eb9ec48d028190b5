// vididi/heads.cpp: projector/predictor MLPs, BYOL's EMA target, and the
// per-framework loss dispatch (see heads.h).
#include "vididi/heads.h"

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/basic.h"
#include "layers/batchnorm.h"
#include "layers/optim/optimizer.h"

namespace vd::vididi {

Framework parse_framework(const std::string& s) {
  if (s == "vicreg") return Framework::VICReg;
  if (s == "byol") return Framework::BYOL;
  if (s == "simclr") return Framework::SimCLR;
  VD_FAIL("framework: expected vicreg, byol or simclr, got '" << s << "'; hint: framework = vicreg");
}

const char* framework_name(Framework f) {
  switch (f) {
    case Framework::VICReg: return "vicreg";
    case Framework::BYOL: return "byol";
    case Framework::SimCLR: return "simclr";
  }
  return "?";
}

std::shared_ptr<nn::Sequential> make_mlp(const std::vector<int64_t>& dims, Generator* gen) {
  VD_CHECK(dims.size() >= 2, "make_mlp: expected {in, ..., out}, got " << dims.size()
                                                                       << " widths; hint: {512, 2048, 128}");
  auto mlp = std::make_shared<nn::Sequential>();
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    VD_CHECK(dims[i] > 0 && dims[i + 1] > 0, "make_mlp: widths must be positive, got " << dims[i]
                                                                                         << " and " << dims[i + 1]);
    mlp->push_back(std::make_shared<nn::Linear>(dims[i], dims[i + 1], gen));
    if (i + 2 < dims.size()) {
      mlp->push_back(std::make_shared<nn::BatchNorm1d>(dims[i + 1]));
      mlp->push_back(std::make_shared<nn::ReLU>(true));
    }
  }
  return mlp;
}

SSLModel::SSLModel(const EncoderFactory& make_encoder, const HeadOptions& o, Generator* gen)
    : nn::Module("SSLModel"), options_(o), encoder_(make_encoder()) {
  VD_CHECK(encoder_, "SSLModel: expected the factory to return an encoder, got null");
  const int64_t f = encoder_->feature_dim();
  register_module("encoder", encoder_);
  switch (o.framework) {
    case Framework::VICReg:
      projector_ = make_mlp({f, o.vicreg_width, o.vicreg_width, o.vicreg_width}, gen);
      break;
    case Framework::SimCLR:
      projector_ = make_mlp({f, o.simclr_hidden, o.simclr_dim}, gen);
      break;
    case Framework::BYOL:
      projector_ = make_mlp({f, o.byol_hidden, o.byol_dim}, gen);
      predictor_ = make_mlp({o.byol_dim, o.byol_hidden, o.byol_dim}, gen);
      break;
  }
  register_module("projector", projector_);
  if (o.framework != Framework::BYOL) return;
  register_module("predictor", predictor_);
  // The target starts as an exact copy of the online encoder and projector.
  Generator scratch(0);  // its draws are overwritten by the copy below
  target_encoder_ = make_encoder();
  target_projector_ = make_mlp({f, o.byol_hidden, o.byol_dim}, &scratch);
  target_encoder_->load_state_dict(encoder_->state_dict());
  target_projector_->load_state_dict(projector_->state_dict());
  for (Tensor t : target_encoder_->parameters()) t.requires_grad_(false);
  for (Tensor t : target_projector_->parameters()) t.requires_grad_(false);
  register_module("target_encoder", target_encoder_);
  register_module("target_projector", target_projector_);
}

Tensor SSLModel::online(const Tensor& v) {
  Tensor z = (*projector_)(encoder_->forward(v));
  return predictor_ ? (*predictor_)(z) : z;
}

Tensor SSLModel::target(const Tensor& v) {
  VD_CHECK(target_encoder_, "SSLModel::target: only BYOL has a target network, this model is "
                                << framework_name(options_.framework));
  autograd::NoGradGuard no_grad;
  return (*target_projector_)(target_encoder_->forward(v));
}

LossResult SSLModel::loss(const Tensor& za, const Tensor& zb, const Tensor& ta, const Tensor& tb) const {
  // Losses accumulate in f32 (or f64 in tests) even when activations are bf16.
  auto wide = [](const Tensor& t) { return t.dtype() == DType::BF16 ? to_dtype(t, DType::F32) : t; };
  switch (options_.framework) {
    case Framework::VICReg: return vicreg_loss(wide(za), wide(zb), options_.vicreg);
    case Framework::SimCLR: return simclr_loss(wide(za), wide(zb), options_.temperature);
    case Framework::BYOL:
      VD_CHECK(ta.defined() && tb.defined(), "SSLModel::loss: BYOL needs the target projections of "
                                             "both views; hint: call target() on each view");
      return byol_loss(wide(za), wide(tb), wide(zb), wide(ta));
  }
  return {};
}

void SSLModel::update_target(double m) {
  if (!target_encoder_) return;
  autograd::NoGradGuard no_grad;
  auto ema = [m](const nn::Module& online, nn::Module& target) {
    std::vector<Tensor> src = online.parameters(), dst = target.parameters();
    VD_CHECK(src.size() == dst.size(), "update_target: online has " << src.size()
                                           << " parameters, target " << dst.size());
    for (size_t i = 0; i < src.size(); ++i) optim::axpby_(dst[i], m, src[i], 1.0 - m);
  };
  ema(*encoder_, *target_encoder_);
  ema(*projector_, *target_projector_);
}

nn::NamedTensors SSLModel::trainable_parameters() const {
  nn::NamedTensors out;
  for (auto& kv : named_parameters())
    if (kv.second.requires_grad()) out.push_back(kv);
  return out;
}

}  // namespace vd::vididi
