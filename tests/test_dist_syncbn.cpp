// tests/test_dist_syncbn.cpp: SyncBatchNorm (layers/batchnorm.h set_sync,
// convert_sync_batchnorm) in one process. At world size 1, forced onto the
// sync path, it equals ordinary batch norm (forward, backward, running
// statistics; f32 within 1e-5 of the values' scale) and passes the f64
// finite-difference check; eval is unchanged. On the thread-played fake world (tests/test_dist_fake.h)
// two ranks holding half a batch each equal one process with the whole
// batch: outputs and input gradients row for row, weight/bias gradients
// summed over ranks, running statistics on every rank (f64 within 1e-12,
// f32 within 1e-5, relative to the values' scale; measured 5e-15 and 3e-6;
// docs/DISTRIBUTED_GRADIENTS.md says why). The Open MPI twin
// is tests/mpi/test_mpi_dist_grad.cpp.
#include <gtest/gtest.h>

#include "tests/test_dist_fake.h"
#include "tests/test_dist_global_batch.h"
#include "tests/test_dist_grad_util.h"
#include "tests/test_dist_syncbn_util.h"
#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

TEST(DistSyncBn, WorldOneSyncPathEqualsOrdinaryBatchNorm) {
  for (bool video : {true, false}) {
    const Shape shape = video ? Shape{3, 2, 3, 2, 4} : Shape{6, 4};
    Tensor x = rank_randn(shape, 31, 0, DType::F32), wt = rank_randn(shape, 32, 0, DType::F32);
    x = ops::unary(UnaryOp::AddScalar, x, 0.7);  // a mean away from 0
    auto plain = make_bn(video, 4, DType::F32), synced = make_bn(video, 4, DType::F32);
    synced->set_sync(dist::single_process(), /*at_world_1=*/true);
    ASSERT_TRUE(synced->syncs());
    BnResult a = run_bn(*plain, x, wt), b = run_bn(*synced, x, wt);
    EXPECT_LT(scaled_diff(a.y, b.y), 1e-5);
    EXPECT_LT(scaled_diff(a.dx, b.dx), 1e-5);
    EXPECT_LT(scaled_diff(a.dgamma, b.dgamma), 1e-5);
    EXPECT_LT(scaled_diff(a.dbeta, b.dbeta), 1e-5);
    EXPECT_LT(scaled_diff(a.running_mean, b.running_mean), 1e-6);
    EXPECT_LT(scaled_diff(a.running_var, b.running_var), 1e-6);
    EXPECT_EQ(synced->num_batches_tracked.item(), 1.0);
  }
}

TEST(DistSyncBn, WorldOneSyncPathPassesGradcheck) {
  for (bool video : {true, false}) {
    auto bn = make_bn(video, 3, DType::F64);
    bn->set_sync(dist::single_process(), true);
    const Shape shape = video ? Shape{2, 2, 2, 3, 3} : Shape{5, 3};
    Tensor x = leaf(shape, 33);
    {  // non-trivial affine parameters
      autograd::NoGradGuard g;
      ops::copy_(bn->weight, rank_randn({3}, 34, 0));
      ops::copy_(bn->bias, rank_randn({3}, 35, 0));
    }
    EXPECT_TRUE(gradcheck_ok([&](const std::vector<Tensor>& v) { return bn->forward(v[0]); },
                             {x, bn->weight, bn->bias}));
  }
}

TEST(DistSyncBn, EvalModeIsUnchangedAndAWorldOfOneDoesNotSyncUnlessForced) {
  auto plain = make_bn(true, 4, DType::F32), synced = make_bn(true, 4, DType::F32);
  synced->set_sync(dist::single_process());
  EXPECT_FALSE(synced->syncs());  // world 1: the ordinary (fused) path
  synced->set_sync(dist::single_process(), true);
  {
    autograd::NoGradGuard g;
    for (auto* bn : {plain.get(), synced.get()}) {
      ops::copy_(bn->running_mean, rank_randn({4}, 36, 0, DType::F32));
      ops::copy_(bn->running_var, ops::unary(UnaryOp::AddScalar, square(rank_randn({4}, 37, 0, DType::F32)), 0.5));
    }
  }
  plain->eval();
  synced->eval();
  Tensor x = rank_randn({2, 2, 2, 2, 4}, 38, 0, DType::F32);
  EXPECT_EQ(plain->forward(x).to_vector(), synced->forward(x).to_vector());
}

TEST(DistSyncBn, ConvertSwitchesEveryBatchNormOfAModel) {
  Generator gen(1);
  auto inner = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::BatchNorm3d>(4), std::make_shared<nn::ReLU>()});
  nn::Sequential model{std::make_shared<nn::Linear>(4, 4, &gen), std::make_shared<nn::BatchNorm1d>(4), inner};
  auto comm = dist::single_process();
  EXPECT_EQ(nn::convert_sync_batchnorm(model, comm), 2);
  auto* bn3 = dynamic_cast<nn::BatchNormBase*>(inner->child("0").get());
  ASSERT_NE(bn3, nullptr);
  EXPECT_EQ(bn3->sync_communicator(), comm);
  EXPECT_NE(bn3->extra_repr().find("sync=none world 1"), std::string::npos) << bn3->extra_repr();
  EXPECT_EQ(nn::convert_sync_batchnorm(model, nullptr), 2);
  EXPECT_EQ(bn3->sync_communicator(), nullptr);
  EXPECT_EQ(bn3->extra_repr().find("sync"), std::string::npos);
}

TEST(DistSyncBn, TwoRanksWithHalfABatchEqualOneProcessWithTheWholeBatch) {
  for (DType dtype : {DType::F64, DType::F32})
    for (bool video : {true, false}) {
      const double tol = dtype == DType::F64 ? 1e-12 : 1e-5;  // measured: 5e-15, 3e-6
      const Shape whole = video ? Shape{4, 2, 3, 2, 3} : Shape{8, 3};
      Tensor x = ops::unary(UnaryOp::AddScalar, rank_randn(whole, 41, 0, dtype), -1.5);
      Tensor wt = rank_randn(whole, 42, 0, dtype);
      auto ref_bn = make_bn(video, 3, dtype);
      BnResult ref = run_bn(*ref_bn, x, wt, /*steps=*/2);
      FakeWorld world(2);
      world.run([&](dist::Communicator& comm, int r) {
        auto bn = make_bn(video, 3, dtype);
        bn->set_sync(borrow(comm));
        const int64_t half = whole[0] / 2;
        BnResult got = run_bn(*bn, rows(x, r * half, half), rows(wt, r * half, half), 2);
        expect_matches_whole_batch(comm, got, ref, r * half, half, tol);
      });
    }
}

TEST(DistSyncBn, GatheredLossWithSyncBnAndBucketsIsTheOneProcessStep) {
  for (int W : {2, 3})
    for (bool with_bn : {true, false})
      for (DType dtype : {DType::F64, DType::F32}) {
        FakeWorld world(W);
        world.run([&](dist::Communicator& comm, int) {
          check_global_batch_step(comm, with_bn, dtype, 64, dtype == DType::F64 ? 1e-12 : 2e-5);
        });
      }
}
