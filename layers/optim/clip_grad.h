// layers/optim/clip_grad.h: gradient clipping by the global L2 norm, as
// torch.nn.utils.clip_grad_norm_ (norm type 2, error_if_nonfinite false).
// Not an optimizer and not part of Optimizer::step(): call it between
// backward() and step().
#pragma once
#include "layers/module.h"

namespace vd::optim {

// norm = sqrt(sum over the parameters that have a gradient of sum(g^2)),
// the per-tensor sums of squares added in f64. When norm > max_norm every such gradient is scaled in place
// by max_norm / (norm + 1e-6); otherwise none is touched. Parameters without
// a gradient are skipped; with none at all the norm is 0. Returns the norm
// before clipping (one host read). A non-finite norm clips nothing and is
// returned as it is. All gradients must be on one device; max_norm > 0.
double clip_grad_norm(const nn::NamedTensors& params, double max_norm);

}  // namespace vd::optim
