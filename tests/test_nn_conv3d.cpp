// conv3d kernels (core/cpu/conv3d.cpp and its fast paths) against the CPU
// reference (core/cpu/conv3d_reference.h: plain direct loops, run here in
// f64): forward, backward-data and backward-weight, f64 and f32, over
// strides, padding, dilation, non-cubic and 1x1x1 kernels and an input large
// enough to span several column blocks; plus the bias path, determinism and
// the error messages of bad parameters. The direct kernels of narrow f32
// layers (core/cpu/fast/conv3d_direct.h) are checked against the same
// reference, called directly so that a fallback to vol2col + gemm cannot pass
// in their place. The reference itself is checked on hand-computed sums, in
// both dtypes, and on the errors of mismatched shapes.
#include <gtest/gtest.h>

#include "core/cpu/conv3d_reference.h"
#include "core/cpu/fast/conv3d_direct.h"

#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

namespace {

struct Ref {
  std::vector<double> y, dx, dw;
};

// The three passes of the CPU reference (core/cpu/conv3d_reference.h, plain
// direct loops): y = conv(x, w); dx, dw for an upstream gradient dy.
Ref reference(const Tensor& x, const Tensor& w, const Tensor& dy, const Window3d& win) {
  Tensor y = Tensor::empty(dy.shape(), x.dtype()), dx = Tensor::empty(x.shape(), x.dtype()),
         dw = Tensor::empty(w.shape(), x.dtype());
  cpu::conv3d_reference_forward(x, w, win, y);
  cpu::conv3d_reference_backward_data(dy, w, win, dx);
  cpu::conv3d_reference_backward_weight(x, dy, win, dw);
  return {y.to_vector(), dx.to_vector(), dw.to_vector()};
}

double max_diff(const Tensor& t, const std::vector<double>& ref) {
  auto v = t.to_vector();
  EXPECT_EQ(v.size(), ref.size());
  double m = 0;
  for (size_t i = 0; i < v.size() && i < ref.size(); ++i) m = std::max(m, std::abs(v[i] - ref[i]));
  return m;
}

struct Case {
  const char* name;
  Shape x, w;
  Window3d win;
};

std::vector<Case> cases() {
  return {
      {"k333_p1", {2, 3, 4, 5, 3}, {4, 3, 3, 3, 3}, window({3, 3, 3}, {1, 1, 1}, {1, 1, 1})},
      {"k333_s2_p1", {1, 5, 5, 6, 2}, {3, 3, 3, 3, 2}, window({3, 3, 3}, {2, 2, 2}, {1, 1, 1})},
      {"k177_s122_p033", {1, 2, 9, 8, 3}, {2, 1, 7, 7, 3}, window({1, 7, 7}, {1, 2, 2}, {0, 3, 3})},
      {"k311_s211_p100", {2, 6, 3, 3, 4}, {3, 3, 1, 1, 4}, window({3, 1, 1}, {2, 1, 1}, {1, 0, 0})},
      {"k111", {2, 3, 4, 4, 5}, {3, 1, 1, 1, 5}, window({1, 1, 1})},
      {"k111_s2", {1, 5, 4, 4, 4}, {3, 1, 1, 1, 4}, window({1, 1, 1}, {2, 2, 2})},
      {"k233_d122_p022", {1, 4, 6, 6, 2}, {2, 2, 3, 3, 2}, window({2, 3, 3}, {1, 1, 1}, {0, 2, 2}, {1, 2, 2})},
      {"k323_s123_p102", {1, 5, 6, 7, 2}, {3, 3, 2, 3, 2}, window({3, 2, 3}, {1, 2, 3}, {1, 0, 2})},
      // Enough rows and channels for the two-thread copies (rows >= 64, Ci >= 16).
      {"k333_p1_c32", {2, 3, 5, 6, 32}, {4, 3, 3, 3, 32}, window({3, 3, 3}, {1, 1, 1}, {1, 1, 1})},
  };
}

Tensor randn_t(const Shape& s, uint64_t seed, DType dt) {
  Generator gen(seed);
  return ops::to_dtype(Tensor::randn(s, &gen, DType::F64), dt);
}

void check_against_reference(const Case& c, DType dt, double tol) {
  Tensor x = randn_t(c.x, 1, dt), w = randn_t(c.w, 2, dt);
  Tensor y = ops::conv3d(x, w, c.win);
  Tensor dy = randn_t(y.shape(), 3, dt);
  Ref r = reference(ops::to_dtype(x, DType::F64), ops::to_dtype(w, DType::F64),
                    ops::to_dtype(dy, DType::F64), c.win);
  EXPECT_LT(max_diff(y, r.y), tol) << c.name << " forward";
  EXPECT_LT(max_diff(ops::conv3d_backward_data(dy, w, x.shape(), c.win), r.dx), tol)
      << c.name << " backward-data";
  EXPECT_LT(max_diff(ops::conv3d_backward_weight(x, dy, w.shape(), c.win), r.dw), tol)
      << c.name << " backward-weight";
}

}  // namespace

TEST(NnConv3d, MatchesDirectLoopsInF64) {
  for (const Case& c : cases()) check_against_reference(c, DType::F64, 1e-12);
}

TEST(NnConv3d, MatchesDirectLoopsInF32) {
  for (const Case& c : cases()) check_against_reference(c, DType::F32, 1e-4);
}

TEST(NnConv3d, SeveralColumnBlocksMatchDirectLoops) {
  // P = 4*50*50 = 10000 output rows with K = 27*8: more than one column block.
  check_against_reference({"big", {1, 4, 50, 50, 8}, {4, 3, 3, 3, 8}, window({3, 3, 3}, {1, 1, 1}, {1, 1, 1})},
                          DType::F32, 2e-4);
}

TEST(NnConv3d, HandComputedSumKernel) {
  // A 2x2x2 all-ones kernel over x = 0..7 in one 2x2x2 block gives their sum, 28.
  Tensor x = ops::reshape(Tensor::arange(8, DType::F64), {1, 2, 2, 2, 1});
  Tensor w = Tensor::ones({1, 2, 2, 2, 1}, DType::F64);
  EXPECT_EQ(ops::conv3d(x, w, window({2, 2, 2})).to_vector(), std::vector<double>{28});
  // With padding 1 on H only: outputs are the sums over h in {-1,0} and {0,1}.
  Tensor y = ops::conv3d(x, w, window({2, 2, 2}, {1, 1, 1}, {0, 1, 0}));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 1, 1}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{0 + 1 + 4 + 5, 28, 2 + 3 + 6 + 7}));
}

TEST(NnConv3dReference, HandComputedSumsInBothDtypes) {
  // The all-ones 2x2x2 kernel with padding 1 on H, as above: the sums over
  // h in {-1, 0}, {0, 1} and {1, 2} of x = 0..7 in one 2x2x2 block.
  const Window3d win = window({2, 2, 2}, {1, 1, 1}, {0, 1, 0});
  for (DType dt : {DType::F64, DType::F32}) {
    Tensor x = ops::to_dtype(ops::reshape(Tensor::arange(8, DType::F64), {1, 2, 2, 2, 1}), dt);
    Tensor w = Tensor::ones({1, 2, 2, 2, 1}, dt), y = Tensor::empty({1, 1, 3, 1, 1}, dt);
    cpu::conv3d_reference_forward(x, w, win, y);
    EXPECT_EQ(y.to_vector(), (std::vector<double>{0 + 1 + 4 + 5, 28, 2 + 3 + 6 + 7})) << dt;
    // With dy = 1: dx counts the windows each x element falls in (every h in
    // two of the three), and dw sums the x under each tap over the windows:
    // each tap (kt, kh, kw) sees h = 0 once and h = 1 once, the third window
    // putting it in the padding, so dw = x[kt, 0, kw] + x[kt, 1, kw].
    Tensor dy = Tensor::ones({1, 1, 3, 1, 1}, dt);
    Tensor dx = Tensor::empty(x.shape(), dt), dw = Tensor::empty(w.shape(), dt);
    cpu::conv3d_reference_backward_data(dy, w, win, dx);
    EXPECT_EQ(dx.to_vector(), std::vector<double>(8, 2.0)) << dt;
    cpu::conv3d_reference_backward_weight(x, dy, win, dw);
    // dw [1, kt, kh, kw, 1]: x[kt, 0, kw] + x[kt, 1, kw] = (4 kt + kw) + (4 kt + 2 + kw)
    EXPECT_EQ(dw.to_vector(), (std::vector<double>{2, 4, 2, 4, 10, 12, 10, 12})) << dt;
  }
  std::string m = error_of([&] {
    Tensor y = Tensor::empty({1, 1, 2, 1, 1});
    cpu::conv3d_reference_forward(Tensor::zeros({1, 2, 2, 2, 1}), Tensor::ones({1, 2, 2, 2, 1}), win, y);
  });
  EXPECT_NE(m.find("[1, 1, 2, 1, 1]"), std::string::npos) << m;
  EXPECT_NE(m.find("To, Ho, Wo"), std::string::npos) << m;
}

TEST(NnConv3d, BiasIsAddedPerOutputChannel) {
  Tensor x = randn_t({1, 2, 3, 3, 2}, 4, DType::F64), w = randn_t({3, 1, 1, 1, 2}, 5, DType::F64);
  Tensor b = Tensor::from_vector(std::vector<double>{1, -2, 3}, {3});
  Tensor y0 = conv3d(x, w, Tensor(), window({1, 1, 1})), y1 = conv3d(x, w, b, window({1, 1, 1}));
  auto v0 = y0.to_vector(), v1 = y1.to_vector();
  for (size_t i = 0; i < v0.size(); ++i) EXPECT_NEAR(v1[i] - v0[i], b.to_vector()[i % 3], 1e-12);
}

TEST(NnConv3d, RepeatsBitForBit) {
  Tensor x = randn_t({2, 4, 9, 9, 5}, 6, DType::F32), w = randn_t({6, 3, 3, 3, 5}, 7, DType::F32);
  const Window3d win = window({3, 3, 3}, {1, 2, 2}, {1, 1, 1});
  Tensor y = ops::conv3d(x, w, win), dy = randn_t(y.shape(), 8, DType::F32);
  for (int rep = 0; rep < 2; ++rep) {
    EXPECT_EQ(ops::conv3d(x, w, win).to_vector(), y.to_vector());
    EXPECT_EQ(ops::conv3d_backward_data(dy, w, x.shape(), win).to_vector(),
              ops::conv3d_backward_data(dy, w, x.shape(), win).to_vector());
    EXPECT_EQ(ops::conv3d_backward_weight(x, dy, w.shape(), win).to_vector(),
              ops::conv3d_backward_weight(x, dy, w.shape(), win).to_vector());
  }
}

// Narrow layers that the direct kernels take: output-position tiles of 8 (or
// 6), 2 and 1 along w, weight tiles of 8 (or 6), 4, 2 and 1 along a kernel
// row, one and two AVX vectors of channels, odd and single-sample batches.
TEST(NnConv3d, DirectKernelsMatchDirectLoops) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    GTEST_SKIP() << "the direct kernels need AVX2 and FMA";
  struct Direct {
    Case c;
    bool forward, backward_data, backward_weight;  // which passes take the direct path
  };
  const Direct direct[] = {
      // the stem's geometry: Co 8, Wo 11 = 8 + 2 + 1, kernel rows of 21 = 8 + 8 + 4 + 1
      {{"stem_co8", {3, 3, 7, 22, 3}, {8, 3, 7, 7, 3}, window({3, 7, 7}, {1, 2, 2}, {1, 3, 3})}, true, false, true},
      // Co 16 (two vectors) at stride 2: Wo 9 = 6 + 2 + 1, kernel rows of 9 = 6 + 2 + 1
      {{"s2_co16", {2, 4, 5, 17, 3}, {16, 3, 3, 3, 3}, window({3, 3, 3}, {2, 2, 2}, {1, 1, 1})}, true, false, true},
      // layer1's geometry: all three passes, W 11 = 8 + 2 + 1
      {{"layer1_c8", {2, 3, 4, 11, 8}, {8, 3, 3, 3, 8}, window({3, 3, 3}, {1, 1, 1}, {1, 1, 1})}, true, true, true},
      // backward-data only (Co 4): Ci 16, uneven padding (q = k - 1 - p = 1, 1, 2)
      {{"bd_ci16", {1, 3, 5, 9, 16}, {4, 2, 3, 3, 16}, window({2, 3, 3}, {1, 1, 1}, {0, 1, 0})}, false, true, false},
  };
  for (const Direct& d : direct) {
    const Case& c = d.c;
    Tensor x = randn_t(c.x, 11, DType::F32), w = randn_t(c.w, 12, DType::F32);
    Tensor y = ops::conv3d(x, w, c.win), dy = randn_t(y.shape(), 13, DType::F32);
    Ref r = reference(ops::to_dtype(x, DType::F64), ops::to_dtype(w, DType::F64), ops::to_dtype(dy, DType::F64),
                      c.win);
    Tensor out = Tensor::zeros(y.shape()), dx = Tensor::zeros(x.shape()), dw = Tensor::zeros(w.shape());
    ASSERT_EQ(cpu::conv3d_direct_forward(x, w, c.win, out), d.forward) << c.name;
    ASSERT_EQ(cpu::conv3d_direct_backward_data(dy, w, c.win, dx), d.backward_data) << c.name;
    ASSERT_EQ(cpu::conv3d_direct_backward_weight(x, dy, c.win, dw), d.backward_weight) << c.name;
    if (d.forward) {
      EXPECT_LT(max_diff(out, r.y), 2e-4) << c.name << " forward";
    }
    if (d.backward_data) {
      EXPECT_LT(max_diff(dx, r.dx), 2e-4) << c.name << " backward-data";
    }
    if (d.backward_weight) {
      EXPECT_LT(max_diff(dw, r.dw), 5e-4) << c.name << " backward-weight";
    }
  }
}

TEST(NnConv3d, DirectKernelsDeclineWhatTheyDoNotCover) {
  Tensor x = Tensor::zeros({1, 4, 6, 6, 8}), w8 = Tensor::zeros({8, 3, 3, 3, 8});
  Tensor y = Tensor::zeros({1, 4, 6, 6, 8});
  // f64, dilation 2, a 1x1x1 kernel, 32 output channels, and stride 2 for backward-data.
  Tensor x64 = ops::to_dtype(x, DType::F64), y64 = ops::to_dtype(y, DType::F64);
  EXPECT_FALSE(cpu::conv3d_direct_forward(x64, ops::to_dtype(w8, DType::F64), window({3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                                          y64));
  EXPECT_FALSE(cpu::conv3d_direct_forward(x, w8, window({3, 3, 3}, {1, 1, 1}, {2, 2, 2}, {2, 2, 2}), y));
  EXPECT_FALSE(cpu::conv3d_direct_forward(x, Tensor::zeros({8, 1, 1, 1, 8}), window({1, 1, 1}), y));
  Tensor y32 = Tensor::zeros({1, 4, 6, 6, 32});
  EXPECT_FALSE(cpu::conv3d_direct_forward(x, Tensor::zeros({32, 3, 3, 3, 8}), window({3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                                          y32));
  Tensor dy = Tensor::zeros({1, 2, 3, 3, 8});
  EXPECT_FALSE(cpu::conv3d_direct_backward_data(dy, w8, window({3, 3, 3}, {2, 2, 2}, {1, 1, 1}), x));
  // Switched off for comparisons (bench_cpu_conv --no-direct), then on again.
  cpu::set_conv3d_direct_enabled(false);
  EXPECT_FALSE(cpu::conv3d_direct_forward(x, w8, window({3, 3, 3}, {1, 1, 1}, {1, 1, 1}), y));
  cpu::set_conv3d_direct_enabled(true);
}

TEST(NnConv3dErrors, NameShapesAndBadValues) {
  Tensor x = Tensor::zeros({1, 4, 4, 4, 3}), w = Tensor::zeros({2, 3, 3, 3, 3});
  std::string m = error_of([&] { conv3d(x, Tensor::zeros({2, 3, 3, 3, 5}), Tensor(), window({3, 3, 3})); });
  EXPECT_NE(m.find("[1, 4, 4, 4, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[2, 3, 3, 3, 5]"), std::string::npos) << m;
  m = error_of([&] { conv3d(x, w, Tensor(), window({3, 3, 3}, {0, 1, 1})); });
  EXPECT_NE(m.find("stride (0,1,1)"), std::string::npos) << m;
  m = error_of([&] { conv3d(x, w, Tensor(), window({3, 3, 3}, {1, 1, 1}, {-1, 0, 0})); });
  EXPECT_NE(m.find("padding (-1,0,0)"), std::string::npos) << m;
  m = error_of([&] { conv3d(x, w, Tensor(), window({3, 3, 1})); });
  EXPECT_NE(m.find("[2, 3, 3, 3, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("kernel (3,3,1)"), std::string::npos) << m;
  m = error_of([&] { conv3d(Tensor::zeros({1, 2, 4, 4, 3}), w, Tensor(), window({3, 3, 3})); });
  EXPECT_NE(m.find("[1, 2, 4, 4, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("too small"), std::string::npos) << m;
  m = error_of([&] { conv3d(x, w, Tensor::zeros({3}), window({3, 3, 3})); });
  EXPECT_NE(m.find("bias"), std::string::npos) << m;
  EXPECT_NE(m.find("[3]"), std::string::npos) << m;
  m = error_of([&] { conv3d(x, ops::to_dtype(w, DType::F64), Tensor(), window({3, 3, 3})); });
  EXPECT_NE(m.find("f32"), std::string::npos) << m;
  EXPECT_NE(m.find("f64"), std::string::npos) << m;
  m = error_of([&] { conv3d(Tensor::zeros({4, 4, 4, 3}), w, Tensor(), window({3, 3, 3})); });
  EXPECT_NE(m.find("[4, 4, 4, 3]"), std::string::npos) << m;
}
