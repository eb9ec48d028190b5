// Raw ops of the fused optimizer step (helper fusedopt): checks and the one
// device switch for the kernels of core/kernel_list.inc's block "fused
// optimizer". The flat buffers and the table are made by layers/optim/flat.cpp
// and the rules (sgd.cpp, lars.cpp, adamw.cpp); nothing is allocated here but
// the LARS norms' output.
#include "core/backend.h"
#include "core/ops.h"

namespace vd::ops {

namespace {

void check_flat(const Tensor& t, const Tensor& p, const char* what, const char* op) {
  VD_CHECK(t.defined() && t.dtype() == DType::F32 && t.dim() == 1 && t.is_contiguous() &&
               t.numel() == p.numel() && t.device() == p.device(),
           op << ": expected " << what << " as a contiguous f32 [" << p.numel() << "] on "
              << p.device() << ", got " << (t.defined() ? describe(t) : std::string("none"))
              << "; hint: the flat buffers come from Optimizer::enable_fused()");
}

void check_common(const Tensor& table, const Tensor& p, const Tensor& g, const Tensor& work,
                  const char* op) {
  check_flat(p, p, "parameters", op);
  check_flat(g, p, "gradients", op);
  VD_CHECK(table.dtype() == DType::F64 && table.dim() == 2 && table.is_contiguous() &&
               table.shape()[1] == fused_col::Count && table.device() == p.device(),
           op << ": expected the segment table as a contiguous f64 [S, " << fused_col::Count << "] on "
              << p.device() << ", got " << describe(table));
  VD_CHECK(!work.defined() || (work.dtype() == DType::BF16 && work.dim() == 1 && work.is_contiguous() &&
                               work.numel() == p.numel() && work.device() == p.device()),
           op << ": expected no working copy or a contiguous bf16 [" << p.numel() << "] on "
              << p.device() << ", got " << describe(work));
}

// The kernels write in place: the parameters, the state and the working copy.
void mark_all_written(std::initializer_list<Tensor*> ts) {
  for (Tensor* t : ts)
    if (t->defined()) mark_written(t->impl());
}

}  // namespace

void fused_sgd_(const Tensor& table, Tensor& p, const Tensor& g, Tensor& buf, Tensor& work) {
  check_common(table, p, g, work, "fused_sgd");
  check_flat(buf, p, "the momentum buffer", "fused_sgd");
  VD_DISPATCH(p.device(), fused_sgd, table, p, g, buf, work);
  mark_all_written({&p, &buf, &work});
}

Tensor fused_lars_sumsq(const Tensor& table, const Tensor& p, const Tensor& g) {
  Tensor none;
  check_common(table, p, g, none, "fused_lars_sumsq");
  Tensor sums = Tensor::empty({table.shape()[0], 2}, DType::F64, p.device());
  VD_DISPATCH(p.device(), fused_lars_sumsq, table, p, g, sums);
  return sums;
}

void fused_lars_(const Tensor& table, const Tensor& sums, Tensor& p, const Tensor& g, Tensor& mu,
                 Tensor& work) {
  check_common(table, p, g, work, "fused_lars");
  check_flat(mu, p, "the momentum buffer", "fused_lars");
  VD_CHECK(sums.dtype() == DType::F64 && sums.shape() == Shape({table.shape()[0], 2}) &&
               sums.is_contiguous() && sums.device() == p.device(),
           "fused_lars: expected the norms of fused_lars_sumsq, got " << describe(sums));
  VD_DISPATCH(p.device(), fused_lars, table, sums, p, g, mu, work);
  mark_all_written({&p, &mu, &work});
}

void fused_adamw_(const Tensor& table, Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& work) {
  check_common(table, p, g, work, "fused_adamw");
  check_flat(m, p, "exp_avg", "fused_adamw");
  check_flat(v, p, "exp_avg_sq", "fused_adamw");
  VD_DISPATCH(p.device(), fused_adamw, table, p, g, m, v, work);
  mark_all_written({&p, &m, &v, &work});
}

}  // namespace vd::ops
