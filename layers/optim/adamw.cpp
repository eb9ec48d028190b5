// AdamW (see adamw.h): tensor expressions run inside Optimizer::step()'s
// NoGradGuard (the reference), and the fused step's table row and kernel call.
#include "layers/optim/adamw.h"

#include <cmath>

#include "autograd/functions.h"
#include "core/ops.h"

namespace vd::optim {

AdamW::AdamW(const NamedTensors& params, const AdamWOptions& opt)
    : AdamW(std::vector<ParamGroup>{make_group(params, opt.lr_, opt.weight_decay_)}, opt) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& opt)
    : Optimizer(std::move(groups), {{"beta1", opt.beta1_}, {"beta2", opt.beta2_}, {"eps", opt.eps_}},
                "AdamW") {
  for (const auto& grp : param_groups()) {
    double b1 = grp.option("beta1"), b2 = grp.option("beta2"), eps = grp.option("eps");
    VD_CHECK(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1 && eps >= 0,
             "AdamW: expected betas in [0, 1) and eps >= 0, got betas (" << b1 << ", " << b2
                                                                        << "), eps " << eps);
  }
  add_slot("exp_avg");
  add_slot("exp_avg_sq");
  fused_rule_ = true;
}

// Bias corrections on the host in f64, as update() computes them.
void AdamW::fused_row(const ParamGroup& grp, size_t g, size_t i, double* row) {
  const double b1 = grp.option("beta1"), b2 = grp.option("beta2"), t = double(param_step(g, i));
  row[fused_col::Beta1] = b1;
  row[fused_col::Beta2] = b2;
  row[fused_col::Eps] = grp.option("eps");
  row[fused_col::Bc1] = 1.0 - std::pow(b1, t);
  row[fused_col::Bc2] = 1.0 - std::pow(b2, t);
}

void AdamW::fused_update(const Tensor& table) {
  FlatParams& f = *flat();
  ops::fused_adamw_(table, f.params(), f.grads(), f.slot("exp_avg"), f.slot("exp_avg_sq"), f.work());
}

void AdamW::update(const ParamGroup& grp, size_t g, size_t i, Tensor& p, const Tensor& grad) {
  double b1 = grp.option("beta1"), b2 = grp.option("beta2"), eps = grp.option("eps");
  double wd = grp.exclude ? 0.0 : grp.weight_decay;
  double t = double(param_step(g, i));
  if (wd != 0) ops::copy_(p, p * (1.0 - grp.lr * wd));  // decoupled decay: p *= 1 - lr * wd
  Tensor& m = slot(g, i, "exp_avg");
  Tensor& v = slot(g, i, "exp_avg_sq");
  axpby_(m, b1, grad, 1.0 - b1);          // m = b1 * m + (1 - b1) * g
  axpby_(v, b2, square(grad), 1.0 - b2);  // v = b2 * v + (1 - b2) * g^2
  const double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
  const Tensor denom = sqrt(v) * (1.0 / std::sqrt(bc2)) + eps;  // sqrt(v / bc2) + eps
  axpby_(p, 1.0, m / denom, -grp.lr / bc1);                      // p -= lr / bc1 * m / denom
}

}  // namespace vd::optim
