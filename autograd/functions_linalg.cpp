// Differentiable matrix products: matmul (2-D and batched) and linear. Each
// backward keeps an operand only when the other one can want a gradient.
#include "autograd/functions.h"
#include "core/ops.h"

namespace vd {

using Grads = std::vector<Tensor>;

// t without history when `keep`, else nothing: what a backward captures.
static Tensor saved_if(bool keep, const Tensor& t) { return keep ? t.detach() : Tensor(); }
static bool wants_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor out = ops::matmul(a, b);
  Tensor sa = saved_if(wants_grad(b), a), sb = saved_if(wants_grad(a), b);
  autograd::record("matmul", {a, b}, out, [sa, sb](const Tensor& g, const std::vector<bool>& needs) {
    Tensor gc = ops::contiguous(g);
    return Grads{needs[0] ? ops::matmul(gc, sb, false, true) : Tensor(),   // g @ b^T
                 needs[1] ? ops::matmul(sa, gc, true, false) : Tensor()};  // a^T @ g
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  VD_CHECK(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1),
           "linear: expected x [N, in] and weight [out, in], got " << describe(x) << " and "
                                                                   << describe(w));
  Tensor out = ops::matmul(x, w, false, true);  // x @ w^T
  Tensor sx = saved_if(wants_grad(w), x), sw = saved_if(wants_grad(x), w);
  autograd::record("linear", {x, w}, out, [sx, sw](const Tensor& g, const std::vector<bool>& needs) {
    Tensor gc = ops::contiguous(g);
    return Grads{needs[0] ? ops::matmul(gc, sw) : Tensor(),                  // g @ w
                 needs[1] ? ops::matmul(gc, sx, true, false) : Tensor()};  // g^T @ x
  });
  if (!b.defined()) return out;
  VD_CHECK(b.dim() == 1 && b.size(0) == w.size(0),
           "linear: bias " << describe(b) << " does not match weight " << describe(w));
  return add(out, b);
}

}  // namespace vd
