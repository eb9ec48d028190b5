// CUDA parity of the elementwise, copy/cast, reduction, matrix-product and
// softmax kernels with the CPU reference (core/cpu/), forward and backward,
// over shape sweeps with non-contiguous and broadcast operands, in f32, f64,
// tf32 and bf16. Skipped without a GPU. Suites: CudaOps*, CudaAutograd*.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "core/precision.h"
#include "tests/test_cuda_util.h"

namespace vd {
namespace {

using namespace cudatest;

const UnaryOp kUnary[] = {UnaryOp::Neg,       UnaryOp::Exp,       UnaryOp::Log,        UnaryOp::Sqrt,
                          UnaryOp::Rsqrt,     UnaryOp::Relu,      UnaryOp::Abs,        UnaryOp::Square,
                          UnaryOp::Sign,      UnaryOp::AddScalar, UnaryOp::MulScalar,  UnaryOp::PowScalar,
                          UnaryOp::RsubScalar, UnaryOp::RdivScalar, UnaryOp::GtScalar};
const BinaryOp kBinary[] = {BinaryOp::Add,     BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div,
                            BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Pow, BinaryOp::Gt,
                            BinaryOp::Ge,      BinaryOp::Eq,  BinaryOp::ReluGrad};

bool needs_positive(UnaryOp op) {
  return op == UnaryOp::Log || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::PowScalar;
}

// A [2, 3, 4, 5]-shaped non-contiguous view of a [5, 4, 3, 2, 3] parent:
// permuted, then one slice of the last dim.
Tensor strided_view(const Tensor& parent) { return ops::select(ops::permute(parent, {3, 2, 1, 0, 4}), 4, 1); }

TEST(CudaOps, CopyAndCastsMatchCpuExactly) {
  VD_SKIP_WITHOUT_GPU();
  Tensor x = randn({6, 7, 5}, 1);
  Tensor xg = to_gpu(x);
  // dtype round trips: f32 -> bf16 and f32 -> f64 -> f32 round as the CPU does
  EXPECT_TRUE(same_bits(ops::to_dtype(xg, DType::BF16), ops::to_dtype(x, DType::BF16)));
  EXPECT_TRUE(same_bits(ops::to_dtype(ops::to_dtype(xg, DType::F64), DType::F32), x));
  Tensor x64 = ops::unary(UnaryOp::MulScalar, ops::to_dtype(x, DType::F64), 1.0 / 3.0);
  EXPECT_TRUE(same_bits(ops::to_dtype(to_gpu(x64), DType::BF16), ops::to_dtype(x64, DType::BF16)));
  // strided copies in every direction of a permutation, with a cast
  Tensor p = ops::permute(x, {2, 0, 1});
  Tensor pg = ops::permute(xg, {2, 0, 1});
  EXPECT_TRUE(same_bits(ops::contiguous(pg), ops::contiguous(p)));
  EXPECT_TRUE(same_bits(ops::to_dtype(pg, DType::F64), ops::to_dtype(p, DType::F64)));
  // copy_ into a strided destination with broadcasting
  Tensor dst = Tensor::zeros({5, 6, 7}), dstg = to_gpu(dst);
  Tensor row = randn({7}, 2);
  Tensor dv = ops::narrow(dst, 0, 1, 3), dvg = ops::narrow(dstg, 0, 1, 3);
  ops::copy_(dv, row);
  Tensor rowg = to_gpu(row);
  ops::copy_(dvg, rowg);
  EXPECT_TRUE(same_bits(dstg, dst));
}

TEST(CudaOps, FillEveryDtype) {
  VD_SKIP_WITHOUT_GPU();
  for (DType t : {DType::F32, DType::F64, DType::BF16}) {
    Tensor g = Tensor::full({3, 4}, 1.0 / 3.0, t, gpu());
    Tensor c = ops::to_dtype(Tensor::full({3, 4}, 1.0 / 3.0, DType::F64), t);
    EXPECT_TRUE(same_bits(g, c)) << dtype_name(t);
    Tensor v = ops::narrow(g, 1, 1, 2);
    ops::fill_(v, -2.0);
    EXPECT_EQ(g.to_vector()[1], -2.0);
    EXPECT_EQ(g.to_vector()[0], c.to_vector()[0]);
  }
}

TEST(CudaOps, UnaryParityContiguousAndStrided) {
  VD_SKIP_WITHOUT_GPU();
  Tensor base = randn({5, 4, 3, 2, 3}, 3);
  for (UnaryOp op : kUnary) {
    Tensor x = needs_positive(op) ? ops::unary(UnaryOp::AddScalar, ops::unary(UnaryOp::Abs, base), 0.1) : base;
    const double s = op == UnaryOp::PowScalar ? 1.7 : 0.3;
    for (bool strided : {false, true}) {
      Tensor xc = strided ? strided_view(x) : x;
      Tensor xg = strided ? strided_view(to_gpu(x)) : to_gpu(x);
      ASSERT_EQ(xg.is_contiguous(), !strided);
      // f32: ulp-level differences of expf/logf/powf only
      EXPECT_TRUE(close(ops::unary(op, xg, s), ops::unary(op, xc, s), 1e-5, 1e-6))
          << unary_name(op) << (strided ? " strided" : "");
      // f64
      Tensor x64 = ops::to_dtype(xc, DType::F64);
      EXPECT_TRUE(close(ops::unary(op, ops::to_dtype(xg, DType::F64), s), ops::unary(op, x64, s), 1e-12, 1e-14))
          << unary_name(op) << " f64";
      // bf16: computes in f32 on the rounded input, rounds the result
      Tensor want = bf16_round(ops::unary(op, bf16_round(xc), s));
      EXPECT_TRUE(close(ops::unary(op, ops::to_dtype(xg, DType::BF16), s), want, 8e-3, 1e-6))
          << unary_name(op) << " bf16";
    }
  }
}

TEST(CudaOps, BinaryParityWithBroadcasting) {
  VD_SKIP_WITHOUT_GPU();
  const std::pair<Shape, Shape> shapes[] = {
      {{7}, {7}}, {{4, 1, 5}, {3, 1}}, {{2, 3, 4, 5}, {5}}, {{2, 1, 4, 1}, {1, 3, 1, 6}}, {{}, {3, 2}}};
  int seed = 10;
  for (const auto& sh : shapes) {
    Tensor a = randn(sh.first, seed++), b = randn(sh.second, seed++);
    Tensor ap = ops::unary(UnaryOp::AddScalar, ops::unary(UnaryOp::Abs, a), 0.5);  // Pow base > 0
    for (BinaryOp op : kBinary) {
      Tensor x = op == BinaryOp::Pow ? ap : a;
      Tensor want = ops::binary(op, x, b);
      EXPECT_TRUE(close(ops::binary(op, to_gpu(x), to_gpu(b)), want, 1e-5, 1e-6))
          << binary_name(op) << " " << shape_str(sh.first) << " " << shape_str(sh.second);
      Tensor want64 = ops::binary(op, ops::to_dtype(x, DType::F64), ops::to_dtype(b, DType::F64));
      EXPECT_TRUE(close(ops::binary(op, to_gpu(ops::to_dtype(x, DType::F64)), to_gpu(ops::to_dtype(b, DType::F64))),
                        want64, 1e-12, 1e-14))
          << binary_name(op) << " f64";
      Tensor wantb = bf16_round(ops::binary(op, bf16_round(x), bf16_round(b)));
      EXPECT_TRUE(close(ops::binary(op, ops::to_dtype(to_gpu(x), DType::BF16), ops::to_dtype(to_gpu(b), DType::BF16)),
                        wantb, 8e-3, 1e-6))
          << binary_name(op) << " bf16";
    }
  }
  // a non-contiguous left operand and the in-place form
  Tensor big = randn({6, 5}, 40), col = randn({5, 1}, 41);
  Tensor t = ops::permute(big, {1, 0}), tg = ops::permute(to_gpu(big), {1, 0});
  EXPECT_TRUE(close(ops::binary(BinaryOp::Mul, tg, to_gpu(col)), ops::binary(BinaryOp::Mul, t, col), 1e-6, 0));
  Tensor acc = ops::clone(big), accg = to_gpu(big);
  Tensor r = randn({5}, 42);
  ops::binary_(BinaryOp::Add, acc, r);
  Tensor rg = to_gpu(r);
  ops::binary_(BinaryOp::Add, accg, rg);
  EXPECT_TRUE(same_bits(accg, acc));
}

TEST(CudaOps, ReduceParityOverDimSets) {
  VD_SKIP_WITHOUT_GPU();
  struct Case {
    Shape shape;
    std::vector<int64_t> dims;
  };
  const Case cases[] = {{{3, 50000}, {1}},     {{50000, 3}, {0}},       {{200000}, {}},
                        {{4, 5, 6, 7}, {1, 3}}, {{4, 5, 6, 7}, {0, 2}}, {{8, 16, 33}, {0, 1}},
                        {{2, 3}, {}},           {{5, 1, 4}, {1}},       {{64, 3000}, {0}}};
  int seed = 50;
  for (const Case& c : cases) {
    Tensor x = randn(c.shape, seed++);
    Tensor xg = to_gpu(x);
    // Sums: f32 accumulation in a different order; allow 1e-6 of the summed magnitudes.
    double mean_abs = 0;
    for (double v : x.to_vector()) mean_abs += std::fabs(v) / double(x.numel());
    const int64_t R = x.numel() / ops::reduce(ReduceOp::Sum, x, c.dims, true).numel();
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max}) {
      const double atol = op == ReduceOp::Sum ? 1e-6 * double(R) * mean_abs + 1e-6 : 0;
      EXPECT_TRUE(close(ops::reduce(op, xg, c.dims, true), ops::reduce(op, x, c.dims, true), 1e-5, atol))
          << shape_str(c.shape) << " dims " << shape_str(c.dims) << (op == ReduceOp::Sum ? " sum" : " max");
      Tensor x64 = ops::to_dtype(x, DType::F64);
      EXPECT_TRUE(close(ops::reduce(op, to_gpu(x64), c.dims, false), ops::reduce(op, x64, c.dims, false), 1e-12,
                        1e-12))
          << shape_str(c.shape) << " f64";
      Tensor xb = bf16_round(x);
      Tensor got = ops::reduce(op, ops::to_dtype(to_gpu(xb), DType::BF16), c.dims, true);
      EXPECT_TRUE(close(got, bf16_round(ops::reduce(op, xb, c.dims, true)), 8e-3, atol * 10 + 1e-3))
          << shape_str(c.shape) << " bf16";
    }
  }
  // strided input: sum over a permuted view
  Tensor x = randn({30, 40, 5}, 60);
  Tensor p = ops::permute(x, {2, 0, 1}), pg = ops::permute(to_gpu(x), {2, 0, 1});
  EXPECT_TRUE(close(ops::reduce(ReduceOp::Sum, pg, {1, 2}, false), ops::reduce(ReduceOp::Sum, p, {1, 2}, false),
                    1e-5, 1e-4));
}

TEST(CudaOps, ReduceRepeatsBitForBit) {
  VD_SKIP_WITHOUT_GPU();
  Tensor xg = to_gpu(randn({1000, 777}, 70));
  Tensor a = ops::reduce(ReduceOp::Sum, xg, {0}, false), b = ops::reduce(ReduceOp::Sum, xg, {0}, false);
  Tensor c = ops::reduce(ReduceOp::Sum, xg, {}, false), d = ops::reduce(ReduceOp::Sum, xg, {}, false);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_TRUE(same_bits(c, d));
}

TEST(CudaOps, GemmParityEveryPrecision) {
  VD_SKIP_WITHOUT_GPU();
  struct Case {
    int64_t b, m, k, n;
  };
  const Case cases[] = {{1, 17, 33, 9}, {3, 64, 128, 32}, {2, 5, 300, 7}, {1, 1, 1, 1}};
  int seed = 80;
  for (const Case& c : cases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Tensor a = randn(ta ? Shape{c.b, c.k, c.m} : Shape{c.b, c.m, c.k}, seed++);
        Tensor b = randn(tb ? Shape{c.b, c.n, c.k} : Shape{c.b, c.k, c.n}, seed++);
        Tensor want = ops::matmul(a, b, ta, tb);
        const double sk = std::sqrt(double(c.k));
        std::string what = "b" + std::to_string(c.b) + " m" + std::to_string(c.m) + " k" + std::to_string(c.k) +
                           " n" + std::to_string(c.n) + (ta ? " ta" : "") + (tb ? " tb" : "");
        {
          PrecisionGuard p(Precision::FP32);
          EXPECT_TRUE(close(ops::matmul(to_gpu(a), to_gpu(b), ta, tb), want, 1e-5, 1e-6 * sk)) << what << " fp32";
        }
        {
          PrecisionGuard p(Precision::TF32);
          EXPECT_TRUE(close(ops::matmul(to_gpu(a), to_gpu(b), ta, tb), want, 5e-3, 3e-3 * sk)) << what << " tf32";
        }
        {
          Tensor ab = bf16_round(a), bb = bf16_round(b);
          Tensor wb = ops::matmul(ab, bb, ta, tb);
          Tensor got = ops::matmul(ops::to_dtype(to_gpu(ab), DType::BF16), ops::to_dtype(to_gpu(bb), DType::BF16), ta, tb);
          EXPECT_EQ(got.dtype(), DType::BF16);
          EXPECT_TRUE(close(got, wb, 1e-2, 1e-3 * sk)) << what << " bf16";
        }
        Tensor a64 = ops::to_dtype(a, DType::F64), b64 = ops::to_dtype(b, DType::F64);
        EXPECT_TRUE(close(ops::matmul(to_gpu(a64), to_gpu(b64), ta, tb), ops::matmul(a64, b64, ta, tb), 1e-12,
                          1e-12 * sk))
            << what << " f64";
      }
}

TEST(CudaOps, SoftmaxForwardBackwardParity) {
  VD_SKIP_WITHOUT_GPU();
  const Shape shapes[] = {{4, 10}, {3, 5, 129}, {2, 1000}, {1, 1}};
  int seed = 90;
  for (const Shape& s : shapes)
    for (bool log : {false, true}) {
      Tensor x = randn(s, seed++, 3.0), dy = randn(s, seed++);
      Tensor y = ops::softmax(x, log), yg = ops::softmax(to_gpu(x), log);
      EXPECT_TRUE(close(yg, y, 1e-5, 1e-7)) << shape_str(s) << (log ? " log" : "");
      Tensor dx = ops::softmax_backward(y, dy, log), dxg = ops::softmax_backward(to_gpu(y), to_gpu(dy), log);
      EXPECT_TRUE(close(dxg, dx, 1e-5, 1e-6)) << shape_str(s) << (log ? " log" : "") << " backward";
      Tensor xb = bf16_round(x);
      Tensor yb = ops::softmax(ops::to_dtype(to_gpu(xb), DType::BF16), log);
      EXPECT_TRUE(close(yb, bf16_round(ops::softmax(xb, log)), 8e-3, 1e-6)) << shape_str(s) << " bf16";
    }
  // a row of -inf stays finite where the CPU's does
  Tensor inf = Tensor::full({2, 3}, -INFINITY);
  EXPECT_TRUE(close(ops::softmax(to_gpu(inf), true), ops::softmax(inf, true), 0, 0));
}

// The differentiable functions run their backward on the GPU through the same
// raw ops: gradients of a broadcast expression match the CPU's.
TEST(CudaAutograd, ElementwiseAndReductionGradients) {
  VD_SKIP_WITHOUT_GPU();
  Tensor a = randn({4, 1, 6}, 100), b = randn({3, 1}, 101);
  auto grads = [](Tensor x, Tensor y) {
    x.requires_grad_();
    y.requires_grad_();
    Tensor z = sum(mul(exp(mul(x, 0.5)), y) + square(x - y) / (abs(y) + 1.0), {0, 2});
    sum(mul(z, z)).backward();
    return std::make_pair(x.grad(), y.grad());
  };
  auto cpu = grads(a.detach(), b.detach());
  auto gpu_g = grads(to_gpu(a), to_gpu(b));
  ASSERT_TRUE(gpu_g.first.is_cuda());
  EXPECT_TRUE(close(gpu_g.first, cpu.first, 1e-5, 1e-5));
  EXPECT_TRUE(close(gpu_g.second, cpu.second, 1e-5, 1e-5));
}

}  // namespace
}  // namespace vd
