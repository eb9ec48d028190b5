// dist/functions.cpp: the differentiable collectives of dist/functions.h,
// each forward beside its backward. The collectives work in place on
// contiguous tensors, so both directions run on fresh copies (never on the
// caller's tensor, nor on a gradient that another edge may share).
#include "dist/functions.h"

#include "autograd/node.h"
#include "core/errors.h"
#include "core/ops.h"

namespace vd::dist {

using Grads = std::vector<Tensor>;

// A contiguous copy that the collective may overwrite.
static Tensor fresh(const Tensor& t) { return ops::clone(t.detach()); }

// x: [n, ...] -> [world * n, ...]
Tensor all_gather(Communicator& comm, const Tensor& x) {
  VD_CHECK(x.dim() >= 1, "dist::all_gather: expected x [n, ...], got " << describe(x));
  Tensor out = comm.all_gather(fresh(x));  // world 1: the fresh copy itself
  VD_CHECK(out.dim() == x.dim() && out.size(0) == x.size(0) * comm.world_size(),
           "dist::all_gather: " << comm.backend() << " returned " << describe(out) << " for x "
                                << describe(x) << " on " << comm.world_size() << " ranks");
  const int64_t n = x.size(0), rank = comm.rank();
  Communicator* c = &comm;
  autograd::record("dist_all_gather", {x}, out, [c, n, rank](const Tensor& g, const std::vector<bool>&) {
    Tensor total = fresh(g);  // [world * n, ...]
    c->all_reduce(total, Reduce::Sum);
    return Grads{ops::contiguous(ops::narrow(total, 0, rank * n, n))};  // [n, ...]
  });
  return out;
}

// x: [...] -> [...], summed over ranks
Tensor all_reduce_sum(Communicator& comm, const Tensor& x) {
  Tensor out = fresh(x);
  comm.all_reduce(out, Reduce::Sum);
  Communicator* c = &comm;
  autograd::record("dist_all_reduce_sum", {x}, out, [c](const Tensor& g, const std::vector<bool>&) {
    Tensor total = fresh(g);
    c->all_reduce(total, Reduce::Sum);
    return Grads{total};
  });
  return out;
}

}  // namespace vd::dist
