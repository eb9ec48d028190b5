// CUDA parity of the network kernels with the CPU kernels (for conv3d its
// fast paths, themselves checked against core/cpu/conv3d_reference.h in
// tests/test_nn_conv3d.cpp): conv3d forward,
// backward-data and backward-filter (cuDNN, fp32 / tf32 / bf16, algorithm
// cache, determinism), max/avg pooling forward and backward (ties, padding,
// overlap), batch norm statistics/apply/backward (f32, and bf16 x with f32
// statistics), and a small network trained a few SGD steps on both devices.
// Skipped without a GPU. Suites: CudaConv, CudaPool, CudaBatchNorm, CudaNetwork.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/functions.h"
#include "core/precision.h"
#include "cuda/api.h"
#include "tests/test_cuda_util.h"

namespace vd {
namespace {

using namespace cudatest;

Window3d window(std::array<int64_t, 3> k, std::array<int64_t, 3> s, std::array<int64_t, 3> p,
                std::array<int64_t, 3> d = {1, 1, 1}) {
  Window3d w;
  w.kernel = k;
  w.stride = s;
  w.padding = p;
  w.dilation = d;
  return w;
}

struct ConvCase {
  Shape x;  // [N, T, H, W, Ci]
  int64_t cout;
  Window3d win;
};

std::vector<ConvCase> conv_cases() {
  return {
      {{2, 5, 6, 7, 3}, 4, window({3, 3, 3}, {1, 1, 1}, {1, 1, 1})},
      {{2, 4, 9, 9, 4}, 8, window({3, 7, 7}, {1, 2, 2}, {1, 3, 3})},  // R3D stem, small
      {{1, 4, 6, 6, 8}, 16, window({1, 1, 1}, {2, 2, 2}, {0, 0, 0})},  // downsample
      {{2, 4, 5, 5, 16}, 16, window({3, 3, 3}, {2, 2, 2}, {1, 1, 1})},
      {{1, 6, 7, 7, 4}, 4, window({3, 3, 3}, {1, 1, 1}, {2, 2, 2}, {2, 2, 2})},  // dilation
  };
}

// Reference outputs of the three passes on the CPU, and the count of products
// summed per output element (tolerances grow with its square root).
struct ConvRef {
  Tensor x, w, dy, y, dx, dw;
  double n_fwd, n_data, n_filter;
};

ConvRef conv_reference(const ConvCase& c, uint64_t seed, bool round_bf16) {
  ConvRef r;
  const auto& k = c.win.kernel;
  r.x = randn(c.x, seed);
  r.w = randn({c.cout, k[0], k[1], k[2], c.x[4]}, seed + 1, 0.2);
  if (round_bf16) {
    r.x = bf16_round(r.x);
    r.w = bf16_round(r.w);
  }
  r.y = ops::conv3d(r.x, r.w, c.win);
  r.dy = randn(r.y.shape(), seed + 2);
  if (round_bf16) r.dy = bf16_round(r.dy);
  r.dx = ops::conv3d_backward_data(r.dy, r.w, r.x.shape(), c.win);
  r.dw = ops::conv3d_backward_weight(r.x, r.dy, r.w.shape(), c.win);
  r.n_fwd = double(k[0] * k[1] * k[2] * c.x[4]);
  r.n_data = double(k[0] * k[1] * k[2] * c.cout);
  r.n_filter = double(r.y.numel() / c.cout);
  return r;
}

// Runs the three passes on the GPU in `dt` and compares with the reference.
void expect_conv_parity(const ConvCase& c, const ConvRef& r, DType dt, double rtol, double tol, const char* what) {
  auto g = [&](const Tensor& t) { return ops::to_dtype(to_gpu(t), dt); };
  Tensor y = ops::conv3d(g(r.x), g(r.w), c.win);
  Tensor dx = ops::conv3d_backward_data(g(r.dy), g(r.w), r.x.shape(), c.win);
  Tensor dw = ops::conv3d_backward_weight(g(r.x), g(r.dy), r.w.shape(), c.win);
  EXPECT_EQ(y.dtype(), dt);
  const std::string s = std::string(what) + " x " + shape_str(c.x) + " " + c.win.str();
  EXPECT_TRUE(close(y, r.y, rtol, tol * std::sqrt(r.n_fwd))) << s << " forward";
  EXPECT_TRUE(close(dx, r.dx, rtol, tol * std::sqrt(r.n_data))) << s << " backward-data";
  EXPECT_TRUE(close(dw, r.dw, rtol, tol * std::sqrt(r.n_filter))) << s << " backward-filter";
}

TEST(CudaConv, Fp32MatchesCpuTightly) {
  VD_SKIP_WITHOUT_GPU();
  PrecisionGuard p(Precision::FP32);
  uint64_t seed = 200;
  for (const ConvCase& c : conv_cases()) {
    ConvRef r = conv_reference(c, seed += 3, false);
    expect_conv_parity(c, r, DType::F32, 1e-5, 2e-6, "fp32");
  }
}

TEST(CudaConv, Tf32AndBf16WithinDocumentedTolerance) {
  VD_SKIP_WITHOUT_GPU();
  uint64_t seed = 300;
  for (const ConvCase& c : conv_cases()) {
    {
      PrecisionGuard p(Precision::TF32);
      ConvRef r = conv_reference(c, seed += 3, false);
      expect_conv_parity(c, r, DType::F32, 5e-3, 2e-3, "tf32");
    }
    {
      PrecisionGuard p(Precision::BF16);
      ConvRef r = conv_reference(c, seed += 3, true);  // same bf16 inputs on both sides
      expect_conv_parity(c, r, DType::BF16, 1e-2, 4e-3, "bf16");
    }
  }
}

TEST(CudaConv, AlgorithmCachedPerShapeAndDeterministic) {
  VD_SKIP_WITHOUT_GPU();
  PrecisionGuard p(Precision::FP32);
  ASSERT_TRUE(cuda::conv_deterministic());
  cuda::conv_cache_clear();
  const ConvCase c = conv_cases()[3];
  Tensor x = to_gpu(randn(c.x, 400)), w = to_gpu(randn({16, 3, 3, 3, 16}, 401, 0.2));
  Tensor y1 = ops::conv3d(x, w, c.win);
  EXPECT_EQ(cuda::conv_cache_stats().misses, 1u);
  EXPECT_EQ(cuda::conv_cache_stats().hits, 0u);
  Tensor y2 = ops::conv3d(x, w, c.win);
  EXPECT_EQ(cuda::conv_cache_stats().misses, 1u);
  EXPECT_EQ(cuda::conv_cache_stats().hits, 1u);
  EXPECT_NE(cuda::conv_last_choice(0).find("algo"), std::string::npos);
  EXPECT_TRUE(same_bits(y1, y2));
  Tensor dy = to_gpu(randn(y1.shape(), 402));
  Tensor dw1 = ops::conv3d_backward_weight(x, dy, w.shape(), c.win);
  Tensor dw2 = ops::conv3d_backward_weight(x, dy, w.shape(), c.win);
  Tensor dx1 = ops::conv3d_backward_data(dy, w, x.shape(), c.win);
  Tensor dx2 = ops::conv3d_backward_data(dy, w, x.shape(), c.win);
  EXPECT_TRUE(same_bits(dw1, dw2)) << cuda::conv_last_choice(2);
  EXPECT_TRUE(same_bits(dx1, dx2)) << cuda::conv_last_choice(1);
  EXPECT_EQ(cuda::conv_cache_stats().entries, 3u);
  // another shape is another key; another precision too
  ops::conv3d(ops::narrow(x, 1, 0, 3), w, c.win);
  EXPECT_EQ(cuda::conv_cache_stats().entries, 4u);
  {
    PrecisionGuard t(Precision::TF32);
    ops::conv3d(x, w, c.win);
  }
  EXPECT_EQ(cuda::conv_cache_stats().entries, 5u);
}

TEST(CudaConv, BenchmarkModeAgreesWithCpu) {
  VD_SKIP_WITHOUT_GPU();
  PrecisionGuard p(Precision::FP32);
  cuda::set_conv_benchmark(true);
  const ConvCase c = conv_cases()[0];
  ConvRef r = conv_reference(c, 500, false);
  expect_conv_parity(c, r, DType::F32, 1e-5, 2e-6, "fp32 benchmark");
  cuda::set_conv_benchmark(false);
  EXPECT_FALSE(cuda::conv_benchmark());
}

TEST(CudaPool, MaxAndAvgForwardBackwardParity) {
  VD_SKIP_WITHOUT_GPU();
  const Window3d wins[] = {window({1, 3, 3}, {1, 2, 2}, {0, 1, 1}), window({3, 3, 3}, {2, 2, 2}, {1, 1, 1}),
                           window({2, 2, 2}, {2, 2, 2}, {0, 0, 0}), window({3, 3, 3}, {1, 1, 1}, {1, 1, 1}),
                           window({2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {2, 2, 2})};
  uint64_t seed = 600;
  for (const Window3d& win : wins)
    for (bool ties : {false, true}) {
      Tensor x = randn({2, 5, 7, 6, 3}, seed++);
      if (ties) x = ops::unary(UnaryOp::Sign, x);  // values -1, 0, 1: windows full of ties
      const std::string s = win.str() + (ties ? " with ties" : "");
      Tensor y = ops::max_pool3d(x, win), yg = ops::max_pool3d(to_gpu(x), win);
      EXPECT_TRUE(close(yg, y, 0, 0)) << "max " << s;
      Tensor dy = randn(y.shape(), seed++);
      EXPECT_TRUE(close(ops::max_pool3d_backward(to_gpu(x), to_gpu(dy), win), ops::max_pool3d_backward(x, dy, win),
                        1e-6, 1e-6))
          << "max backward " << s;
      for (bool include_pad : {true, false}) {
        Tensor a = ops::avg_pool3d(x, win, include_pad);
        EXPECT_TRUE(close(ops::avg_pool3d(to_gpu(x), win, include_pad), a, 1e-5, 1e-6)) << "avg " << s;
        EXPECT_TRUE(close(ops::avg_pool3d_backward(to_gpu(dy), x.shape(), win, include_pad),
                          ops::avg_pool3d_backward(dy, x.shape(), win, include_pad), 1e-5, 1e-6))
            << "avg backward " << s << (include_pad ? " include_pad" : "");
      }
      // bf16: max is exact on rounded values
      Tensor xb = bf16_round(x);
      EXPECT_TRUE(close(ops::max_pool3d(ops::to_dtype(to_gpu(xb), DType::BF16), win), ops::max_pool3d(xb, win), 0, 0))
          << "max bf16 " << s;
    }
}

// Batch norm through the kernel interface of both backends (core/backend.h).
struct BnOut {
  Tensor mean, invstd, y, dx, dgamma, dbeta;
};

BnOut run_bn(bool on_gpu, const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& dy, bool training) {
  Device d = on_gpu ? gpu() : Device::cpu();
  const int64_t C = x.size(-1);
  BnOut o;
  o.mean = Tensor::empty({C}, DType::F32, d);
  o.invstd = Tensor::empty({C}, DType::F32, d);
  o.y = Tensor::empty(x.shape(), x.dtype(), d);
  o.dx = Tensor::empty(x.shape(), x.dtype(), d);
  o.dgamma = Tensor::empty({C}, DType::F32, d);
  o.dbeta = Tensor::empty({C}, DType::F32, d);
  Tensor xd = ops::to_device(x, d), gd = gamma.defined() ? ops::to_device(gamma, d) : Tensor();
  Tensor bd = beta.defined() ? ops::to_device(beta, d) : Tensor(), dyd = ops::to_device(dy, d);
  if (on_gpu) {
    cuda::batch_norm_stats(xd, 1e-5, o.mean, o.invstd);
    cuda::batch_norm_apply(xd, o.mean, o.invstd, gd, bd, o.y);
    cuda::batch_norm_backward(dyd, xd, o.mean, o.invstd, gd, training, o.dx, o.dgamma, o.dbeta);
  } else {
    cpu::batch_norm_stats(xd, 1e-5, o.mean, o.invstd);
    cpu::batch_norm_apply(xd, o.mean, o.invstd, gd, bd, o.y);
    cpu::batch_norm_backward(dyd, xd, o.mean, o.invstd, gd, training, o.dx, o.dgamma, o.dbeta);
  }
  return o;
}

TEST(CudaBatchNorm, StatsApplyBackwardParity) {
  VD_SKIP_WITHOUT_GPU();
  const Shape shapes[] = {{64, 16}, {2, 3, 4, 5, 8}, {3000, 3}, {1, 70}};
  uint64_t seed = 700;
  for (const Shape& s : shapes)
    for (bool affine : {true, false})
      for (bool training : {true, false}) {
        const int64_t C = s.back();
        Tensor x = ops::unary(UnaryOp::AddScalar, randn(s, seed++, 2.0), 0.5);
        Tensor gamma = affine ? randn({C}, seed++) : Tensor(), beta = affine ? randn({C}, seed++) : Tensor();
        Tensor dy = randn(s, seed++);
        BnOut c = run_bn(false, x, gamma, beta, dy, training), g = run_bn(true, x, gamma, beta, dy, training);
        const std::string w = shape_str(s) + (affine ? " affine" : "") + (training ? " training" : " eval");
        EXPECT_TRUE(close(g.mean, c.mean, 1e-5, 1e-6)) << w;
        EXPECT_TRUE(close(g.invstd, c.invstd, 1e-5, 0)) << w;
        // y = (x - mean) * invstd * gamma: the f32 rounding of (x - mean), a few
        // ulps of |x|, is amplified by invstd (316 when a channel holds one
        // sample and its variance is 0), so the bound scales with both.
        const double amp = ops::reduce(ReduceOp::Max, c.invstd, {}, false).item() *
                           (affine ? ops::reduce(ReduceOp::Max, ops::unary(UnaryOp::Abs, gamma), {}, false).item() : 1.0);
        const double xmax = ops::reduce(ReduceOp::Max, ops::unary(UnaryOp::Abs, x), {}, false).item();
        EXPECT_TRUE(close(g.y, c.y, 1e-5, 1e-5 + 4 * 1.2e-7 * xmax * amp)) << w;
        EXPECT_TRUE(close(g.dx, c.dx, 1e-4, 1e-5)) << w;
        const double M = double(x.numel() / C);
        EXPECT_TRUE(close(g.dbeta, c.dbeta, 1e-5, 1e-6 * M)) << w;
        EXPECT_TRUE(close(g.dgamma, c.dgamma, 1e-5, 1e-6 * M)) << w;
      }
}

TEST(CudaBatchNorm, Bf16InputWithF32Statistics) {
  VD_SKIP_WITHOUT_GPU();
  Tensor x = bf16_round(ops::unary(UnaryOp::AddScalar, randn({4, 2, 3, 3, 16}, 800, 2.0), 1.0));
  Tensor gamma = randn({16}, 801), beta = randn({16}, 802), dy = bf16_round(randn(x.shape(), 803));
  BnOut c = run_bn(false, x, gamma, beta, dy, true);
  BnOut g = run_bn(true, ops::to_dtype(x, DType::BF16), gamma, beta, ops::to_dtype(dy, DType::BF16), true);
  EXPECT_EQ(g.y.dtype(), DType::BF16);
  EXPECT_EQ(g.mean.dtype(), DType::F32);
  EXPECT_TRUE(close(g.mean, c.mean, 1e-5, 1e-6));  // f32 statistics of the same values
  EXPECT_TRUE(close(g.invstd, c.invstd, 1e-5, 0));
  EXPECT_TRUE(close(g.y, bf16_round(c.y), 8e-3, 1e-3));
  EXPECT_TRUE(close(g.dx, bf16_round(c.dx), 1e-2, 2e-3));
  EXPECT_TRUE(close(g.dgamma, c.dgamma, 1e-4, 1e-4));
}

// conv3d -> batch norm -> relu -> max pool -> global pool -> linear ->
// cross-entropy, three SGD steps with raw-op updates on each device.
std::vector<double> train_small(Device d, std::vector<Tensor>* final_params) {
  Generator gen(900);
  auto param = [&](const Shape& s, double scale) {
    Tensor t = ops::unary(UnaryOp::MulScalar, Tensor::randn(s, &gen), scale);
    return ops::to_device(t, d).requires_grad_();
  };
  Tensor w1 = param({8, 3, 3, 3, 3}, 0.2), b1 = param({8}, 0.1);
  Tensor gamma = ops::to_device(Tensor::ones({8}), d).requires_grad_();
  Tensor beta = ops::to_device(Tensor::zeros({8}), d).requires_grad_();
  Tensor rm = ops::to_device(Tensor::zeros({8}), d), rv = ops::to_device(Tensor::ones({8}), d);
  Tensor w2 = param({5, 8}, 0.3), b2 = param({5}, 0.1);
  Tensor x = ops::to_device(Tensor::randn({4, 4, 8, 8, 3}, &gen), d);
  const std::vector<int64_t> labels = {0, 3, 1, 4};
  const Window3d conv_win = window({3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  const Window3d pool_win = window({1, 2, 2}, {1, 2, 2}, {0, 0, 0});
  std::vector<Tensor> params = {w1, b1, gamma, beta, w2, b2};
  std::vector<double> losses;
  for (int step = 0; step < 3; ++step) {
    Tensor h = conv3d(x, w1, b1, conv_win);
    h = batch_norm(h, gamma, beta, rm, rv, true);
    h = max_pool3d(relu(h), pool_win);
    Tensor logits = linear(global_avg_pool3d(h), w2, b2);
    Tensor loss = cross_entropy(logits, labels);
    losses.push_back(loss.item());
    loss.backward();
    for (Tensor& p : params) {
      Tensor data = p.detach();
      ops::binary_(BinaryOp::Sub, data, ops::unary(UnaryOp::MulScalar, p.grad(), 0.5));
      p.zero_grad();
    }
  }
  params.push_back(rm);
  params.push_back(rv);
  *final_params = params;
  return losses;
}

TEST(CudaNetwork, SgdStepsMatchCpu) {
  VD_SKIP_WITHOUT_GPU();
  PrecisionGuard p(Precision::FP32);
  std::vector<Tensor> pc, pg;
  std::vector<double> lc = train_small(Device::cpu(), &pc), lg = train_small(gpu(), &pg);
  ASSERT_EQ(lc.size(), lg.size());
  for (size_t i = 0; i < lc.size(); ++i) EXPECT_NEAR(lg[i], lc[i], 1e-4 * std::fabs(lc[i])) << "step " << i;
  EXPECT_LT(lc.back(), lc.front());  // it learns
  for (size_t i = 0; i < pc.size(); ++i) EXPECT_TRUE(close(pg[i], pc[i], 1e-3, 1e-4)) << "parameter " << i;
}

}  // namespace
}  // namespace vd
