// Tests of the VICReg, BYOL and NT-Xent losses (vididi/losses.h): values
// against plain-loop double-precision implementations of the published
// formulas written here independently of the engine, against PyTorch's values
// and gradients in tests/golden/losses.vdg, and gradients against finite
// differences (autograd::gradcheck).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/random.h"
#include "tests/golden/golden_io.h"
#include "vididi/losses.h"

using namespace vd;
using namespace vd::vididi;

namespace {

using Mat = std::vector<std::vector<double>>;

Mat to_mat(const Tensor& t) {
  std::vector<double> v = t.to_vector();
  Mat m(size_t(t.size(0)), std::vector<double>(size_t(t.size(1))));
  for (size_t i = 0; i < m.size(); ++i)
    for (size_t j = 0; j < m[i].size(); ++j) m[i][j] = v[i * m[i].size() + j];
  return m;
}

Tensor rand_emb(int64_t n, int64_t d, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  return Tensor::randn({n, d}, &g, DType::F64) * scale;
}

// VICReg, as in facebookresearch/vicreg main_vicreg.py, with loops.
std::array<double, 4> vicreg_ref(const Mat& x, const Mat& y) {
  const size_t n = x.size(), d = x[0].size();
  double inv = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) inv += (x[i][j] - y[i][j]) * (x[i][j] - y[i][j]);
  inv /= double(n * d);
  double var = 0, cov = 0;
  for (const Mat* z : {&x, &y}) {
    std::vector<double> mu(d, 0);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < d; ++j) mu[j] += (*z)[i][j] / double(n);
    for (size_t a = 0; a < d; ++a) {
      for (size_t b = 0; b < d; ++b) {
        double c = 0;
        for (size_t i = 0; i < n; ++i) c += ((*z)[i][a] - mu[a]) * ((*z)[i][b] - mu[b]);
        c /= double(n - 1);
        if (a == b) var += std::max(0.0, 1.0 - std::sqrt(c + 1e-4)) / double(d) / 2.0;
        else cov += c * c / double(d);
      }
    }
  }
  return {25 * inv + 25 * var + cov, inv, var, cov};
}

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / (std::sqrt(aa) * std::sqrt(bb));
}

double byol_ref(const Mat& pa, const Mat& tb, const Mat& pb, const Mat& ta) {
  double l = 0;
  for (size_t i = 0; i < pa.size(); ++i)
    l += (2 - 2 * cosine(pa[i], tb[i]) + 2 - 2 * cosine(pb[i], ta[i])) / double(pa.size());
  return l;
}

double ntxent_ref(const Mat& a, const Mat& b, double tau) {
  Mat z = a;
  z.insert(z.end(), b.begin(), b.end());
  const size_t m = z.size(), n = a.size();
  double l = 0;
  for (size_t i = 0; i < m; ++i) {
    double denom = 0;
    for (size_t k = 0; k < m; ++k)
      if (k != i) denom += std::exp(cosine(z[i], z[k]) / tau);
    l += -std::log(std::exp(cosine(z[i], z[(i + n) % m]) / tau) / denom) / double(m);
  }
  return l;
}

double term(const LossResult& r, const std::string& name) {
  for (auto& kv : r.terms)
    if (kv.first == name) return kv.second;
  ADD_FAILURE() << "no term " << name;
  return NAN;
}

}  // namespace

TEST(VididiLosses, VicregMatchesLoopReferenceInEveryTerm) {
  // Scale 0.3 puts some features' std below 1 (active hinge) and others above.
  for (double scale : {0.3, 1.5}) {
    Tensor a = rand_emb(6, 5, 1, scale), b = rand_emb(6, 5, 2, scale) + a * 0.5;
    LossResult r = vicreg_loss(a, b);
    auto ref = vicreg_ref(to_mat(a), to_mat(b));
    EXPECT_NEAR(r.loss.item(), ref[0], 1e-12 * std::abs(ref[0]) + 1e-12);
    EXPECT_NEAR(term(r, "inv"), ref[1], 1e-12);
    EXPECT_NEAR(term(r, "var"), ref[2], 1e-12);
    EXPECT_NEAR(term(r, "cov"), ref[3], 1e-12);
  }
  // Identical, decorrelated, unit-std branches cost nothing but the hinge's eps.
  Tensor e = Tensor::from_vector(std::vector<double>{1, 1, -1, 1, 1, -1, -1, -1}, {4, 2}) * std::sqrt(0.75 * 1.5);
  LossResult z = vicreg_loss(e, e);
  EXPECT_NEAR(z.loss.item(), 0.0, 1e-12);
}

TEST(VididiLosses, VicregGradientChecks) {
  Tensor a = rand_emb(5, 4, 3, 0.4), b = rand_emb(5, 4, 4, 0.4);
  a.requires_grad_(true);
  b.requires_grad_(true);
  auto r = autograd::gradcheck([](const std::vector<Tensor>& in) { return vicreg_loss(in[0], in[1]).loss; }, {a, b});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GT(r.checked, 30);
}

TEST(VididiLosses, ByolMatchesLoopReferenceAndStopsTargetGradients) {
  Tensor pa = rand_emb(4, 6, 5), tb = rand_emb(4, 6, 6), pb = rand_emb(4, 6, 7), ta = rand_emb(4, 6, 8);
  LossResult r = byol_loss(pa, tb, pb, ta);
  EXPECT_NEAR(r.loss.item(), byol_ref(to_mat(pa), to_mat(tb), to_mat(pb), to_mat(ta)), 1e-12);
  EXPECT_NEAR(term(r, "ab") + term(r, "ba"), r.loss.item(), 1e-12);
  // A prediction equal to its target (up to scale) costs 0.
  EXPECT_NEAR(byol_loss(tb * 3.0, tb, ta, ta).loss.item(), 0.0, 1e-12);
  pa.requires_grad_(true);
  pb.requires_grad_(true);
  tb.requires_grad_(true);
  auto g = autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return byol_loss(in[0], tb, in[1], ta).loss; }, {pa, pb});
  EXPECT_TRUE(g.ok) << g.message;
  byol_loss(pa, tb, pb, ta).loss.backward();
  EXPECT_FALSE(tb.grad().defined());  // the target receives no gradient
  EXPECT_TRUE(pa.grad().defined());
}

TEST(VididiLosses, ByolMomentumFollowsTheCosineSchedule) {
  EXPECT_DOUBLE_EQ(byol_momentum(0, 100), 0.996);
  EXPECT_NEAR(byol_momentum(50, 100), 0.998, 1e-15);
  EXPECT_DOUBLE_EQ(byol_momentum(100, 100), 1.0);
  EXPECT_LT(byol_momentum(25, 100), byol_momentum(26, 100));
}

TEST(VididiLosses, NtXentMatchesLoopReferenceAndGradientChecks) {
  Tensor a = rand_emb(5, 4, 9), b = rand_emb(5, 4, 10) + a;
  for (double tau : {0.1, 0.5}) {
    LossResult r = simclr_loss(a, b, tau);
    double ref = ntxent_ref(to_mat(a), to_mat(b), tau);
    EXPECT_NEAR(r.loss.item(), ref, 1e-12 * ref);
  }
  // Sanity: with uniform similarities, the loss is log(2N - 1).
  Tensor same = Tensor::ones({3, 2}, DType::F64);
  EXPECT_NEAR(simclr_loss(same, same).loss.item(), std::log(5.0), 1e-12);
  a.requires_grad_(true);
  b.requires_grad_(true);
  auto g = autograd::gradcheck([](const std::vector<Tensor>& in) { return simclr_loss(in[0], in[1], 0.1).loss; }, {a, b});
  EXPECT_TRUE(g.ok) << g.message;
}

TEST(VididiLosses, F32AgreesWithF64) {
  Tensor a = rand_emb(8, 16, 11), b = rand_emb(8, 16, 12);
  Tensor af = a.to(DType::F32), bf = b.to(DType::F32);
  EXPECT_NEAR(vicreg_loss(af, bf).loss.item(), vicreg_loss(a, b).loss.item(), 1e-4);
  EXPECT_NEAR(simclr_loss(af, bf).loss.item(), simclr_loss(a, b).loss.item(), 1e-4);
  EXPECT_NEAR(byol_loss(af, bf, bf, af).loss.item(), byol_loss(a, b, b, a).loss.item(), 1e-5);
}

TEST(VididiLosses, RefuseMismatchedOrTooSmallBatches) {
  EXPECT_THROW(vicreg_loss(rand_emb(4, 3, 1), rand_emb(4, 2, 1)), Error);
  EXPECT_THROW(vicreg_loss(rand_emb(1, 3, 1), rand_emb(1, 3, 1)), Error);
  EXPECT_THROW(simclr_loss(rand_emb(1, 3, 1), rand_emb(1, 3, 1)), Error);
  EXPECT_THROW(simclr_loss(rand_emb(2, 3, 1), rand_emb(2, 3, 1), 0.0), Error);
}

namespace {
Tensor golden_tensor(const std::map<std::string, golden::Entry>& f, const std::string& name) {
  const golden::Entry& e = golden::get(f, name);
  Tensor t = Tensor::from_vector(e.values, e.shape);
  t.requires_grad_(true);
  return t;
}
void expect_close(const Tensor& got, const std::map<std::string, golden::Entry>& f, const std::string& name,
                  double tol) {
  const golden::Entry& e = golden::get(f, name);
  std::vector<double> g = got.to_vector();
  ASSERT_EQ(g.size(), e.values.size()) << name;
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], e.values[i], tol * (1 + std::abs(e.values[i]))) << name << "[" << i << "]";
}
}  // namespace

TEST(VididiLosses, MatchPyTorchGoldenValuesAndGradients) {
  auto f = golden::load("tests/golden/losses.vdg");
  {
    Tensor x = golden_tensor(f, "vicreg/x"), y = golden_tensor(f, "vicreg/y");
    LossResult r = vicreg_loss(x, y);
    expect_close(r.loss, f, "vicreg/loss", 1e-12);
    EXPECT_NEAR(term(r, "inv"), golden::get(f, "vicreg/invariance").values[0], 1e-12);
    EXPECT_NEAR(term(r, "var"), golden::get(f, "vicreg/variance").values[0], 1e-12);
    EXPECT_NEAR(term(r, "cov"), golden::get(f, "vicreg/covariance").values[0], 1e-12);
    r.loss.backward();
    expect_close(x.grad(), f, "vicreg/dx", 1e-12);
    expect_close(y.grad(), f, "vicreg/dy", 1e-12);
  }
  {
    Tensor p1 = golden_tensor(f, "byol/p1"), p2 = golden_tensor(f, "byol/p2");
    Tensor z1 = golden_tensor(f, "byol/z1"), z2 = golden_tensor(f, "byol/z2");
    LossResult r = byol_loss(p1, z2, p2, z1);
    expect_close(r.loss, f, "byol/loss", 1e-12);
    EXPECT_NEAR(term(r, "ab"), golden::get(f, "byol/loss_p1_z2").values[0], 1e-12);
    EXPECT_NEAR(term(r, "ba"), golden::get(f, "byol/loss_p2_z1").values[0], 1e-12);
    r.loss.backward();
    expect_close(p1.grad(), f, "byol/dp1", 1e-12);
    expect_close(p2.grad(), f, "byol/dp2", 1e-12);
    EXPECT_FALSE(z1.grad().defined());
  }
  {
    Tensor z1 = golden_tensor(f, "simclr/z1"), z2 = golden_tensor(f, "simclr/z2");
    LossResult r = simclr_loss(z1, z2, golden::get(f, "simclr/temperature").values[0]);
    expect_close(r.loss, f, "simclr/loss", 1e-12);
    r.loss.backward();
    expect_close(z1.grad(), f, "simclr/dz1", 1e-11);
    expect_close(z2.grad(), f, "simclr/dz2", 1e-11);
  }
}
