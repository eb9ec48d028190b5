// LARS (see lars.h). The update reads as the formula: tensor expressions,
// run inside Optimizer::step()'s NoGradGuard (no graph is recorded): the
// reference; then the fused step's table row and kernel calls.
#include "layers/optim/lars.h"

#include "autograd/functions.h"
#include "core/ops.h"

namespace vd::optim {

namespace {

// 1 where t > 0, else 0, elementwise (no host read of t).
Tensor positive(const Tensor& t) { return ops::unary(UnaryOp::GtScalar, t, 0.0); }

}  // namespace

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
  fused_rule_ = true;
}

void LARS::fused_row(const ParamGroup& grp, size_t g, size_t i, double* row) {
  row[fused_col::Momentum] = grp.option("momentum");
  row[fused_col::Eta] = grp.option("eta");
}

// Segmented norms of p and d first (one pass), then the update (another).
void LARS::fused_update(const Tensor& table) {
  FlatParams& f = *flat();
  const Tensor sums = ops::fused_lars_sumsq(table, f.params(), f.grads());
  ops::fused_lars_(table, sums, f.params(), f.grads(), f.slot("mu"), f.work());
}

void LARS::update(const ParamGroup& grp, size_t g, size_t i, Tensor& p, const Tensor& grad) {
  Tensor d = grad;
  if (!grp.exclude) {
    if (grp.weight_decay != 0) d = grad + p * grp.weight_decay;
    // Trust ratio q = eta * ||p|| / ||d|| when both norms are > 0, else 1,
    // as 0-dim tensors on p's device (no host sync). With ok = 1 when both
    // are > 0 (else 0), the denominator ||d|| + (1 - ok) is never 0:
    //   q = ok * (eta * ||p||) / (||d|| + 1 - ok) + (1 - ok)
    const Tensor p_norm = norm2(p), d_norm = norm2(d);
    const Tensor ok = positive(p_norm) * positive(d_norm), not_ok = 1.0 - ok;
    const Tensor q = ok * ((p_norm * grp.option("eta")) / (d_norm + not_ok)) + not_ok;
    d = d * q;
  }
  Tensor& mu = slot(g, i, "mu");
  axpby_(mu, grp.option("momentum"), d, 1.0);  // mu = momentum * mu + d
  axpby_(p, 1.0, mu, -grp.lr);                 // p -= lr * mu
}

}  // namespace vd::optim
