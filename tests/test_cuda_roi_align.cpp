// CUDA parity of RoIAlign (cuda/roi_align.cu) with the CPU kernel, itself
// checked against a direct computation in tests/test_roi_align.cpp: forward
// and backward in f32 and f64 over random boxes (some past the map's edges,
// inverted or degenerate), aligned and not, fixed and adaptive sampling; the
// backward's bit-reproducibility (no atomics); autograd on the GPU; and the
// bf16 refusal. Skipped without a GPU. Suite: CudaRoiAlign.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "tests/test_cuda_util.h"

namespace vd {
namespace {

using namespace cudatest;

RoiAlignParams params(int64_t ph, int64_t pw, double scale, int64_t sampling, bool aligned) {
  RoiAlignParams p;
  p.pooled_h = ph;
  p.pooled_w = pw;
  p.spatial_scale = scale;
  p.sampling_ratio = sampling;
  p.aligned = aligned;
  return p;
}

// R boxes on N images with corners in [lo, hi] input pixels (f32, CPU).
Tensor boxes(int64_t R, int64_t N, double lo, double hi, uint64_t seed) {
  Generator g(seed);
  std::vector<double> u = Tensor::uniform({R, 5}, 0, 1, &g, DType::F64).to_vector();
  std::vector<float> v;
  for (int64_t r = 0; r < R; ++r) {
    const double* q = u.data() + r * 5;
    double a = lo + (hi - lo) * q[1], b = lo + (hi - lo) * q[2], c = lo + (hi - lo) * q[3], d = lo + (hi - lo) * q[4];
    if (r % 6 != 5) {  // every sixth keeps inverted corners
      if (c < a) std::swap(a, c);
      if (d < b) std::swap(b, d);
    }
    for (double e : {std::floor(q[0] * double(N)), a, b, c, d}) v.push_back(float(e));
  }
  return Tensor::from_vector(v, {R, 5});
}

TEST(CudaRoiAlign, ForwardAndBackwardMatchCpu) {
  VD_SKIP_WITHOUT_GPU();
  Tensor x = randn({3, 14, 11, 37}, 400);  // odd C: channel threads straddle warps
  Tensor b = boxes(40, 3, -20, 200, 401);  // scale 1/16: the map's [-1.25, 12.5]
  for (DType dt : {DType::F32, DType::F64})
    for (bool aligned : {true, false})
      for (int64_t sr : {0, 2})
        for (auto bins : {std::array<int64_t, 2>{7, 7}, std::array<int64_t, 2>{2, 3}}) {
          const RoiAlignParams p = params(bins[0], bins[1], 1.0 / 16, sr, aligned);
          const Tensor xc = ops::to_dtype(x, dt), bc = ops::to_dtype(b, dt);
          const Tensor y = ops::roi_align(xc, bc, p);
          const Tensor dy = ops::to_dtype(randn(y.shape(), 402), dt);
          const Tensor dx = ops::roi_align_backward(dy, bc, x.shape(), p);
          const Tensor yg = ops::roi_align(to_gpu(xc), to_gpu(bc), p);
          const Tensor dxg = ops::roi_align_backward(to_gpu(dy), to_gpu(bc), x.shape(), p);
          const double tol = dt == DType::F32 ? 2e-5 : 1e-12;
          const std::string s = std::string(dtype_name(dt)) + " " + p.str();
          EXPECT_TRUE(close(yg, y, tol, tol)) << s << " forward";
          EXPECT_TRUE(close(dxg, dx, tol, tol)) << s << " backward";
        }
}

TEST(CudaRoiAlign, BackwardIsBitReproducible) {
  VD_SKIP_WITHOUT_GPU();
  // Many boxes overlapping on one image: an atomicAdd scatter would sum in
  // scheduling order; the column-owning gather sums in a fixed order.
  Tensor x = to_gpu(randn({1, 16, 16, 64}, 410));
  Tensor b = to_gpu(boxes(300, 1, 0, 256, 411));
  const RoiAlignParams p = params(7, 7, 1.0 / 16, 0, true);
  Tensor dy = to_gpu(randn({300, 7, 7, 64}, 412));
  const Tensor first = ops::roi_align_backward(dy, b, x.shape(), p);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(same_bits(ops::roi_align_backward(dy, b, x.shape(), p), first));
}

TEST(CudaRoiAlign, AutogradOnTheGpu) {
  VD_SKIP_WITHOUT_GPU();
  const RoiAlignParams p = params(2, 2, 0.5, 0, true);
  Tensor xc = randn({2, 6, 6, 5}, 420), bc = boxes(6, 2, -2, 14, 421);
  Tensor xg = to_gpu(xc);
  xg.requires_grad_(true);
  Tensor loss = sum(roi_align(xg, to_gpu(bc), p));
  loss.backward();
  const Tensor want = ops::roi_align_backward(Tensor::ones({6, 2, 2, 5}), bc, xc.shape(), p);
  EXPECT_TRUE(close(xg.grad(), want, 1e-5, 1e-5));
}

TEST(CudaRoiAlign, Bf16IsRefusedWithAHint) {
  VD_SKIP_WITHOUT_GPU();
  Tensor x = ops::to_dtype(to_gpu(randn({1, 4, 4, 2}, 430)), DType::BF16);
  Tensor b = ops::to_dtype(to_gpu(Tensor::from_vector(std::vector<float>{0, 0, 0, 2, 2}, {1, 5})), DType::BF16);
  try {
    ops::roi_align(x, b, params(2, 2, 1.0, 0, true));
    ADD_FAILURE() << "bf16 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32 or f64"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vd
