// vididi/config/parallel.cpp: the distributed keys and start_parallel() (see
// parallel.h).
#include "vididi/config/parallel.h"

#include "core/backend.h"
#include "vididi/config/device.h"

namespace vd::vididi {

void parallel_keys(config::Settings& s, ParallelSpec& p, bool training) {
  s.add("dist_backend", p.backend,
        "collectives of a multi-process run: auto (none for one process, nccl on cuda, mpi on the cpu) | none | "
        "mpi | nccl (docs/DISTRIBUTED.md)")
      .choices({"auto", "none", "mpi", "nccl"});
  s.add("dist_timeout", p.timeout,
        "seconds a rendezvous or collective may wait for the other ranks before the run ends with one line")
      .range(1, 86400);
  if (!training) return;
  s.add("sync_bn", p.sync_bn, "batch norm statistics over every rank's clips (SyncBatchNorm)");
  s.add("gather", p.gather,
        "VICReg's variance/covariance and SimCLR's negatives over the global batch (all ranks' embeddings) or "
        "over each rank's own clips (local); BYOL needs neither")
      .choices({"global", "local"});
  s.add("lr_scale", p.lr_scale, "none, or linear: lr and final_lr times the world size (Goyal et al. 2017)")
      .choices({"none", "linear"});
  s.add("bucket_mb", p.bucket_mb, "gradient all-reduce bucket size in MB (reverse parameter order, overlapped)")
      .range(0.001, 1e5);
}

Parallel start_parallel(const ParallelSpec& p, const std::string& device, const std::string& precision) {
  const dist::LaunchInfo launch = dist::launch_from_environment();
  const dist::Backend backend = dist::parse_backend(p.backend);
  Parallel out;
  if (launch.world_size > 1 && backend == dist::Backend::None)
    throw UsageError("dist_backend = none, but " + launch.str() +
                         "; hint: dist_backend = auto, or start one process without a launcher",
                     "dist_backend");
  // Rank r drives GPU local_rank unless the device names one.
  std::string setting = device;
  if (launch.world_size > 1 && cuda::is_available() && (device == "auto" || device == "cuda"))
    setting = "cuda:" + std::to_string(launch.local_rank);
  out.device = resolve_device(setting, precision, &out.note);
  if (setting != device) out.note = "device " + device + ": rank " + std::to_string(launch.rank) + " uses " + setting;
  if (backend == dist::Backend::Mpi && out.device.is_cuda() && launch.world_size > 1)
    throw UsageError("dist_backend = mpi moves cpu tensors only, and the device is " + out.device.str() +
                         "; hint: dist_backend = nccl (or auto) on GPUs, device = cpu for mpi",
                     "dist_backend");
  if (backend == dist::Backend::Nccl && !out.device.is_cuda())
    throw UsageError("dist_backend = nccl needs a cuda device, and the device is " + out.device.str() +
                         "; hint: dist_backend = mpi (or auto) on the cpu",
                     "dist_backend");
  out.comm = dist::make_communicator(backend, launch, out.device, p.timeout);
  if (out.comm->world_size() > 1) {
    const std::string line = launch.str() + ", backend " + out.comm->backend() + " on " + out.device.str();
    out.note = out.note.empty() ? line : out.note + "; " + line;
  }
  return out;
}

void root_decides(dist::Communicator& comm, const std::function<void()>& decide) {
  if (comm.world_size() == 1) return decide();
  std::string what, key, where, refused = "0";
  if (comm.is_root()) {
    try {
      decide();
    } catch (const UsageError& e) {
      what = e.what(), key = e.key(), where = e.where(), refused = "1";
    }
  }
  for (std::string* t : {&refused, &what, &key, &where}) comm.broadcast_text(*t, 0);
  if (refused == "1") throw RootDecision(what, key, where);
}

Parallel single_process(Device device) {
  Parallel out;
  out.comm = dist::single_process();
  out.device = device;
  return out;
}

}  // namespace vd::vididi
