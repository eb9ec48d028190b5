// tests/test_dist_global_batch.h: the whole chain of data-parallel semantics
// in one check, shared by the fake-world suite (tests/test_dist_syncbn.cpp)
// and the Open MPI suite (tests/mpi/test_mpi_dist_grad.cpp). A small model
// (Linear -> BatchNorm1d -> ReLU -> Linear, or without the norm) embeds each
// rank's 2 rows of a global batch of 2W rows; every rank computes the same
// VICReg-style loss (variance hinge + covariance penalty) of the gathered
// embeddings (dist::all_gather); GradBuckets averages the gradients. The
// reference is one process with the whole batch and ordinary batch norm,
// computed on every rank (the data are seeded, so each rank knows all of
// it). Compared: the loss, every parameter's gradient (after averaging) and
// the running statistics. Test support only; collective.
#pragma once
#include <gtest/gtest.h>

#include <memory>

#include "dist/functions.h"
#include "dist/grad_buckets.h"
#include "layers/layers.h"
#include "tests/test_dist_grad_util.h"
#include "tests/test_dist_syncbn_util.h"

namespace vd::testing {

inline std::shared_ptr<nn::Sequential> embedder(bool with_bn, DType dtype) {
  Generator gen(77);
  auto m = std::make_shared<nn::Sequential>();
  m->register_module("0", std::make_shared<nn::Linear>(5, 4, &gen));
  if (with_bn) m->register_module("1", std::make_shared<nn::BatchNorm1d>(4));
  m->register_module("2", std::make_shared<nn::ReLU>());
  m->register_module("3", std::make_shared<nn::Linear>(4, 3, &gen));
  m->to(dtype);
  return m;
}

// z: [B, D] -> VICReg's variance and covariance terms over the B rows.
inline Tensor vicreg_like(const Tensor& z) {
  const double B = double(z.size(0)), D = double(z.size(1));
  Tensor std_ = sqrt(var(z, {0}) + 1e-4);
  Tensor c = z - mean(z, {0}, true);
  Tensor cov = matmul(transpose(c, 0, 1), c) / (B - 1);
  return mean(relu(rsub(1.0, std_))) * 25.0 + square(cov).sum() / D;
}

// tol: relative to each compared tensor's scale (scaled_diff).
inline void check_global_batch_step(dist::Communicator& comm, bool with_bn, DType dtype, size_t bucket_bytes,
                                    double tol) {
  const int W = comm.world_size(), r = comm.rank();
  const int64_t n = 2;
  Tensor x_all = ops::unary(UnaryOp::AddScalar, rank_randn({n * W, 5}, 51, 0, dtype), 0.3);

  auto ref = embedder(with_bn, dtype);
  Tensor ref_loss = vicreg_like(ref->forward(x_all));
  ref_loss.backward();

  auto model = embedder(with_bn, dtype);
  if (with_bn) {
    EXPECT_EQ(nn::convert_sync_batchnorm(*model, borrow(comm), /*at_world_1=*/true), 1);
  }
  dist::GradBuckets buckets(borrow(comm), model->named_parameters(), bucket_bytes);
  Tensor z = dist::all_gather(comm, model->forward(rows(x_all, r * n, n)));  // [n W, 3]
  Tensor loss = vicreg_like(z);
  buckets.backward(loss);

  EXPECT_LT(std::abs(loss.item() - ref_loss.item()), tol * std::max(1.0, std::abs(ref_loss.item())))
      << "loss " << loss.item() << " vs " << ref_loss.item();
  const auto got = model->named_parameters(), want = ref->named_parameters();
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_LT(scaled_diff(got[i].second.grad(), want[i].second.grad()), tol) << got[i].first << " rank " << r;
  const auto gb = model->named_buffers(), wb = ref->named_buffers();
  for (size_t i = 0; i < gb.size(); ++i)
    EXPECT_LT(scaled_diff(gb[i].second, wb[i].second), tol) << gb[i].first << " rank " << r;
}

}  // namespace vd::testing
