// dist/backend.cpp: make_communicator(), the choice of a backend from the
// setting dist_backend, the device and the launcher (dist/communicator.h),
// with each refusal one line saying what is missing and how to get it. Not
// here: the backends themselves (dist/single.cpp, dist/mpi.cpp, dist/nccl.cpp).
#include <cmath>
#include <sstream>

#include "core/errors.h"
#include "dist/backends.h"

namespace vd::dist {

namespace detail {
bool started_by_mpi_launcher(const LaunchInfo& launch) {
  return launch.launcher == "mpirun" || launch.launcher == "pmi" || launch.launcher == "srun";
}
}  // namespace detail

namespace {
std::string seconds(double s) {
  std::ostringstream o;
  o << s;
  return o.str();
}
}  // namespace

std::shared_ptr<Communicator> make_communicator(Backend backend, const LaunchInfo& launch, Device device,
                                                double timeout_s) {
  if (!(timeout_s > 0) || !std::isfinite(timeout_s))
    throw UsageError("dist_timeout = " + seconds(timeout_s) + ": expected a positive number of seconds", "dist_timeout");
  if (backend == Backend::Auto) {
    if (launch.world_size == 1) return single_process();
    backend = device.is_cuda() ? Backend::Nccl : Backend::Mpi;
  }
  switch (backend) {
    case Backend::None:
      if (launch.world_size != 1)
        throw UsageError("dist_backend = none but this process is " + launch.str() +
                             "; hint: dist_backend = auto (nccl on cuda, mpi on the cpu), or start one process",
                         "dist_backend");
      return single_process();
    case Backend::Mpi:
      if (!built_with_mpi()) throw UsageError(std::string("dist_backend = mpi: ") + detail::kNoMpi, "dist_backend");
      if (launch.world_size > 1 && !detail::started_by_mpi_launcher(launch))
        throw UsageError("dist_backend = mpi needs an MPI launcher, and this process is " + launch.str() +
                             (launch.launcher == "torchrun" ? "-style variables (RANK, WORLD_SIZE)" : "") +
                             "; hint: start the ranks with mpirun -np " +
                             std::to_string(launch.world_size) + " (or srun), or use dist_backend = nccl on GPUs",
                         "dist_backend");
      return detail::make_mpi(launch, timeout_s);
    case Backend::Nccl:
      if (!device.is_cuda())
        throw UsageError("dist_backend = nccl needs a cuda device, and the device is " + device.str() +
                             "; hint: dist_backend = mpi (or auto) on the cpu",
                         "dist_backend");
      if (device.index != launch.local_rank)
        throw UsageError("dist_backend = nccl: the device is " + device.str() + " but this process is " + launch.str() +
                             ", and each rank uses the GPU of its local rank; hint: device = cuda:" +
                             std::to_string(launch.local_rank) + " (or device = auto)",
                         "device");
      return detail::make_nccl(launch, device, timeout_s);
    case Backend::Auto:
      break;
  }
  VD_FAIL("make_communicator: unhandled backend " << int(backend));
}

}  // namespace vd::dist
