// conv3d kernels (core/cpu/conv3d.cpp, vol2col + gemm) against a plain
// direct-loop reference written here in f64: forward, backward-data and
// backward-weight, f64 and f32, over strides, padding, dilation, non-cubic
// and 1x1x1 kernels and an input large enough to span several column blocks;
// plus the bias path, determinism and the error messages of bad parameters.
// The direct kernels of narrow f32 layers (core/cpu/conv3d_direct.h) are
// checked against the same reference, called directly so that a fallback to
// vol2col + gemm cannot pass in their place.
#include <gtest/gtest.h>

#include "core/cpu/conv3d_direct.h"

#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

namespace {

// Geometry as plain numbers; the reference loops below use it.
struct Geo {
  int64_t N, T, H, W, Ci, Co, To, Ho, Wo;
  Window3d win;
  Geo(const Shape& x, const Shape& w, const Window3d& wn)
      : N(x[0]), T(x[1]), H(x[2]), W(x[3]), Ci(x[4]), Co(w[0]), win(wn) {
    To = wn.out_size(0, T), Ho = wn.out_size(1, H), Wo = wn.out_size(2, W);
  }
  int64_t xi(int64_t n, int64_t t, int64_t h, int64_t w, int64_t c) const {
    return (((n * T + t) * H + h) * W + w) * Ci + c;
  }
  int64_t yi(int64_t n, int64_t t, int64_t h, int64_t w, int64_t c) const {
    return (((n * To + t) * Ho + h) * Wo + w) * Co + c;
  }
  int64_t wi(int64_t o, int64_t a, int64_t b, int64_t c, int64_t i) const {
    return (((o * win.kernel[0] + a) * win.kernel[1] + b) * win.kernel[2] + c) * Ci + i;
  }
  // Calls f(x index, y index, w index) for every multiply of the convolution.
  template <class F>
  void each(F f) const {
    const auto &k = win.kernel, &s = win.stride, &p = win.padding, &d = win.dilation;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t to = 0; to < To; ++to)
        for (int64_t ho = 0; ho < Ho; ++ho)
          for (int64_t wo = 0; wo < Wo; ++wo)
            for (int64_t o = 0; o < Co; ++o)
              for (int64_t a = 0; a < k[0]; ++a)
                for (int64_t b = 0; b < k[1]; ++b)
                  for (int64_t c = 0; c < k[2]; ++c) {
                    const int64_t t = to * s[0] - p[0] + a * d[0], h = ho * s[1] - p[1] + b * d[1],
                                  w = wo * s[2] - p[2] + c * d[2];
                    if (t < 0 || t >= T || h < 0 || h >= H || w < 0 || w >= W) continue;
                    for (int64_t i = 0; i < Ci; ++i)
                      f(xi(n, t, h, w, i), yi(n, to, ho, wo, o), wi(o, a, b, c, i));
                  }
  }
};

struct Ref {
  std::vector<double> y, dx, dw;
};

// Direct loops: y = conv(x, w); dx, dw for an upstream gradient dy.
Ref reference(const Tensor& x, const Tensor& w, const Tensor& dy, const Window3d& win) {
  Geo g(x.shape(), w.shape(), win);
  auto xv = x.to_vector(), wv = w.to_vector(), gv = dy.to_vector();
  Ref r{std::vector<double>(size_t(g.N * g.To * g.Ho * g.Wo * g.Co), 0.0),
        std::vector<double>(xv.size(), 0.0), std::vector<double>(wv.size(), 0.0)};
  g.each([&](int64_t xi, int64_t yi, int64_t wi) {
    r.y[size_t(yi)] += xv[size_t(xi)] * wv[size_t(wi)];
    r.dx[size_t(xi)] += gv[size_t(yi)] * wv[size_t(wi)];
    r.dw[size_t(wi)] += gv[size_t(yi)] * xv[size_t(xi)];
  });
  return r;
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
