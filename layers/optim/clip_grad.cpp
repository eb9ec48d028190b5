// Gradient clipping by the global L2 norm (see clip_grad.h), as tensor
// expressions under a NoGradGuard: the squared norms are summed on the
// gradients' device and read back once.
#include "layers/optim/clip_grad.h"

#include "autograd/functions.h"
#include "core/ops.h"

namespace vd::optim {

double clip_grad_norm(const nn::NamedTensors& params, double max_norm) {
  VD_CHECK(max_norm > 0, "clip_grad_norm: expected max_norm > 0, got " << max_norm);
  autograd::NoGradGuard no_grad;
  Tensor total_sq;  // 0-dim f64: the sum of every gradient's squared L2 norm
  std::string first;
  for (const auto& [name, p] : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    if (!total_sq.defined()) {
      total_sq = Tensor::zeros({}, DType::F64, g.device());
      first = name;
    }
    VD_CHECK(g.device() == total_sq.device(),
             "clip_grad_norm: expected every gradient on one device, got '"
                 << first << "' on " << total_sq.device() << " and '" << name << "' " << describe(g));
    total_sq = total_sq + to_dtype(sum(square(g)), DType::F64);
  }
  if (!total_sq.defined()) return 0.0;
  const double norm = sqrt(total_sq).item();
  if (!(norm > max_norm)) return norm;  // also when norm is NaN
  const double scale = max_norm / (norm + 1e-6);
  for (const auto& [name, p] : params) {
    Tensor g = p.grad();
    if (g.defined()) ops::copy_(g, g * scale);
  }
  return norm;
}

}  // namespace vd::optim
