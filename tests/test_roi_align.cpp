// RoIAlign on the CPU (ops::roi_align, vd::roi_align) against a direct
// computation written here independently of core/roi_align_geom.h: the
// bilinear value as tent weights max(0, 1 - |y - h|) * max(0, 1 - |x - w|)
// over all pixels after torchvision's out-of-range rules. Hand-checkable
// cases (a constant map, a linear ramp's bin centres, samples past the
// edge), random boxes and parameters, the backward as the forward's
// transpose, f64 gradchecks, no boxes, and the errors. CUDA parity is in
// tests/test_cuda_roi_align.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

namespace {

RoiAlignParams params(int64_t ph, int64_t pw, double scale, int64_t sampling, bool aligned = true) {
  RoiAlignParams p;
  p.pooled_h = ph;
  p.pooled_w = pw;
  p.spatial_scale = scale;
  p.sampling_ratio = sampling;
  p.aligned = aligned;
  return p;
}

Tensor boxes_of(const std::vector<std::vector<double>>& rows, DType dt = DType::F64) {
  std::vector<double> v;
  for (const auto& r : rows) v.insert(v.end(), r.begin(), r.end());
  return ops::to_dtype(Tensor::from_vector(v, {int64_t(rows.size()), 5}), dt);
}

// The value at (y, x) of channel c of image n of x [N, H, W, C] (as a flat
// vector): zero outside [-1, H] x [-1, W], else the tent-weighted sum at the
// point clamped into [0, H-1] x [0, W-1].
double ref_sample(const std::vector<double>& x, const Shape& s, int64_t n, int64_t c, double y, double xx) {
  const int64_t H = s[1], W = s[2], C = s[3];
  if (y < -1 || y > double(H) || xx < -1 || xx > double(W)) return 0;
  y = std::min(std::max(y, 0.0), double(H - 1));
  xx = std::min(std::max(xx, 0.0), double(W - 1));
  double v = 0;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w) {
      const double t = std::max(0.0, 1 - std::fabs(y - double(h))) * std::max(0.0, 1 - std::fabs(xx - double(w)));
      if (t > 0) v += t * x[size_t(((n * H + h) * W + w) * C + c)];
    }
  return v;
}

// Direct RoIAlign: each bin the mean of a grid of samples at the centres of
// its gh x gw sub-cells.
std::vector<double> ref_roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p) {
  const std::vector<double> xv = x.to_vector(), bv = boxes.to_vector();
  const Shape s = x.shape();
  const int64_t R = boxes.size(0), C = s[3];
  std::vector<double> out;
  for (int64_t r = 0; r < R; ++r) {
    const double* b = bv.data() + r * 5;
    const double off = p.aligned ? 0.5 : 0.0;
    const double x1 = b[1] * p.spatial_scale - off, y1 = b[2] * p.spatial_scale - off;
    double w = b[3] * p.spatial_scale - off - x1, h = b[4] * p.spatial_scale - off - y1;
    if (!p.aligned) w = std::max(w, 1.0), h = std::max(h, 1.0);
    const int64_t gh = p.sampling_ratio > 0 ? p.sampling_ratio : int64_t(std::ceil(h / double(p.pooled_h)));
    const int64_t gw = p.sampling_ratio > 0 ? p.sampling_ratio : int64_t(std::ceil(w / double(p.pooled_w)));
    const double count = double(std::max<int64_t>(gh * gw, 1));
    for (int64_t ph = 0; ph < p.pooled_h; ++ph)
      for (int64_t pw = 0; pw < p.pooled_w; ++pw)
        for (int64_t c = 0; c < C; ++c) {
          double acc = 0;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              const double sy = y1 + (double(ph) + (double(iy) + 0.5) / double(gh)) * h / double(p.pooled_h);
              const double sx = x1 + (double(pw) + (double(ix) + 0.5) / double(gw)) * w / double(p.pooled_w);
              acc += ref_sample(xv, s, int64_t(b[0]), c, sy, sx);
            }
          out.push_back(acc / count);
        }
  }
  return out;
}

// x[n, h, w, c] = 2 w + 10 h + 100 c + 1000 n.
Tensor ramp(const Shape& s) {
  std::vector<double> v;
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t h = 0; h < s[1]; ++h)
      for (int64_t w = 0; w < s[2]; ++w)
        for (int64_t c = 0; c < s[3]; ++c) v.push_back(double(2 * w + 10 * h + 100 * c + 1000 * n));
  return Tensor::from_vector(v, s);  // f64
}

// Random boxes with valid batch indices, corners in [lo, hi] input pixels,
// some inverted or degenerate, as torchvision allows.
Tensor random_boxes(int64_t R, int64_t N, double lo, double hi, uint64_t seed) {
  Generator g(seed);
  const std::vector<double> u = Tensor::uniform({R, 5}, 0, 1, &g, DType::F64).to_vector();
  std::vector<std::vector<double>> rows;
  for (int64_t r = 0; r < R; ++r) {
    const double* q = u.data() + r * 5;
    double a = lo + (hi - lo) * q[1], b = lo + (hi - lo) * q[2], c = lo + (hi - lo) * q[3], d = lo + (hi - lo) * q[4];
    if (r % 5 != 4) {  // every fifth box keeps its (possibly inverted) corners
      if (c < a) std::swap(a, c);
      if (d < b) std::swap(b, d);
    }
    if (r % 7 == 3) c = a;  // zero width
    rows.push_back({std::floor(q[0] * double(N)), a, b, c, d});
  }
  return boxes_of(rows);
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double tol,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " element " << i;
}

}  // namespace

TEST(RoiAlign, ConstantMapGivesTheConstant) {
  for (DType dt : {DType::F64, DType::F32}) {
    Tensor x = Tensor::full({2, 6, 7, 3}, 3.5, dt);
    Tensor b = boxes_of({{0, 0.5, 0.5, 6.5, 5.5}, {1, 2.0, 1.0, 3.0, 4.5}, {1, 1.2, 2.2, 1.9, 2.4}}, dt);
    for (int64_t sr : {0, 1, 2, 3}) {
      const std::vector<double> y = ops::roi_align(x, b, params(2, 3, 1.0, sr)).to_vector();
      ASSERT_EQ(y.size(), size_t(3 * 2 * 3 * 3));
      for (double v : y) EXPECT_NEAR(v, 3.5, dt == DType::F64 ? 1e-12 : 1e-6) << "sampling " << sr;
    }
  }
}

TEST(RoiAlign, LinearRampGivesTheBinCentres) {
  // Box (1, 1)-(9, 9) in input pixels at scale 0.5 is (0, 0)-(4, 4) in the
  // map after the half-pixel shift (1 * 0.5 - 0.5 = 0); 2 x 2 bins of 2
  // have centres 1 and 3. Bilinear interpolation is exact on a linear
  // ramp and the samples sit symmetric about the centre, so each bin is
  // the ramp at its centre: 2 cx + 10 cy + 100 c + 1000 n (n = 1).
  Tensor x = ramp({2, 6, 6, 2});
  Tensor b = boxes_of({{1, 1, 1, 9, 9}});
  const double want[2][2][2] = {{{1012, 1112}, {1016, 1116}}, {{1032, 1132}, {1036, 1136}}};
  for (int64_t sr : {0, 1, 2, 3}) {
    Tensor y = ops::roi_align(x, b, params(2, 2, 0.5, sr));
    ASSERT_EQ(y.shape(), (Shape{1, 2, 2, 2}));
    const std::vector<double> v = y.to_vector();
    for (int ph = 0; ph < 2; ++ph)
      for (int pw = 0; pw < 2; ++pw)
        for (int c = 0; c < 2; ++c)
          EXPECT_NEAR(v[size_t((ph * 2 + pw) * 2 + c)], want[ph][pw][c], 1e-9)
              << "bin (" << ph << ", " << pw << ") channel " << c << " sampling " << sr;
  }
  // Unaligned: no shift, so (0.5, 0.5)-(4.5, 4.5) and centres 1.5, 3.5.
  const std::vector<double> u = ops::roi_align(x, b, params(2, 2, 0.5, 2, false)).to_vector();
  EXPECT_NEAR(u[0], 2 * 1.5 + 10 * 1.5 + 1000, 1e-9);
  EXPECT_NEAR(u[7], 2 * 3.5 + 10 * 3.5 + 100 + 1000, 1e-9);
}

TEST(RoiAlign, SamplesPastTheEdgeAreZeroOrClamped) {
  // Map 3 x 4, x[h, w] = 2 w + 10 h + 1 (one channel).
  std::vector<double> v;
  for (int h = 0; h < 3; ++h)
    for (int w = 0; w < 4; ++w) v.push_back(2 * w + 10 * h + 1);
  Tensor x = Tensor::from_vector(v, {1, 3, 4, 1});  // f64
  const RoiAlignParams p = params(1, 1, 1.0, 2);
  // Box x in [-1, 0], y in [1, 2] -> map [-1.5, -0.5] x [0.5, 1.5]: samples
  // at x = -1.25 (past -1: zero) and -0.75 (clamped to column 0), y = 0.75
  // and 1.25 (mean row 1): (0 + 0 + 2 * x[1, 0]) / 4 = 11 / 2.
  EXPECT_NEAR(ops::roi_align(x, boxes_of({{0, -1, 1, 0, 2}}), p).item(), 5.5, 1e-12);
  // Wholly left of -1: every sample is zero.
  EXPECT_EQ(ops::roi_align(x, boxes_of({{0, -9, 0, -3, 2}}), p).item(), 0.0);
  // y in [3, 4] -> [2.5, 3.5]: y = 2.75 clamps to the last row (x = 0.75
  // and 1.25 at columns [0.5, 1.5]), y = 3.25 is past H = 3: zero.
  // (2 * (10 * 2 + 2 * 1 + 1) + 0) / 4 = 11.5.
  EXPECT_NEAR(ops::roi_align(x, boxes_of({{0, 1, 3, 2, 4}}), p).item(), 11.5, 1e-12);
}

TEST(RoiAlign, MatchesTheDirectComputationOnRandomBoxes) {
  Generator g(5);
  Tensor x = Tensor::randn({2, 7, 9, 3}, &g, DType::F64);
  Tensor b = random_boxes(15, 2, -6, 42, 6);  // scale 0.25: the map's [-2, 10] x [-2, 10]
  for (bool aligned : {true, false})
    for (int64_t sr : {0, 1, 2})
      for (auto bins : {std::array<int64_t, 2>{2, 2}, std::array<int64_t, 2>{3, 2}, std::array<int64_t, 2>{1, 4}}) {
        const RoiAlignParams p = params(bins[0], bins[1], 0.25, sr, aligned);
        const std::vector<double> want = ref_roi_align(x, b, p);
        expect_near_all(ops::roi_align(x, b, p).to_vector(), want, 1e-11, "f64 " + p.str());
        const Tensor x32 = ops::to_dtype(x, DType::F32), b32 = ops::to_dtype(b, DType::F32);
        expect_near_all(ops::roi_align(x32, b32, p).to_vector(), want, 2e-5, "f32 " + p.str());
      }
}

TEST(RoiAlign, BackwardIsTheTransposeOfTheForward) {
  // RoIAlign is linear in x, so <roi_align(x), dy> = <x, backward(dy)> for any x, dy.
  Generator g(7);
  Tensor x = Tensor::randn({3, 5, 6, 4}, &g, DType::F64);
  Tensor b = random_boxes(9, 3, -4, 30, 8);
  for (int64_t sr : {0, 2}) {
    const RoiAlignParams p = params(2, 3, 0.2, sr);
    Tensor y = ops::roi_align(x, b, p);
    Tensor dy = Tensor::randn(y.shape(), &g, DType::F64);
    Tensor dx = ops::roi_align_backward(dy, b, x.shape(), p);
    double lhs = 0, rhs = 0;
    const auto yv = y.to_vector(), dyv = dy.to_vector(), xv = x.to_vector(), dxv = dx.to_vector();
    for (size_t i = 0; i < yv.size(); ++i) lhs += yv[i] * dyv[i];
    for (size_t i = 0; i < xv.size(); ++i) rhs += xv[i] * dxv[i];
    EXPECT_NEAR(lhs, rhs, 1e-10 * (1 + std::fabs(lhs))) << p.str();
  }
}

TEST(RoiAlign, GradcheckF64) {
  Tensor x = leaf({2, 5, 6, 3}, 21);
  // A box inside, one over the edge (samples past -1 and clamped ones), an
  // adaptive grid of 3 x 2 samples, a tiny box, two boxes on one image.
  Tensor b = boxes_of({{0, 1.0, 0.5, 9.0, 7.5}, {1, -3.0, -2.0, 4.0, 12.5}, {1, 2.2, 3.1, 11.8, 8.9}, {0, 4.0, 4.0, 4.3, 4.1}});
  for (const RoiAlignParams& p : {params(2, 2, 0.5, 0), params(3, 2, 0.5, 2), params(2, 3, 0.5, 1, false)})
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return roi_align(v[0], b, p); }, {x}))
        << p.str();
  // A non-contiguous feature map.
  Tensor xt = transposed_leaf({1, 4, 5, 2}, 22);
  Tensor b1 = boxes_of({{0, 0.5, 0.5, 3.5, 3.0}});
  EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return roi_align(v[0], b1, params(2, 2, 1.0, 0)); },
                           {xt}));
}

TEST(RoiAlign, NoBoxesGiveAnEmptyOutputAndAZeroGradient) {
  Tensor x = leaf({1, 4, 4, 2}, 23);
  Tensor b = Tensor::zeros({0, 5}, DType::F64);
  Tensor y = roi_align(x, b, params(2, 2, 1.0, 0));
  EXPECT_EQ(y.shape(), (Shape{0, 2, 2, 2}));
  Tensor dx = ops::roi_align_backward(Tensor::zeros({0, 2, 2, 2}, DType::F64), b, x.shape(), params(2, 2, 1.0, 0));
  for (double v : dx.to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(RoiAlign, ErrorsNameWhatWasExpected) {
  Tensor x = Tensor::zeros({2, 4, 4, 3}, DType::F64);
  const RoiAlignParams p = params(2, 2, 1.0, 0);
  EXPECT_NE(error_of([&] { ops::roi_align(x, boxes_of({{2, 0, 0, 1, 1}}), p); }).find("integer in [0, 2), got 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::roi_align(x, boxes_of({{0.5, 0, 0, 1, 1}}), p); }).find("got 0.5"), std::string::npos);
  EXPECT_NE(error_of([&] { ops::roi_align(x, Tensor::zeros({3, 4}, DType::F64), p); }).find("expected boxes [R, 5]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::roi_align(Tensor::zeros({1, 2, 4, 4, 3}, DType::F64), boxes_of({{0, 0, 0, 1, 1}}), p); })
                .find("pool a video map"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::roi_align(x, boxes_of({{0, 0, 0, 1, 1}}), params(0, 2, 1.0, 0)); }).find("bins 0x2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::roi_align(x, boxes_of({{0, 0, 0, 1, 1}}, DType::F32), p); }), "(no error)");
}
