// dist/single.cpp: the world-size-1 communicator (every collective is the
// identity) and the backend names. make_communicator()'s choice is
// dist/backend.cpp; the MPI and NCCL implementations are dist/mpi.cpp and
// dist/nccl.cpp.
#include "core/errors.h"
#include "dist/communicator.h"

namespace vd::dist {

namespace {
class Done : public Work {
 public:
  void wait() override {}
};

class Single : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string backend() const override { return "none"; }
  Device device() const override { return Device::cpu(); }
  void all_reduce(Tensor&, Reduce) override {}
  std::unique_ptr<Work> all_reduce_async(Tensor&, Reduce) override { return std::make_unique<Done>(); }
  Tensor all_gather(const Tensor& x) override { return x; }
  void broadcast(Tensor&, int root) override { check_root(root); }
  void barrier() override {}
  void broadcast_text(std::string&, int root) override { check_root(root); }
  void all_reduce_host(std::vector<double>&, Reduce) override {}

 private:
  static void check_root(int root) { VD_CHECK(root == 0, "broadcast: root " << root << " in a world of 1"); }
};
}  // namespace

Backend parse_backend(const std::string& name) {
  if (name == "auto") return Backend::Auto;
  if (name == "none") return Backend::None;
  if (name == "mpi") return Backend::Mpi;
  if (name == "nccl") return Backend::Nccl;
  throw UsageError("dist_backend = '" + name + "': expected auto, none, mpi or nccl", "dist_backend");
}

std::shared_ptr<Communicator> single_process() { return std::make_shared<Single>(); }

}  // namespace vd::dist
