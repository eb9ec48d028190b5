// tests/test_dist_syncbn_util.h: the SyncBatchNorm equivalence check shared
// by tests/test_dist_syncbn.cpp (fake world) and
// tests/mpi/test_mpi_dist_grad.cpp (Open MPI): a BatchNorm layer run for a
// few training steps on a sum-decomposed loss, and the comparison of one
// rank's part with a single process holding the whole batch. Test support only.
//
// What is compared, and why. The loss is L = sum over rows of
// (y * wt + y^2 / 2), split by rows: rank r's loss L_r is the sum over its
// rows, so L = sum_r L_r. The tape on rank r then gives (dist/functions.h)
//   dx_r     = dL/dx restricted to r's rows       (compared row for row),
//   dgamma_r = dL_r/dgamma, sum_r dgamma_r = dL/dgamma  (compared summed),
// and the same for beta. (A trainer's loss is the mean over the local batch,
// L_r = W * share; the buckets' average of dgamma_r then equals the one-
// process dL/dgamma, as for every parameter.) Outputs are compared row for
// row; running statistics on every rank, after each step's update.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "autograd/functions.h"
#include "core/ops.h"
#include "dist/communicator.h"
#include "layers/layers.h"
#include "tests/test_nn_util.h"

namespace vd::testing {

inline std::shared_ptr<nn::BatchNormBase> make_bn(bool video, int64_t C, DType dtype) {
  std::shared_ptr<nn::BatchNormBase> bn;
  if (video)
    bn = std::make_shared<nn::BatchNorm3d>(C);
  else
    bn = std::make_shared<nn::BatchNorm1d>(C);
  bn->to(dtype);
  autograd::NoGradGuard g;  // affine parameters away from (1, 0)
  ops::copy_(bn->weight, ops::to_dtype(Tensor::from_vector(std::vector<double>{1.5, 0.5, -1.0, 2.0, 0.8}, {5}).narrow(0, 0, C), dtype));
  ops::copy_(bn->bias, ops::to_dtype(Tensor::from_vector(std::vector<double>{0.1, -0.2, 0.3, 0.0, 0.5}, {5}).narrow(0, 0, C), dtype));
  return bn;
}

// max |a - b| / max(1, max |b|): an error relative to the values' scale
// (gradients summed over many rows are larger than 1).
inline double scaled_diff(const Tensor& a, const Tensor& b) {
  double scale = 1;
  for (double v : b.to_vector()) scale = std::max(scale, std::abs(v));
  return max_abs_diff(a, b) / scale;
}

// Rows [start, start + n) of t as a fresh contiguous tensor (a leaf).
inline Tensor rows(const Tensor& t, int64_t start, int64_t n) {
  return ops::clone(ops::narrow(t, 0, start, n));
}

struct BnResult {
  Tensor y, dx, dgamma, dbeta, running_mean, running_var;  // after the last step
};

// `steps` training forwards/backwards of L = sum(y * wt + y^2 / 2) on x
// (the same x each step; running statistics move each time).
inline BnResult run_bn(nn::BatchNormBase& bn, const Tensor& x, const Tensor& wt, int steps = 1) {
  bn.train();
  BnResult res;
  for (int s = 0; s < steps; ++s) {
    Tensor xi = ops::clone(x);
    xi.requires_grad_(true);
    bn.zero_grad();
    Tensor y = bn.forward(xi);
    (y * wt + square(y) * 0.5).sum().backward();
    res.y = y.detach();
    res.dx = xi.grad();
  }
  res.dgamma = bn.weight.grad();
  res.dbeta = bn.bias.grad();
  res.running_mean = ops::clone(bn.running_mean);
  res.running_var = ops::clone(bn.running_var);
  return res;
}

// Rank r's result `got` (rows [start, start + n) of the whole batch)
// against the one-process `ref`, as the header says.
inline void expect_matches_whole_batch(dist::Communicator& comm, const BnResult& got, const BnResult& ref,
                                       int64_t start, int64_t n, double tol) {
  const int r = comm.rank();
  EXPECT_LT(scaled_diff(got.y, rows(ref.y, start, n)), tol) << "y, rank " << r;
  EXPECT_LT(scaled_diff(got.dx, rows(ref.dx, start, n)), tol) << "dx, rank " << r;
  Tensor dg = ops::clone(got.dgamma), db = ops::clone(got.dbeta);
  comm.all_reduce(dg, dist::Reduce::Sum);
  comm.all_reduce(db, dist::Reduce::Sum);
  EXPECT_LT(scaled_diff(dg, ref.dgamma), tol) << "sum of dgamma, rank " << r;
  EXPECT_LT(scaled_diff(db, ref.dbeta), tol) << "sum of dbeta, rank " << r;
  EXPECT_LT(scaled_diff(got.running_mean, ref.running_mean), tol) << "running_mean, rank " << r;
  EXPECT_LT(scaled_diff(got.running_var, ref.running_var), tol) << "running_var, rank " << r;
  // Running statistics identical on every rank, bit for bit.
  Tensor mine = ops::concat({got.running_mean, got.running_var}, 0);
  Tensor all = comm.all_gather(mine);
  const int64_t k = mine.numel();
  for (int s = 0; s < comm.world_size(); ++s)
    EXPECT_EQ(ops::narrow(all, 0, s * k, k).to_vector(), mine.to_vector()) << "rank " << s << " vs " << r;
}

}  // namespace vd::testing
