// AdamW exactly as torch.optim.AdamW (amsgrad off): with step t (per parameter)
//   p *= 1 - lr * wd                      (skipped for groups with exclude)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#pragma once
#include "layers/optim/optimizer.h"

namespace vd::optim {

struct AdamWOptions {
  explicit AdamWOptions(double lr) : lr_(lr) {}
  AdamWOptions& betas(double b1, double b2) { beta1_ = b1; beta2_ = b2; return *this; }
  AdamWOptions& eps(double v) { eps_ = v; return *this; }
  AdamWOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  double lr_, beta1_ = 0.9, beta2_ = 0.999, eps_ = 1e-8, weight_decay_ = 0.01;
};

class AdamW : public Optimizer {
 public:
  AdamW(const NamedTensors& params, const AdamWOptions& opt);
  // Groups keep their lr / weight decay; options fill beta1, beta2, eps.
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& opt);

 protected:
  void update(const ParamGroup& group, size_t g, size_t i, Tensor& p, const Tensor& grad) override;
  void fused_row(const ParamGroup& group, size_t g, size_t i, double* row) override;
  void fused_update(const Tensor& table) override;
};

}  // namespace vd::optim
