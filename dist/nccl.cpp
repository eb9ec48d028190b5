// dist/nccl.cpp: the NCCL communicator (CUDA tensors). Compiled as a whole
// under VD_NCCL (CUDA=1 and $(CUDA_HOME)/include/nccl.h found); without it the
// same names refuse, saying what the build lacks.
#include "core/errors.h"
#include "dist/backends.h"

#if VD_NCCL
// Placeholder until the NCCL communicator lands (the next commits).
namespace vd::dist {
bool built_with_nccl() { return true; }
namespace detail {
std::shared_ptr<Communicator> make_nccl(const LaunchInfo&, Device, double) {
  throw UsageError("dist_backend = nccl: the NCCL communicator is not written yet", "dist_backend");
}
}  // namespace detail
}  // namespace vd::dist
#else  // built without NCCL: the same names, refusing

namespace vd::dist {

bool built_with_nccl() { return false; }

namespace detail {

std::shared_ptr<Communicator> make_nccl(const LaunchInfo&, Device, double) {
#if VD_CUDA
  throw UsageError("dist_backend = nccl: built without NCCL (nccl.h was not found under CUDA_HOME/include); hint: "
                   "install NCCL (it ships with the CUDA 13 toolkit, or apt-get install libnccl-dev) and rebuild",
                   "dist_backend");
#else
  throw UsageError("dist_backend = nccl: built without CUDA, which NCCL needs (nvcc not found, or CUDA=0); hint: "
                   "build on a machine with the CUDA toolkit (make CUDA=1)",
                   "dist_backend");
#endif
}

}  // namespace detail
}  // namespace vd::dist

#endif
