// LARS as the VICReg and BYOL reference implementations apply it
// (facebookresearch/vicreg main_vicreg.py). Per parameter with gradient g:
//   unless the group has exclude:  g = g + wd * p
//                                  g = g * q,  q = eta * ||p|| / ||g|| when
//                                  ||p|| > 0 and ||g|| > 0, else q = 1
//   mu = momentum * mu + g;  p -= lr * mu
// Biases and BN parameters go into an exclude group: split_decay_groups().
// The trust ratio is computed on the parameter's device (no host sync).
// Not here: the learning-rate schedule (schedule.h), the groups (optimizer.h).
#pragma once
#include "layers/optim/optimizer.h"

namespace vd::optim {

struct LARSOptions {
  explicit LARSOptions(double lr) : lr_(lr) {}
  LARSOptions& momentum(double v) { momentum_ = v; return *this; }
  LARSOptions& eta(double v) { eta_ = v; return *this; }
  LARSOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  double lr_, momentum_ = 0.9, eta_ = 0.001, weight_decay_ = 0;
};

class LARS : public Optimizer {
 public:
  // Splits the module's parameters with split_decay_groups (rank <= 1 excluded).
  LARS(const nn::Module& m, const LARSOptions& opt);
  // Groups keep their lr / weight decay / exclude; options fill momentum, eta.
  LARS(std::vector<ParamGroup> groups, const LARSOptions& opt);

 protected:
  void update(const ParamGroup& group, size_t g, size_t i, Tensor& p, const Tensor& grad) override;
  void fused_row(const ParamGroup& group, size_t g, size_t i, double* row) override;
  void fused_update(const Tensor& table) override;
};

}  // namespace vd::optim
