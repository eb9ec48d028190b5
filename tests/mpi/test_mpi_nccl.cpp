// tests/mpi/test_mpi_nccl.cpp: the NCCL communicator on several GPUs of one
// machine under mpirun (one rank per GPU, the unique id through MPI_Bcast):
// all_reduce, all_gather and broadcast against hand-computed values. Skipped
// where the machine has fewer GPUs than ranks or the build lacks NCCL (the
// main suite's DistMpirun.NcclOn2Gpus runs it where there are 2).
#include <gtest/gtest.h>

#include "core/backend.h"
#include "core/ops.h"
#include "tests/mpi/mpi_util.h"

using vd::Tensor;
using vd::dist::Reduce;

TEST(MpiNccl, CollectivesOnOneGpuPerRank) {
  const int W = mpitest::world_size(), r = mpitest::rank();
  if (!vd::dist::built_with_nccl() || vd::cuda::device_count() < W)
    GTEST_SKIP() << "needs NCCL and " << W << " GPUs";
  const vd::dist::LaunchInfo launch = vd::dist::launch_from_environment();
  const vd::Device dev = vd::Device::cuda(launch.local_rank);
  auto c = vd::dist::make_communicator(vd::dist::Backend::Nccl, launch, dev, 60);
  Tensor t = vd::ops::to_device(Tensor::full({3}, r + 1.0), dev);
  c->all_reduce(t, Reduce::Sum);
  EXPECT_EQ(t.to_vector(), std::vector<double>(3, W * (W + 1) / 2.0));
  c->all_reduce(t, Reduce::Average);
  EXPECT_EQ(t.to_vector(), std::vector<double>(3, W * (W + 1) / 2.0));
  const Tensor g = c->all_gather(vd::ops::to_device(Tensor::full({1, 2}, double(r)), dev));
  std::vector<double> want;
  for (int q = 0; q < W; ++q) want.insert(want.end(), {double(q), double(q)});
  EXPECT_EQ(g.to_vector(), want);
  Tensor b = vd::ops::to_device(Tensor::full({2}, 10.0 + r), dev);
  c->broadcast(b, W - 1);
  EXPECT_EQ(b.to_vector(), std::vector<double>(2, 10.0 + W - 1));
  std::vector<double> h{double(r)};
  c->all_reduce_host(h);
  EXPECT_EQ(h[0], W * (W - 1) / 2.0);
  c->barrier();
}
