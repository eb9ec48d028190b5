// LARS (see lars.h).
#include "layers/optim/lars.h"

#include "core/ops.h"

namespace vd::optim {

LARS::LARS(const nn::Module& m, const LARSOptions& opt)
    : LARS(split_decay_groups(m, opt.lr_, opt.weight_decay_), opt) {}

LARS::LARS(std::vector<ParamGroup> groups, const LARSOptions& opt)
    : Optimizer(std::move(groups), {{"momentum", opt.momentum_}, {"eta", opt.eta_}}, "LARS") {
  for (const auto& grp : param_groups())
    VD_CHECK(grp.option("momentum") >= 0 && grp.option("eta") > 0,
             "LARS: expected momentum >= 0 and eta > 0, got momentum " << grp.option("momentum")
                                                                       << ", eta "
                                                                       << grp.option("eta"));
  add_slot("mu");
}

void LARS::update(const ParamGroup& grp, size_t g, size_t i, Tensor& p, const Tensor& grad) {
  Tensor d = grad;
  if (!grp.exclude) {
    if (grp.weight_decay != 0)
      d = ops::binary(BinaryOp::Add, grad, ops::unary(UnaryOp::MulScalar, p, grp.weight_decay));
    // ok = (||p|| > 0) * (||d|| > 0); q = ok * eta * ||p|| / (||d|| + 1 - ok) + (1 - ok)
    Tensor pn = norm2(p), dn = norm2(d);
    Tensor ok = ops::binary(BinaryOp::Mul, ops::unary(UnaryOp::GtScalar, pn, 0.0),
                            ops::unary(UnaryOp::GtScalar, dn, 0.0));
    Tensor not_ok = ops::unary(UnaryOp::RsubScalar, ok, 1.0);
    Tensor ratio = ops::binary(BinaryOp::Div, ops::unary(UnaryOp::MulScalar, pn, grp.option("eta")),
                               ops::binary(BinaryOp::Add, dn, not_ok));
    Tensor q = ops::binary(BinaryOp::Add, ops::binary(BinaryOp::Mul, ok, ratio), not_ok);
    d = ops::binary(BinaryOp::Mul, d, q);
  }
  Tensor& mu = slot(g, i, "mu");
  axpby_(mu, grp.option("momentum"), d, 1.0);
  axpby_(p, 1.0, mu, -grp.lr);
}

}  // namespace vd::optim
