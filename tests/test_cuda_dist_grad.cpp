// tests/test_cuda_dist_grad.cpp: the GPU side of SyncBatchNorm's composed
// path and of GradBuckets' flat buffers, at world size 1 (one process, one
// GPU; the path forced with set_sync(..., at_world_1 = true)): f32 on the GPU
// against the CPU's ordinary batch norm, and bf16 input (statistics widened
// to f32, output narrowed back). Skipped without a GPU. Not NCCL itself
// (the dist-comm tests) and not N > 1 (tests/mpi/).
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "dist/grad_buckets.h"
#include "layers/layers.h"
#include "tests/test_cuda_util.h"

using namespace vd;
using namespace vd::cudatest;

namespace {
struct Out {
  Tensor y, dx, dgamma, dbeta, rm, rv;
};

Out run(bool gpu_sync, const Tensor& x_cpu, const Tensor& dy_cpu, DType xdtype) {
  nn::BatchNorm3d bn(8);
  const Device d = gpu_sync ? gpu() : Device::cpu();
  bn.to(d);
  if (gpu_sync) bn.set_sync(dist::single_process(), /*at_world_1=*/true);
  Tensor x = ops::to_device(x_cpu, d);
  if (xdtype != DType::F32) x = ops::to_dtype(x, xdtype);
  x.requires_grad_(true);
  Tensor y = bn.forward(x);
  Tensor dy = ops::to_device(dy_cpu, d);
  if (xdtype != DType::F32) dy = ops::to_dtype(dy, xdtype);
  y.backward(dy);
  auto host = [](const Tensor& t) { return to_cpu(ops::to_dtype(t, DType::F32)); };
  return {host(y), host(x.grad()), host(bn.weight.grad()), host(bn.bias.grad()), host(bn.running_mean),
          host(bn.running_var)};
}
}  // namespace

TEST(CudaDistGrad, SyncBatchNormPathOnTheGpuEqualsOrdinaryBatchNorm) {
  VD_SKIP_WITHOUT_GPU();
  Tensor x = ops::unary(UnaryOp::AddScalar, randn({4, 2, 3, 3, 8}, 1100), 0.5), dy = randn(x.shape(), 1101);
  Out c = run(false, x, dy, DType::F32), g = run(true, x, dy, DType::F32);
  const double M = double(x.numel() / 8);
  EXPECT_TRUE(close(g.y, c.y, 1e-5, 1e-5));
  EXPECT_TRUE(close(g.dx, c.dx, 1e-4, 1e-5));
  EXPECT_TRUE(close(g.dgamma, c.dgamma, 1e-5, 1e-6 * M));
  EXPECT_TRUE(close(g.dbeta, c.dbeta, 1e-5, 1e-6 * M));
  EXPECT_TRUE(close(g.rm, c.rm, 1e-6, 1e-6));
  EXPECT_TRUE(close(g.rv, c.rv, 1e-6, 1e-6));
}

TEST(CudaDistGrad, SyncBatchNormPathTakesBf16Input) {
  VD_SKIP_WITHOUT_GPU();
  Tensor x = bf16_round(ops::unary(UnaryOp::AddScalar, randn({4, 2, 3, 3, 8}, 1102, 2.0), 1.0));
  Tensor dy = bf16_round(randn(x.shape(), 1103));
  Out c = run(false, x, dy, DType::F32), g = run(true, x, dy, DType::BF16);
  EXPECT_TRUE(close(g.y, bf16_round(c.y), 8e-3, 1e-3));
  EXPECT_TRUE(close(g.dx, bf16_round(c.dx), 1e-2, 2e-3));
  EXPECT_TRUE(close(g.rm, c.rm, 1e-5, 1e-6));  // f32 statistics of the same values
  EXPECT_TRUE(close(g.rv, c.rv, 1e-5, 1e-5));
}
