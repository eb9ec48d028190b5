// tests/test_cuda_batch_norm_act.cpp: the CUDA fused batch norm + residual
// add + ReLU (cuda/batch_norm_act.cu) against the CPU reference
// (core/cpu/batch_norm_act.cpp) through vd::batch_norm_act, forward and
// backward, in f32 and bf16; and two GPU runs, and the GPU fused op against
// the GPU composition relu(batch_norm(x) + r), bit for bit. Skipped without
// a GPU. Tolerances (not yet measured on a device when written):
// - f32: y as CudaBatchNorm's apply (1e-5 relative, plus the f32 rounding
//   of x - mean amplified by invstd * gamma); dx, dr 1e-4; dgamma, dbeta 1e-5
//   relative plus 1e-6 per row (f32 sums in another order).
// - bf16 against the f32 CPU run on the same (bf16-rounded) values: the GPU
//   rounds the batch norm's output and the sum to bf16 (2 roundings, 2^-8
//   each): y 1.6e-2 relative; dx 2e-2; dgamma, dbeta 2e-2 relative plus
//   1e-3 per row.
// Gradients are compared away from the ReLU's kink: elements whose pre-ReLU
// value (the f64 composition on the CPU) is within `kink` of 0 may take the
// other side of the mask on the other device and are masked out of dx and
// dr; they are few (a fraction ~kink of the elements) and dgamma/dbeta's
// row allowance covers them.
#include <gtest/gtest.h>

#include <tuple>

#include "autograd/functions.h"
#include "tests/test_cuda_util.h"

using namespace vd;
using namespace cudatest;

namespace {

struct ActOut {
  Tensor y, rm, rv, dx, dg, db, dr;
};

// batch_norm_act (or its composition) on device d in dtype dt; gradients of sum(y * w).
ActOut run_act(Device d, DType dt, bool fused, const Tensor& x0, const Tensor& r0, const Tensor& g0,
               const Tensor& b0, const Tensor& w0, bool training) {
  auto on = [&](const Tensor& t, DType want) {
    return t.defined() ? ops::to_dtype(ops::to_device(t, d), want).requires_grad_() : Tensor();
  };
  Tensor x = on(x0, dt), r = on(r0, dt), g = on(g0, DType::F32), b = on(b0, DType::F32);
  Tensor w = ops::to_dtype(ops::to_device(w0, d), dt);
  const int64_t C = x0.size(-1);
  ActOut o;
  o.rm = ops::to_device(Tensor::full({C}, 0.1), d);
  o.rv = ops::to_device(Tensor::full({C}, 1.7), d);
  if (fused) {
    o.y = batch_norm_act(x, r, g, b, o.rm, o.rv, training);
  } else {
    Tensor h = batch_norm(x, g, b, o.rm, o.rv, training);
    o.y = relu(r.defined() ? h + r : h);
  }
  sum(to_dtype(o.y * w, DType::F32)).backward();
  auto back = [](const Tensor& t) { return t.defined() ? to_cpu(ops::to_dtype(t, DType::F32)) : Tensor(); };
  o.y = back(o.y.detach());
  o.rm = back(o.rm);
  o.rv = back(o.rv);
  o.dx = back(x.grad());
  if (r.defined()) o.dr = back(r.grad());
  if (g.defined()) o.dg = back(g.grad());
  if (b.defined()) o.db = back(b.grad());
  return o;
}

// 1 where the f64 CPU composition's pre-ReLU value is farther than kink from 0.
Tensor away_from_kink(const Tensor& x, const Tensor& r, const Tensor& g, const Tensor& b, bool training,
                      double kink) {
  autograd::NoGradGuard ng;
  auto f64 = [](const Tensor& t) { return t.defined() ? ops::to_dtype(t, DType::F64) : Tensor(); };
  Tensor rm = Tensor::full({x.size(-1)}, 0.1, DType::F64), rv = Tensor::full({x.size(-1)}, 1.7, DType::F64);
  Tensor z = batch_norm(f64(x), f64(g), f64(b), rm, rv, training);
  if (r.defined()) z = z + f64(r);
  return ops::to_dtype(ops::unary(UnaryOp::GtScalar, ops::unary(UnaryOp::Abs, z), kink), DType::F32);
}

Tensor masked(const Tensor& t, const Tensor& m) { return ops::binary(BinaryOp::Mul, t, m); }

double max_abs(const Tensor& t) {
  return ops::reduce(ReduceOp::Max, ops::unary(UnaryOp::Abs, t), {}, false).item();
}

}  // namespace

TEST(CudaBatchNormAct, ParityWithCpuF32AndBf16) {
  VD_SKIP_WITHOUT_GPU();
  const Shape shapes[] = {{64, 16}, {2, 3, 4, 5, 8}, {3000, 3}, {2, 4, 24, 24, 8}};
  uint64_t seed = 1700;
  for (DType dt : {DType::F32, DType::BF16})
    for (const Shape& s : shapes)
      for (bool with_res : {true, false})
        for (bool affine : {true, false})
          for (bool training : {true, false}) {
            const int64_t C = s.back();
            const bool bf = dt == DType::BF16;
            auto input = [&](const Shape& sh, double scale, double shift) {
              Tensor t = ops::unary(UnaryOp::AddScalar, randn(sh, seed++, scale), shift);
              return bf ? bf16_round(t) : t;
            };
            Tensor x = input(s, 2.0, 0.5), w = input(s, 1.0, 0.0);
            Tensor r = with_res ? input(s, 1.0, 0.0) : Tensor();
            Tensor g = affine ? randn({C}, seed++) : Tensor(), b = affine ? randn({C}, seed++) : Tensor();
            const ActOut c = run_act(Device::cpu(), DType::F32, true, x, r, g, b, w, training);
            const ActOut d = run_act(gpu(), dt, true, x, r, g, b, w, training);
            const std::string what = std::string(bf ? "bf16 " : "f32 ") + shape_str(s) +
                                     (with_res ? " residual" : "") + (affine ? " affine" : "") +
                                     (training ? " training" : " eval");
            const double M = double(x.numel() / C);
            const Tensor keep = away_from_kink(x, r, g, b, training, bf ? 5e-2 : 1e-3);
            if (!bf) {
              // invstd < 1 here (x has std 2, the running variance is 1.7).
              const double amp = affine ? max_abs(g) : 1.0;
              EXPECT_TRUE(close(d.y, c.y, 1e-5, 1e-5 + 4 * 1.2e-7 * max_abs(x) * amp)) << what;
              EXPECT_TRUE(close(masked(d.dx, keep), masked(c.dx, keep), 1e-4, 1e-5)) << what;
              if (with_res) {
                EXPECT_TRUE(close(masked(d.dr, keep), masked(c.dr, keep), 1e-4, 1e-5)) << what;
              }
              if (affine) {
                EXPECT_TRUE(close(d.db, c.db, 1e-5, 1e-6 * M)) << what;
                EXPECT_TRUE(close(d.dg, c.dg, 1e-5, 1e-6 * M)) << what;
              }
            } else {
              EXPECT_TRUE(close(d.y, c.y, 1.6e-2, 2e-3)) << what;
              EXPECT_TRUE(close(masked(d.dx, keep), masked(c.dx, keep), 2e-2, 4e-3)) << what;
              if (with_res) {
                EXPECT_TRUE(close(masked(d.dr, keep), masked(c.dr, keep), 0, 0)) << what;
              }
              if (affine) {
                EXPECT_TRUE(close(d.db, c.db, 2e-2, 1e-3 * M)) << what;
                EXPECT_TRUE(close(d.dg, c.dg, 2e-2, 1e-3 * M)) << what;
              }
            }
            EXPECT_TRUE(close(d.rm, c.rm, 1e-5, 1e-6)) << what;  // f32 statistics of the same values
            EXPECT_TRUE(close(d.rv, c.rv, 1e-4, 1e-6)) << what;
          }
}

TEST(CudaBatchNormAct, RepeatsAndEqualsTheGpuCompositionBitForBit) {
  VD_SKIP_WITHOUT_GPU();
  // The fused kernel rounds where the unfused kernels round and shares their
  // column sums (cuda/batch_norm_common.cuh), so it equals them bit for bit.
  const Shape s{2, 4, 24, 24, 8};
  Tensor x = ops::unary(UnaryOp::AddScalar, randn(s, 1800, 2.0), 0.5), w = randn(s, 1801);
  Tensor r = randn(s, 1802), g = randn({8}, 1803), b = randn({8}, 1804);
  for (DType dt : {DType::F32, DType::BF16})
    for (bool training : {true, false}) {
      const ActOut a = run_act(gpu(), dt, true, x, r, g, b, w, training);
      const ActOut a2 = run_act(gpu(), dt, true, x, r, g, b, w, training);
      const ActOut c = run_act(gpu(), dt, false, x, r, g, b, w, training);
      const std::string what = std::string(dt == DType::BF16 ? "bf16" : "f32") + (training ? " training" : " eval");
      for (const auto& [got, again, comp, name] :
           {std::tuple{a.y, a2.y, c.y, "y"}, std::tuple{a.dx, a2.dx, c.dx, "dx"},
            std::tuple{a.dr, a2.dr, c.dr, "dr"}, std::tuple{a.dg, a2.dg, c.dg, "dgamma"},
            std::tuple{a.db, a2.db, c.db, "dbeta"}, std::tuple{a.rv, a2.rv, c.rv, "running_var"}}) {
        EXPECT_TRUE(same_bits(got, again)) << what << " " << name << ": two runs differ";
        EXPECT_TRUE(same_bits(got, comp)) << what << " " << name << ": fused vs composition";
      }
    }
}
