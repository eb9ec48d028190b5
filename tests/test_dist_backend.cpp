// tests/test_dist_backend.cpp: make_communicator()'s choice and refusals
// (dist/backend.cpp) without starting other processes: auto and none at
// world size 1, the refusals of a backend that cannot serve the device or the
// launcher, the messages of a build without MPI or NCCL, and the world-size-1
// communicator's identities. The MPI collectives are tested under mpirun
// (test_dist_mpirun.cpp), NCCL on a GPU (test_cuda_dist.cpp).
#include <gtest/gtest.h>

#include "core/errors.h"
#include "core/tensor.h"
#include "dist/communicator.h"

using vd::Device;
using vd::Tensor;
using namespace vd::dist;

namespace {

LaunchInfo world(int rank, int size, const std::string& launcher) {
  LaunchInfo l;
  l.rank = rank;
  l.world_size = size;
  l.local_rank = rank;
  l.launcher = launcher;
  if (launcher == "torchrun") {
    l.master_addr = "127.0.0.1";
    l.master_port = 29500;
  }
  return l;
}

std::string refusal(Backend b, const LaunchInfo& l, Device d, double timeout = 300) {
  try {
    make_communicator(b, l, d, timeout);
  } catch (const vd::UsageError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
  return "";
}

}  // namespace

TEST(DistBackend, ParseBackendNamesTheSetting) {
  EXPECT_EQ(parse_backend("auto"), Backend::Auto);
  EXPECT_EQ(parse_backend("none"), Backend::None);
  EXPECT_EQ(parse_backend("mpi"), Backend::Mpi);
  EXPECT_EQ(parse_backend("nccl"), Backend::Nccl);
  EXPECT_THROW(parse_backend("gloo"), vd::UsageError);
}

TEST(DistBackend, AutoAndNoneAtWorldOneAreTheSingleProcess) {
  for (Backend b : {Backend::Auto, Backend::None})
    for (Device d : {Device::cpu(), Device::cuda(0)}) {
      auto c = make_communicator(b, LaunchInfo{}, d);
      EXPECT_EQ(c->backend(), "none");
      EXPECT_EQ(c->world_size(), 1);
      EXPECT_TRUE(c->is_root());
    }
  // torchrun-style variables of a world of 1 are a single process too.
  EXPECT_EQ(make_communicator(Backend::Auto, world(0, 1, "torchrun"), Device::cpu())->backend(), "none");
}

TEST(DistBackend, NoneRefusesAWorldOfSeveral) {
  const std::string m = refusal(Backend::None, world(1, 2, "mpirun"), Device::cpu());
  EXPECT_NE(m.find("dist_backend = none"), std::string::npos) << m;
  EXPECT_NE(m.find("rank 1 of 2"), std::string::npos) << m;
}

TEST(DistBackend, MpiOnTorchrunVariablesAsksForMpirun) {
  const std::string m = refusal(Backend::Mpi, world(0, 2, "torchrun"), Device::cpu());
  if (!built_with_mpi()) {
    EXPECT_NE(m.find("built without MPI: install libopenmpi-dev"), std::string::npos) << m;
    return;
  }
  EXPECT_NE(m.find("needs an MPI launcher"), std::string::npos) << m;
  EXPECT_NE(m.find("mpirun -np 2"), std::string::npos) << m;
  // auto on the cpu picks mpi, and is refused the same way.
  EXPECT_NE(refusal(Backend::Auto, world(0, 2, "torchrun"), Device::cpu()).find("mpirun -np 2"), std::string::npos);
}

TEST(DistBackend, NcclNeedsTheCudaDeviceOfTheLocalRank) {
  std::string m = refusal(Backend::Nccl, LaunchInfo{}, Device::cpu());
  EXPECT_NE(m.find("needs a cuda device"), std::string::npos) << m;
  m = refusal(Backend::Nccl, world(1, 2, "mpirun"), Device::cuda(0));
  EXPECT_NE(m.find("device = cuda:1"), std::string::npos) << m;
}

TEST(DistBackend, BuildWithoutABackendSaysWhatIsMissing) {
  if (!built_with_nccl()) {
    const std::string m = refusal(Backend::Nccl, LaunchInfo{}, Device::cuda(0));
    EXPECT_NE(m.find("built without"), std::string::npos) << m;
  }
  if (!built_with_mpi()) {
    const std::string m = refusal(Backend::Mpi, LaunchInfo{}, Device::cpu());
    EXPECT_NE(m.find("built without MPI: install libopenmpi-dev (apt-get install openmpi-bin libopenmpi-dev) and rebuild"),
              std::string::npos)
        << m;
  }
}

TEST(DistBackend, TimeoutMustBePositive) {
  for (double t : {0.0, -1.0}) {
    const std::string m = refusal(Backend::None, LaunchInfo{}, Device::cpu(), t);
    EXPECT_NE(m.find("dist_timeout"), std::string::npos) << m;
  }
}

TEST(DistBackend, SingleProcessCollectivesAreIdentities) {
  auto c = single_process();
  Tensor t = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
  c->all_reduce(t, Reduce::Average);
  c->all_reduce_async(t)->wait();
  c->broadcast(t, 0);
  EXPECT_EQ(t.to_vector(), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(c->all_gather(t).to_vector(), (std::vector<double>{1, 2, 3}));
  std::string s = "x";
  c->broadcast_text(s);
  EXPECT_EQ(s, "x");
  std::vector<double> v{2};
  c->all_reduce_host(v, Reduce::Average);
  EXPECT_EQ(v, std::vector<double>{2});
  c->barrier();
  EXPECT_EQ(c->wait_seconds(), 0);
}
