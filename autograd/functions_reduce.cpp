// Differentiable reductions: sum, mean, var, amax. Each backward expands the
// incoming gradient back over the reduced dims.
#include "autograd/functions.h"
#include "core/ops.h"

namespace vd {

using Grads = std::vector<Tensor>;

// Shape of `a` with size 1 on the reduced dims (empty dims = all).
static Shape kept_shape(const Tensor& a, const std::vector<int64_t>& dims) {
  Shape s = a.shape();
  if (dims.empty()) return Shape(s.size(), 1);
  for (int64_t d : dims) s[size_t(wrap_dim(d, a.dim(), "reduce"))] = 1;
  return s;
}

// g (reduced, keepdim or not) broadcast back to `shape`.
static Tensor expand_back(const Tensor& g, const Shape& kept, const Shape& shape) {
  return ops::expand(ops::reshape(g, kept), shape);
}

Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor out = ops::reduce(ReduceOp::Sum, a, dims, keepdim);
  Shape kept = kept_shape(a, dims), shape = a.shape();
  autograd::record("sum", {a}, out, [kept, shape](const Tensor& g, const std::vector<bool>&) {
    return Grads{expand_back(g, kept, shape)};
  });
  return out;
}

static int64_t reduced_count(const Tensor& a, const std::vector<int64_t>& dims) {
  return a.numel() / std::max<int64_t>(1, shape_numel(kept_shape(a, dims)));
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t n = reduced_count(a, dims);
  VD_CHECK(n > 0, "mean: nothing to average in " << describe(a));
  return mul(sum(a, dims, keepdim), 1.0 / double(n));
}

Tensor var(const Tensor& a, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  int64_t n = reduced_count(a, dims);
  VD_CHECK(n - correction > 0, "var: " << n << " elements per group with correction "
                                       << correction << " (" << describe(a)
                                       << "); hint: a variance needs more than "
                                       << correction << " element(s)");
  Tensor centred = sub(a, mean(a, dims, true));
  return mul(sum(square(centred), dims, keepdim), 1.0 / double(n - correction));
}

Tensor amax(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor out = ops::reduce(ReduceOp::Max, a, dims, keepdim);
  Shape kept = kept_shape(a, dims), shape = a.shape();
  Tensor sa = a.detach(), sout = out.detach();
  autograd::record("amax", {a}, out, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor mask = ops::binary(BinaryOp::Eq, sa, expand_back(sout, kept, shape));
    Tensor count = ops::reduce(ReduceOp::Sum, mask, dims, true);
    Tensor share = ops::binary(BinaryOp::Div, ops::reshape(g, kept), count);
    return Grads{ops::binary(BinaryOp::Mul, mask, share)};
  });
  return out;
}

}  // namespace vd
