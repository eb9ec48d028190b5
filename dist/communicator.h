// dist/communicator.h: the collectives of data-parallel training, behind one
// interface with three implementations: single-process (world size 1, no
// dependency; dist/single.cpp), MPI (CPU tensors, process start-up, the
// exchange of NCCL's unique id; dist/mpi.cpp) and NCCL (CUDA tensors on its
// own stream, ordered with the compute stream by events; dist/nccl.cpp).
// make_communicator() picks one from the `dist_backend` setting and the
// launcher's environment (dist/launch.h). Not here: what is reduced when
// (gradient buckets: dist/grad_buckets.h; differentiable gathers:
// dist/functions.h; SyncBatchNorm: layers/batchnorm.h), nor any transport of
// our own: bytes move through MPI or NCCL only (the NCCL id alone may cross
// a TCP socket from rank 0 when the run was not started by mpirun).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "dist/launch.h"

namespace vd::dist {

enum class Reduce { Sum, Average };

// A collective started without waiting (a gradient bucket's all-reduce).
// wait() returns when the result may be used by the caller's next op: on the
// CPU when the data is there; with NCCL when the compute stream has been
// made to wait for the communication stream (the host does not block).
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual int local_rank() const = 0;
  virtual std::string backend() const = 0;  // "none", "mpi" or "nccl"
  // The device whose tensors the collectives take (cpu for none/mpi,
  // cuda:local_rank for nccl). A tensor on another device is refused.
  virtual Device device() const = 0;

  // In place on a contiguous tensor (f32, f64 on mpi; f32, bf16 on nccl),
  // every rank passing the same shape. Average divides the sum by world_size.
  virtual void all_reduce(Tensor& t, Reduce op = Reduce::Sum) = 0;
  virtual std::unique_ptr<Work> all_reduce_async(Tensor& t, Reduce op = Reduce::Sum) = 0;
  // x: [n, ...], the same shape on every rank -> [world_size * n, ...],
  // rank r's rows at [r * n, (r + 1) * n).
  virtual Tensor all_gather(const Tensor& x) = 0;
  // In place: every rank receives root's values.
  virtual void broadcast(Tensor& t, int root = 0) = 0;
  virtual void barrier() = 0;

  // Host values, for decisions every rank must share (a resume path, a
  // refusal, throughput figures). broadcast_text: every rank gets root's
  // string; all_reduce_host: element-wise over ranks, in place.
  virtual void broadcast_text(std::string& text, int root = 0) = 0;
  virtual void all_reduce_host(std::vector<double>& values, Reduce op = Reduce::Sum) = 0;

  // Seconds this rank has spent blocked in collectives (host waits) since it
  // was made: the "waiting on communication" figure of `vididi bench`.
  double wait_seconds() const { return wait_seconds_; }

  bool is_root() const { return rank() == 0; }

 protected:
  double wait_seconds_ = 0;
};

// What the setting `dist_backend` may say.
enum class Backend { Auto, None, Mpi, Nccl };
Backend parse_backend(const std::string& name);  // UsageError naming dist_backend otherwise

// The communicator for this process. `launch` comes from
// launch_from_environment(); `device` is the training device (for nccl it
// must be cuda:launch.local_rank). Auto: none when world size is 1, else
// nccl for a cuda device and mpi for the cpu. A backend this build lacks,
// or one that cannot serve the device, is refused with a UsageError saying
// what is missing and how to get it. `timeout_s` bounds the rendezvous and
// every blocking collective: past it the rank prints one line naming the
// collective and the ranks, and the job ends (MPI_Abort / exit).
std::shared_ptr<Communicator> make_communicator(Backend backend, const LaunchInfo& launch, Device device,
                                                double timeout_s = 300);

// World size 1: every collective is the identity (all_gather returns x).
std::shared_ptr<Communicator> single_process();

// Ends every rank of a multi-process job at once, after this rank printed
// why it stops (an error the command line reported): MPI_Abort when MPI is
// running (mpirun then ends the others), else _Exit(code). Without it a rank
// that stops alone would leave the others waiting until dist_timeout.
[[noreturn]] void end_job(int code);

// Whether this build has each backend (the Makefile defines VD_MPI / VD_NCCL
// when it finds their headers), for messages and `vididi info`.
bool built_with_mpi();
bool built_with_nccl();

}  // namespace vd::dist
