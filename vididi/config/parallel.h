// vididi/config/parallel.h: this process's place in a data-parallel run, as
// the commands see it. ParallelSpec holds the distributed keys (dist_backend,
// dist_timeout, sync_bn, gather, lr_scale, bucket_mb); start_parallel() reads
// the launcher's variables (dist/launch.h), resolves the device (rank r uses
// cuda:local_rank when the device is auto or cuda) and makes the
// communicator. One process without a launcher gets world size 1 and no
// dependency. Not here: the collectives (dist/), what the trainer does with
// them (vididi/trainer.h), docs/DISTRIBUTED.md's design.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "dist/communicator.h"
#include "vididi/config/settings.h"

namespace vd::vididi {

struct ParallelSpec {
  std::string backend = "auto";  // auto | none | mpi | nccl
  double timeout = 300;          // seconds a rendezvous or collective may wait
  // Training only:
  bool sync_bn = false;          // batch statistics over all ranks' clips
  std::string gather = "global"; // VICReg/SimCLR over the global batch, or each rank's own
  std::string lr_scale = "none"; // none | linear (lr x world size)
  double bucket_mb = 25;         // gradient all-reduce bucket size
};

// dist_backend and dist_timeout; and the training keys when `training`.
void parallel_keys(config::Settings& s, ParallelSpec& p, bool training);

struct Parallel {
  std::shared_ptr<dist::Communicator> comm;  // never null
  Device device;
  std::string note;  // what device auto chose, and the rank line when world > 1 ("" otherwise)
  int rank() const { return comm->rank(); }
  int world() const { return comm->world_size(); }
};

// Resolves `device`/`precision` (vididi/config/device.h) for this rank and
// makes its communicator. Refuses, naming the keys: a world size > 1 with
// dist_backend = none, mpi on a cuda device (use nccl), nccl on the cpu.
Parallel start_parallel(const ParallelSpec& p, const std::string& device, const std::string& precision);

// A refusal decided by rank 0 and thrown on every rank: the command line
// prints it on rank 0 only (other errors are printed by the rank that met
// them, prefixed with its rank).
class RootDecision : public UsageError {
 public:
  using UsageError::UsageError;
};

// A decision of rank 0 that every rank must share (a refusal of the run
// directory, say): runs `decide` on rank 0; when it throws a UsageError,
// every rank throws it as a RootDecision (its message, key and place).
// Other exceptions stay on the rank that threw them. World size 1: decide().
void root_decides(dist::Communicator& comm, const std::function<void()>& decide);

// World size 1 on `device` (tests and reference runs).
Parallel single_process(Device device);

}  // namespace vd::vididi
