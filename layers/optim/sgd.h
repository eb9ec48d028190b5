// SGD exactly as torch.optim.SGD (maximize off): with weight decay wd,
// momentum mu, dampening d and step t (1-based, per parameter):
//   g' = g + wd * p                       (skipped for groups with exclude)
//   buf = g' (t = 1), else mu * buf + (1 - d) * g'     (when mu != 0)
//   g'' = nesterov ? g' + mu * buf : buf  (g'' = g' when mu == 0)
//   p -= lr * g''
#pragma once
#include "layers/optim/optimizer.h"

namespace vd::optim {

struct SGDOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  SGDOptions& nesterov(bool on) { nesterov_ = on; return *this; }
  double lr_, momentum_ = 0, dampening_ = 0, weight_decay_ = 0;
  bool nesterov_ = false;
};

class SGD : public Optimizer {
 public:
  // One group with the options' lr and weight decay.
  SGD(const NamedTensors& params, const SGDOptions& opt);
  // Groups keep their lr / weight decay; options fill momentum, dampening, nesterov.
  SGD(std::vector<ParamGroup> groups, const SGDOptions& opt);

 protected:
  void update(const ParamGroup& group, size_t g, size_t i, Tensor& p, const Tensor& grad) override;
  void fused_row(const ParamGroup& group, size_t g, size_t i, double* row) override;
  void fused_update(const Tensor& table) override;
};

}  // namespace vd::optim
