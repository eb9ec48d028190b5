// tests/mpi/test_mpi_collectives.cpp: the mpi communicator's collectives
// against hand-computed values, on whatever world mpirun started (the main
// suite runs them on 2 and 3 ranks: DistMpirun.*), and its refusals (a CUDA
// tensor, bf16, a non-contiguous tensor, a world that disagrees with the
// launcher's variables). Rank r contributes values made from r, so each
// expected result is a closed form in the world size W.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/ops.h"
#include "core/tensor.h"
#include "tests/mpi/mpi_util.h"

using vd::DType;
using vd::Tensor;
using vd::dist::Reduce;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector(); }

}  // namespace

TEST(MpiCollectives, WorldAgreesWithTheLauncher) {
  const vd::dist::LaunchInfo launch = vd::dist::launch_from_environment();
  auto& c = mpitest::world();
  EXPECT_EQ(c->backend(), "mpi");
  EXPECT_EQ(c->rank(), launch.rank);
  EXPECT_EQ(c->world_size(), launch.world_size);
  EXPECT_EQ(c->local_rank(), launch.local_rank);
  EXPECT_EQ(c->device(), vd::Device::cpu());
}

TEST(MpiCollectives, AllReduceSumAndAverage) {
  auto& c = mpitest::world();
  const int r = c->rank(), W = c->world_size();
  Tensor s = Tensor::from_vector(std::vector<float>{float(r + 1), 10.f * (r + 1), -float(r)}, {3});
  c->all_reduce(s, Reduce::Sum);
  const double tri = W * (W + 1) / 2.0;
  EXPECT_EQ(values(s), (std::vector<double>{tri, 10 * tri, -(W * (W - 1) / 2.0)}));

  Tensor a = Tensor::from_vector(std::vector<float>{float(2 * r), 3.f}, {2, 1});
  c->all_reduce(a, Reduce::Average);
  EXPECT_EQ(values(a), (std::vector<double>{double(W - 1), 3.0}));
  EXPECT_EQ(a.shape(), (vd::Shape{2, 1}));
}

TEST(MpiCollectives, AsyncAllReducesInFlightTogether) {
  auto& c = mpitest::world();
  const int r = c->rank(), W = c->world_size();
  Tensor x = Tensor::full({1000}, r + 1.0);
  Tensor y = Tensor::full({7}, 4.0 * r);
  auto wx = c->all_reduce_async(x, Reduce::Sum);
  auto wy = c->all_reduce_async(y, Reduce::Average);
  wy->wait();  // waited in the other order than started
  wx->wait();
  wx->wait();  // a second wait is harmless
  const std::vector<double> vx = values(x), vy = values(y);
  EXPECT_EQ(vx.front(), W * (W + 1) / 2.0);
  EXPECT_EQ(vx.back(), W * (W + 1) / 2.0);
  EXPECT_EQ(vy, std::vector<double>(7, 2.0 * (W - 1)));
}

TEST(MpiCollectives, AsyncWorkCompletesWhenDroppedUnwaited) {
  auto& c = mpitest::world();
  Tensor x = Tensor::ones({5});
  { auto w = c->all_reduce_async(x, Reduce::Sum); }
  EXPECT_EQ(values(x), std::vector<double>(5, c->world_size()));
}

TEST(MpiCollectives, AllGatherPutsRankRowsInOrder) {
  auto& c = mpitest::world();
  const int r = c->rank(), W = c->world_size();
  const int n = 2, d = 3;
  std::vector<float> mine;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) mine.push_back(float(100 * r + 10 * i + j));
  const Tensor g = c->all_gather(Tensor::from_vector(mine, {n, d}));
  std::vector<double> want;
  for (int q = 0; q < W; ++q)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < d; ++j) want.push_back(100 * q + 10 * i + j);
  EXPECT_EQ(g.shape(), (vd::Shape{W * n, d}));
  EXPECT_EQ(values(g), want);
}

TEST(MpiCollectives, AllGatherOfANonContiguousView) {
  auto& c = mpitest::world();
  const int r = c->rank(), W = c->world_size();
  // [2, 3] transposed to [3, 2]: rows (r, r+10), (r+1, r+11), (r+2, r+12).
  Tensor base = Tensor::from_vector(std::vector<float>{float(r), float(r + 1), float(r + 2), float(r + 10),
                                                       float(r + 11), float(r + 12)},
                                    {2, 3});
  const Tensor g = c->all_gather(vd::ops::permute(base, {1, 0}));
  std::vector<double> want;
  for (int q = 0; q < W; ++q)
    for (int i = 0; i < 3; ++i) {
      want.push_back(q + i);
      want.push_back(q + i + 10);
    }
  EXPECT_EQ(g.shape(), (vd::Shape{3 * W, 2}));
  EXPECT_EQ(values(g), want);
}

TEST(MpiCollectives, BroadcastFromRootZeroAndTheLastRank) {
  auto& c = mpitest::world();
  const int r = c->rank(), W = c->world_size();
  Tensor t = Tensor::full({4}, 7.0 + r);
  c->broadcast(t, 0);
  EXPECT_EQ(values(t), std::vector<double>(4, 7.0));
  Tensor u = Tensor::from_vector(std::vector<double>{double(r), -double(r)}, {2});
  c->broadcast(u, W - 1);
  EXPECT_EQ(values(u), (std::vector<double>{double(W - 1), -double(W - 1)}));
}

TEST(MpiCollectives, BarrierWaitsForTheLastRankToArrive) {
  auto& c = mpitest::world();
  const auto start = std::chrono::steady_clock::now();
  if (c->rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  c->barrier();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(waited, 0.25) << "rank " << c->rank() << " left the barrier before rank 0 reached it";
}

TEST(MpiCollectives, BroadcastTextOfAnyLength) {
  auto& c = mpitest::world();
  const int r = c->rank(), W = c->world_size();
  std::string text = r == 0 ? "runs/pretrain-1/checkpoint.vdc \xc3\xa4" : "something else, longer than rank 0's text";
  c->broadcast_text(text, 0);
  EXPECT_EQ(text, "runs/pretrain-1/checkpoint.vdc \xc3\xa4");
  std::string last = r == W - 1 ? std::string(100000, 'x') : "";
  c->broadcast_text(last, W - 1);
  EXPECT_EQ(last, std::string(100000, 'x'));
  std::string empty = r == 0 ? "" : "not empty";
  c->broadcast_text(empty, 0);
  EXPECT_EQ(empty, "");
}

TEST(MpiCollectives, AllReduceHostSumAndAverage) {
  auto& c = mpitest::world();
  const int r = c->rank(), W = c->world_size();
  std::vector<double> v{double(r), 1.5, r == 0 ? 1e300 : 0.0};
  c->all_reduce_host(v, Reduce::Sum);
  EXPECT_EQ(v, (std::vector<double>{W * (W - 1) / 2.0, 1.5 * W, 1e300}));
  std::vector<double> a{double(r)};
  c->all_reduce_host(a, Reduce::Average);
  EXPECT_EQ(a, (std::vector<double>{(W - 1) / 2.0}));
  std::vector<double> none;
  c->all_reduce_host(none, Reduce::Sum);
  EXPECT_TRUE(none.empty());
}

TEST(MpiCollectives, F64KeepsDoublePrecision) {
  auto& c = mpitest::world();
  const int r = c->rank(), W = c->world_size();
  // 1 + 1e-12 (r + 1) is not representable in f32: a float path would lose it.
  Tensor t = Tensor::from_vector(std::vector<double>{1.0 + 1e-12 * (r + 1)}, {1});
  c->all_reduce(t, Reduce::Sum);
  double want = 0;
  for (int q = 0; q < W; ++q) want += 1.0 + 1e-12 * (q + 1);
  EXPECT_NEAR(t.item(), want, 1e-15 * W);
  EXPECT_EQ(t.dtype(), DType::F64);
  const Tensor g = c->all_gather(Tensor::from_vector(std::vector<double>{r + 1e-13}, {1, 1}));
  EXPECT_EQ(g.dtype(), DType::F64);
  EXPECT_EQ(g.to_vector().back(), (W - 1) + 1e-13);
}

TEST(MpiCollectives, WaitSecondsGrowWhenARankIsLate) {
  auto& c = mpitest::world();
  const double before = c->wait_seconds();
  if (c->rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  c->barrier();
  if (c->rank() != 0) {
    EXPECT_GE(c->wait_seconds() - before, 0.15);
  }
  EXPECT_GE(c->wait_seconds(), before);
}

// --- refusals (thrown before any MPI call, the same on every rank) -----------

// A tensor that claims to live on cuda:0 without memory (a zero-byte storage
// is never freed), for the refusal on a machine without a GPU.
Tensor fake_cuda_tensor() {
  auto impl = std::make_shared<vd::TensorImpl>();
  impl->storage = std::make_shared<vd::Storage>(0, vd::Device::cuda(0));
  impl->shape = {4};
  impl->strides = {1};
  return Tensor(impl);
}

TEST(MpiRefusals, CudaTensorWithAHintToUseNccl) {
  auto& c = mpitest::world();
  Tensor t = fake_cuda_tensor();
  try {
    c->all_reduce(t);
    ADD_FAILURE() << "a CUDA tensor was accepted";
  } catch (const vd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dist_backend = nccl"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(c->all_gather(t), vd::Error);
  EXPECT_THROW(c->broadcast(t, 0), vd::Error);
  EXPECT_THROW(c->all_reduce_async(t), vd::Error);
}

TEST(MpiRefusals, Bf16AndNonContiguousInPlace) {
  auto& c = mpitest::world();
  Tensor b = vd::ops::to_dtype(Tensor::ones({3}), DType::BF16);
  EXPECT_THROW(c->all_reduce(b), vd::Error);
  Tensor nc = vd::ops::permute(Tensor::ones({2, 3}), {1, 0});
  EXPECT_THROW(c->all_reduce(nc), vd::Error);
  Tensor ok = Tensor::ones({2});
  EXPECT_THROW(c->broadcast(ok, c->world_size()), vd::Error);
  EXPECT_THROW(c->broadcast(ok, -1), vd::Error);
}

TEST(MpiRefusals, WorldThatDisagreesWithTheLauncherNamesBoth) {
  vd::dist::LaunchInfo wrong = vd::dist::launch_from_environment();
  wrong.world_size += 1;
  if (wrong.launcher == "none") wrong.launcher = "mpirun";  // a singleton run: pretend, to reach MPI's check
  try {
    vd::dist::make_communicator(vd::dist::Backend::Mpi, wrong, vd::Device::cpu(), 10);
    ADD_FAILURE() << "a world of " << wrong.world_size << " was accepted";
  } catch (const vd::UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("MPI says rank " + std::to_string(mpitest::rank()) + " of " +
                     std::to_string(mpitest::world_size())),
              std::string::npos)
        << m;
    EXPECT_NE(m.find(wrong.str()), std::string::npos) << m;
  }
}
