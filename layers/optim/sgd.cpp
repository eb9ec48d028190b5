// SGD (see sgd.h): tensor expressions run inside Optimizer::step()'s
// NoGradGuard (the reference), and the fused step's table row and kernel call.
#include "layers/optim/sgd.h"

#include "autograd/functions.h"
#include "core/ops.h"

namespace vd::optim {

SGD::SGD(const NamedTensors& params, const SGDOptions& opt)
    : SGD(std::vector<ParamGroup>{make_group(params, opt.lr_, opt.weight_decay_)}, opt) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& opt)
    : Optimizer(std::move(groups),
                {{"momentum", opt.momentum_},
                 {"dampening", opt.dampening_},
                 {"nesterov", opt.nesterov_ ? 1.0 : 0.0}},
                "SGD") {
  for (const auto& grp : param_groups()) {
    double mu = grp.option("momentum"), d = grp.option("dampening");
    VD_CHECK(mu >= 0 && d >= 0, "SGD: expected momentum >= 0 and dampening >= 0, got momentum "
                                    << mu << ", dampening " << d);
    VD_CHECK(grp.option("nesterov") == 0 || (mu > 0 && d == 0),
             "SGD: nesterov needs momentum > 0 and dampening 0, got momentum "
                 << mu << ", dampening " << d);
  }
  add_slot("momentum_buffer");
  fused_rule_ = true;
}

void SGD::fused_row(const ParamGroup& grp, size_t g, size_t i, double* row) {
  row[fused_col::Momentum] = grp.option("momentum");
  row[fused_col::Dampening] = grp.option("dampening");
  row[fused_col::Nesterov] = grp.option("nesterov") != 0 ? 1.0 : 0.0;
  row[fused_col::First] = param_step(g, i) == 1 ? 1.0 : 0.0;
}

void SGD::fused_update(const Tensor& table) {
  FlatParams& f = *flat();
  ops::fused_sgd_(table, f.params(), f.grads(), f.slot("momentum_buffer"), f.work());
}

void SGD::update(const ParamGroup& grp, size_t g, size_t i, Tensor& p, const Tensor& grad) {
  double wd = grp.exclude ? 0.0 : grp.weight_decay;
  double mu = grp.option("momentum"), damp = grp.option("dampening");
  Tensor d = grad;
  if (wd != 0) d = grad + p * wd;
  if (mu != 0) {
    Tensor& buf = slot(g, i, "momentum_buffer");
    if (param_step(g, i) == 1)
      ops::copy_(buf, d);
    else
      axpby_(buf, mu, d, 1.0 - damp);
    if (grp.option("nesterov") != 0)
      d = d + buf * mu;
    else
      d = buf;
  }
  axpby_(p, 1.0, d, -grp.lr);
}

}  // namespace vd::optim
