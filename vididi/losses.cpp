// vididi/losses.cpp: VICReg, BYOL and NT-Xent losses (formulas in losses.h),
// composed from autograd/functions.h so that forward and backward come from
// the same tested functions on every device.
#include "vididi/losses.h"

#include <cmath>

#include "autograd/functions.h"
#include "core/ops.h"

namespace vd::vididi {

namespace {
thread_local bool g_defer_terms = false;  // DeferLossTerms

// terms from parts, unless deferred (the graph capture reads them later).
void fill_terms(LossResult& r) {
  if (!g_defer_terms) r.terms = read_terms(r.parts);
}
}  // namespace

std::vector<std::pair<std::string, double>> read_terms(const std::vector<LossPart>& parts) {
  std::vector<std::pair<std::string, double>> out;
  for (const LossPart& p : parts) out.push_back({p.name, p.value.item() * p.scale});
  return out;
}

DeferLossTerms::DeferLossTerms() : before_(g_defer_terms) { g_defer_terms = true; }
DeferLossTerms::~DeferLossTerms() { g_defer_terms = before_; }

namespace {

void check_pair(const Tensor& a, const Tensor& b, const char* who, int64_t min_n) {
  VD_CHECK(a.dim() == 2 && a.shape() == b.shape(),
           who << ": expected two embeddings [N, D] of one shape, got " << describe(a) << " and "
               << describe(b) << "; hint: both views go through the same head");
  VD_CHECK(a.size(0) >= min_n, who << ": expected a batch of at least " << min_n << ", got "
                                   << describe(a) << "; hint: batch statistics need N >= 2");
}

// One branch's variance and covariance terms. z: [N, D].
std::pair<Tensor, Tensor> var_cov_terms(const Tensor& z, double eps) {
  const int64_t n = z.size(0), d = z.size(1);
  Tensor centred = z - mean(z, {0}, true);
  Tensor sq = sum(square(centred), {0}) * (1.0 / double(n - 1));  // [D] unbiased variances
  Tensor std_dev = sqrt(sq + eps);
  Tensor var_term = mean(relu(rsub(1.0, std_dev)));
  Tensor cov = matmul(contiguous(transpose(centred, 0, 1)), centred) * (1.0 / double(n - 1));  // [D, D]
  // Off-diagonal squares = all squares - diagonal squares (the diagonal is sq).
  Tensor cov_term = (sum(square(cov)) - sum(square(sq))) * (1.0 / double(d));
  return {var_term, cov_term};
}

Tensor eye_like(int64_t n, const Tensor& like) {
  std::vector<double> v(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) v[size_t(i * n + i)] = 1.0;
  return ops::to_device(ops::to_dtype(Tensor::from_vector(v, {n, n}), like.dtype()), like.device());
}

}  // namespace

LossResult vicreg_loss(const Tensor& za, const Tensor& zb, const VICRegOptions& o) {
  check_pair(za, zb, "vicreg_loss", 2);
  Tensor inv = mean(square(za - zb));
  auto [va, ca] = var_cov_terms(za, o.eps);
  auto [vb, cb] = var_cov_terms(zb, o.eps);
  Tensor var = (va + vb) * 0.5;
  Tensor cov = ca + cb;
  LossResult r;
  r.loss = inv * o.inv_weight + var * o.var_weight + cov * o.cov_weight;
  r.parts = {{"inv", inv.detach()}, {"var", var.detach()}, {"cov", cov.detach()}};
  fill_terms(r);
  return r;
}

Tensor normalize_rows(const Tensor& x, double eps) {
  Tensor norm = sqrt(sum(square(x), {-1}, true));
  Tensor floor = Tensor::full({1}, eps, x.dtype(), x.device());
  return x / maximum(norm, floor);
}

LossResult byol_loss(const Tensor& pa, const Tensor& tb, const Tensor& pb, const Tensor& ta) {
  check_pair(pa, tb, "byol_loss", 1);
  check_pair(pb, ta, "byol_loss", 1);
  auto direction = [](const Tensor& p, const Tensor& t) {
    Tensor cos = sum(normalize_rows(p) * normalize_rows(t.detach()), {-1});  // [N]
    return mean(rsub(2.0, cos * 2.0));
  };
  Tensor ab = direction(pa, tb), ba = direction(pb, ta);
  LossResult r;
  r.loss = ab + ba;
  r.parts = {{"ab", ab.detach()}, {"ba", ba.detach()}};
  fill_terms(r);
  return r;
}

double byol_momentum(int64_t step, int64_t total_steps, double base) {
  if (total_steps <= 0) return base;
  double progress = std::min(1.0, double(step) / double(total_steps));
  return 1.0 - (1.0 - base) * (std::cos(M_PI * progress) + 1.0) / 2.0;
}

LossResult simclr_loss(const Tensor& za, const Tensor& zb, double temperature) {
  check_pair(za, zb, "simclr_loss", 2);
  VD_CHECK(temperature > 0, "simclr_loss: expected a temperature > 0, got " << temperature
                                                                            << "; hint: 0.1");
  const int64_t n = za.size(0), m = 2 * n;
  Tensor z = normalize_rows(concat({za, zb}, 0));  // [2N, D]
  Tensor s = linear(z, z, Tensor()) * (1.0 / temperature);  // [2N, 2N] cosines / tau
  // The anchor itself is excluded by a large negative logit (exp underflows to 0).
  Tensor eye = eye_like(m, s);
  Tensor logits = s - eye * 1e9;
  // Row i's positive is column (i + N) mod 2N.
  std::vector<double> pv(size_t(m * m), 0.0);
  for (int64_t i = 0; i < m; ++i) pv[size_t(i * m + (i + n) % m)] = 1.0;
  Tensor pos_mask = ops::to_device(ops::to_dtype(Tensor::from_vector(pv, {m, m}), s.dtype()), s.device());
  Tensor pos = sum(logits * pos_mask, {-1});  // [2N]
  Tensor row_max = amax(logits, {-1}, true).detach();
  Tensor lse = log(sum(exp(logits - row_max), {-1})) + reshape(row_max, {m});
  Tensor loss = mean(lse - pos);
  LossResult r;
  r.loss = loss;
  r.parts = {{"nt_xent", loss.detach()}, {"pos_cos", pos.detach().mean(), temperature}};
  fill_terms(r);
  return r;
}

}  // namespace vd::vididi
