// tests/test_cuda_dist.cpp: the NCCL communicator at world size 1 on one GPU
// (dist/nccl.cpp): all_reduce (sync and async), all_gather, broadcast in f32
// and bf16, the host collectives, the refusal of a CPU tensor, and the
// ordering with the compute stream (a collective reads what the compute
// stream just wrote, and the compute stream reads what NCCL just wrote,
// without a host synchronisation). Skipped without a GPU or without NCCL in
// the build. Several GPUs under mpirun: tests/mpi/test_mpi_nccl.cpp.
#include <gtest/gtest.h>

#include "dist/communicator.h"
#include "tests/test_cuda_util.h"

using vd::DType;
using vd::Tensor;
using namespace vd::dist;
using vd::cudatest::gpu;

#define VD_SKIP_WITHOUT_NCCL()                                                           \
  do {                                                                                   \
    VD_SKIP_WITHOUT_GPU();                                                               \
    if (!built_with_nccl()) GTEST_SKIP() << "built without NCCL: NCCL tests skipped";    \
  } while (0)

namespace {
std::shared_ptr<Communicator> nccl() { return make_communicator(Backend::Nccl, LaunchInfo{}, gpu(), 60); }
}  // namespace

TEST(DistNccl, WorldOfOneOnTheLocalRanksGpu) {
  VD_SKIP_WITHOUT_NCCL();
  auto c = nccl();
  EXPECT_EQ(c->backend(), "nccl");
  EXPECT_EQ(c->world_size(), 1);
  EXPECT_EQ(c->device(), gpu());
}

TEST(DistNccl, AllReduceSyncAndAsyncF32AndBf16) {
  VD_SKIP_WITHOUT_NCCL();
  auto c = nccl();
  const Tensor host = vd::cudatest::randn({1000}, 3);
  Tensor a = vd::cudatest::to_gpu(host);
  c->all_reduce(a, Reduce::Sum);
  EXPECT_TRUE(vd::cudatest::same_bits(a, host));
  Tensor b = vd::cudatest::to_gpu(host);
  auto w = c->all_reduce_async(b, Reduce::Average);
  w->wait();
  EXPECT_TRUE(vd::cudatest::same_bits(b, host));
  Tensor h = vd::ops::to_dtype(vd::cudatest::to_gpu(host), DType::BF16);
  c->all_reduce(h, Reduce::Average);
  EXPECT_EQ(h.dtype(), DType::BF16);
  EXPECT_TRUE(vd::cudatest::same_bits(vd::ops::to_dtype(h, DType::F32), vd::cudatest::bf16_round(host)));
}

TEST(DistNccl, AllGatherAndBroadcast) {
  VD_SKIP_WITHOUT_NCCL();
  auto c = nccl();
  const Tensor host = vd::cudatest::randn({4, 5}, 4);
  const Tensor g = c->all_gather(vd::cudatest::to_gpu(host));
  EXPECT_EQ(g.shape(), host.shape());
  EXPECT_TRUE(g.is_cuda());
  EXPECT_TRUE(vd::cudatest::same_bits(g, host));
  const Tensor gb = c->all_gather(vd::ops::to_dtype(vd::cudatest::to_gpu(host), DType::BF16));
  EXPECT_TRUE(vd::cudatest::same_bits(vd::ops::to_dtype(gb, DType::F32), vd::cudatest::bf16_round(host)));
  Tensor t = vd::cudatest::to_gpu(host);
  c->broadcast(t, 0);
  EXPECT_TRUE(vd::cudatest::same_bits(t, host));
}

// 64 Mi floats (256 MB) make each copy long enough that a missing event
// would let the reader overtake the writer.
TEST(DistNccl, OrderedWithTheComputeStreamByEvents) {
  VD_SKIP_WITHOUT_NCCL();
  auto c = nccl();
  const int64_t n = int64_t(1) << 26;
  const Tensor ones = Tensor::ones({n}, DType::F32, gpu());
  for (int round = 0; round < 3; ++round) {
    const Tensor x = vd::ops::unary(vd::UnaryOp::MulScalar, ones, 3.0 + round);  // written on the compute stream
    const Tensor g = c->all_gather(x);                                           // read by NCCL
    const Tensor s = vd::ops::reduce(vd::ReduceOp::Sum, g, {}, false);          // read on the compute stream
    EXPECT_DOUBLE_EQ(s.item(), double(n) * (3.0 + round)) << "round " << round;
    Tensor y = vd::ops::unary(vd::UnaryOp::MulScalar, ones, 2.0);
    auto w = c->all_reduce_async(y, Reduce::Sum);
    w->wait();
    const Tensor m = vd::ops::reduce(vd::ReduceOp::Max, y, {}, false);
    EXPECT_EQ(m.item(), 2.0);
  }
}

TEST(DistNccl, HostCollectives) {
  VD_SKIP_WITHOUT_NCCL();
  auto c = nccl();
  c->barrier();
  std::string text = "runs/x/checkpoint.vdc";
  c->broadcast_text(text, 0);
  EXPECT_EQ(text, "runs/x/checkpoint.vdc");
  std::string empty;
  c->broadcast_text(empty, 0);
  EXPECT_EQ(empty, "");
  std::vector<double> v{1.5, -2, 1e300};
  c->all_reduce_host(v, Reduce::Sum);
  EXPECT_EQ(v, (std::vector<double>{1.5, -2, 1e300}));
  c->all_reduce_host(v, Reduce::Average);
  EXPECT_EQ(v, (std::vector<double>{1.5, -2, 1e300}));
  std::vector<double> none;
  c->all_reduce_host(none);
}

TEST(DistNccl, RefusesACpuTensorAndAnotherDevice) {
  VD_SKIP_WITHOUT_NCCL();
  auto c = nccl();
  Tensor cpu = Tensor::ones({3});
  try {
    c->all_reduce(cpu);
    ADD_FAILURE() << "a CPU tensor was accepted";
  } catch (const vd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dist_backend = mpi"), std::string::npos) << e.what();
  }
  EXPECT_THROW(c->all_gather(cpu), vd::Error);
  LaunchInfo other;
  other.local_rank = 1;
  EXPECT_THROW(make_communicator(Backend::Nccl, other, gpu(), 60), vd::UsageError);
}
