// tests/test_cpu_gemm.cpp: the project's own matrix product gemm_blocked (the
// CPU path of builds without OpenBLAS) and the pointer-level gemm_rows, against
// plain f64 loops: f32 and f64, sizes that leave partial register tiles and
// span several blocks of the shared dimension and of the columns, transposed
// (strided) operands, alpha and beta. Not here: Tensor-level matmul and its
// gradients (test_tensor.cpp, test_gradcheck_core.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/cpu/fast/gemm_blocked.h"
#include "core/cpu/gemm.h"
#include "core/random.h"

namespace vd {
namespace {

struct Case {
  int64_t m, n, k;
  bool ta, tb;  // A stored as [k, m] / B stored as [n, k]
  double alpha, beta;
};

// Values in [-1, 1) from a fixed stream.
template <class T>
std::vector<T> values(size_t count, uint64_t seed) {
  Generator gen(seed);
  std::vector<T> v(count);
  for (T& x : v) x = T(2 * gen.uniform() - 1);
  return v;
}

template <class T>
void check(const Case& cs, double tol) {
  const int64_t m = cs.m, n = cs.n, k = cs.k;
  const std::vector<T> a = values<T>(size_t(m * k), 1), b = values<T>(size_t(k * n), 2);
  const std::vector<T> c0 = values<T>(size_t(m * n), 3);
  // A(i, p) and B(p, j) as stored.
  auto A = [&](int64_t i, int64_t p) { return double(cs.ta ? a[size_t(p * m + i)] : a[size_t(i * k + p)]); };
  auto B = [&](int64_t p, int64_t j) { return double(cs.tb ? b[size_t(j * k + p)] : b[size_t(p * n + j)]); };
  std::vector<double> want(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += A(i, p) * B(p, j);
      want[size_t(i * n + j)] = cs.alpha * s + cs.beta * double(c0[size_t(i * n + j)]);
    }
  const int64_t sa_i = cs.ta ? 1 : k, sa_p = cs.ta ? m : 1, sb_p = cs.tb ? 1 : n, sb_j = cs.tb ? k : 1;
  std::vector<T> c = c0;
  cpu::gemm_blocked<T>(m, n, k, T(cs.alpha), a.data(), sa_i, sa_p, b.data(), sb_p, sb_j, T(cs.beta), c.data());
  std::vector<T> r = c0;
  cpu::gemm_rows<T>(cs.ta, cs.tb, m, n, k, T(cs.alpha), a.data(), cs.ta ? m : k, b.data(), cs.tb ? k : n,
                    T(cs.beta), r.data(), n);
  double worst = 0, worst_rows = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(double(c[i]) - want[i]));
    worst_rows = std::max(worst_rows, std::abs(double(r[i]) - want[i]));
  }
  const double bound = tol * std::sqrt(double(k + 1));
  EXPECT_LT(worst, bound) << "gemm_blocked m=" << m << " n=" << n << " k=" << k << " ta=" << cs.ta
                          << " tb=" << cs.tb << " alpha=" << cs.alpha << " beta=" << cs.beta;
  EXPECT_LT(worst_rows, bound) << "gemm_rows m=" << m << " n=" << n << " k=" << k;
}

const Case kCases[] = {
    {1, 1, 1, false, false, 1, 0},        {5, 7, 3, false, false, 1, 0},      // one partial tile
    {6, 16, 8, false, false, 2.5, 0},     {13, 33, 9, true, false, 1, 1},     // full tiles; A transposed
    {77, 19, 300, false, true, -1, 0.5},  {80, 40, 520, true, true, 1, -2},   // k over two and three KC blocks
    {150, 2100, 20, false, false, 1, 0},                                      // n over one NC block, m over MC
    {3, 5, 0, false, false, 1, 3},                                            // k = 0: c = beta c
};

TEST(CpuGemm, BlockedMatchesPlainLoopsInF32) {
  for (const Case& c : kCases) check<float>(c, 2e-6);
}

TEST(CpuGemm, BlockedMatchesPlainLoopsInF64) {
  for (const Case& c : kCases) check<double>(c, 1e-14);
}

TEST(CpuGemm, BlockedRepeatsBitForBit) {
  const int64_t m = 50, n = 70, k = 600;
  const std::vector<float> a = values<float>(size_t(m * k), 4), b = values<float>(size_t(k * n), 5);
  std::vector<float> c1(size_t(m * n)), c2(size_t(m * n));
  cpu::gemm_blocked<float>(m, n, k, 1.f, a.data(), k, 1, b.data(), n, 1, 0.f, c1.data());
  cpu::gemm_blocked<float>(m, n, k, 1.f, a.data(), k, 1, b.data(), n, 1, 0.f, c2.data());
  EXPECT_EQ(c1, c2);
}

}  // namespace
}  // namespace vd
