// dist/nccl.cpp: the NCCL communicator (CUDA tensors f32, bf16 and f64 on
// cuda:local_rank). Compiled as a whole under VD_NCCL (CUDA=1 and
// $(CUDA_HOME)/include/nccl.h found); without it the same names refuse,
// saying what the build lacks. NCCL runs on a stream of its own, ordered with
// the compute stream (cuda/context.h) by events: each collective records an
// event on the compute stream, makes the NCCL stream wait on it, runs, and
// records a completion event; Work::wait() and the blocking forms make the
// compute stream wait on that event (the host does not block). The host
// collectives (barrier, broadcast_text, all_reduce_host) go through a small
// device buffer and do block the host. A monitor thread polls every
// completion event: one pending past the timeout ends the job with one line
// (dist/timeout.h). The unique id goes from rank 0 to the others through
// MPI_Bcast when an MPI launcher started the run, else through the TCP
// rendezvous (dist/rendezvous.h). Not here: the MPI backend (dist/mpi.cpp).
#include "core/errors.h"
#include "dist/backends.h"

#if VD_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "core/backend.h"
#include "core/ops.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "dist/rendezvous.h"
#include "dist/timeout.h"

namespace vd::dist {

bool built_with_nccl() { return true; }

namespace detail {

namespace {

using Clock = std::chrono::steady_clock;

void nccl_check(ncclResult_t r, const char* call, ncclComm_t comm = nullptr) {
  VD_CHECK(r == ncclSuccess, call << " failed: " << ncclGetErrorString(r) << " (" << ncclGetLastError(comm)
                                  << "); hint: NCCL_DEBUG=WARN shows NCCL's own diagnosis");
}

// A completion event shared by the Work that waits on it and the monitor
// that watches it (destroyed when both let go).
struct Event {
  cudaEvent_t ev = nullptr;
  Event() { VD_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming)); }
  ~Event() { cudaEventDestroy(ev); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};

// Polls the completion events of enqueued collectives; one still pending
// timeout_s after it was enqueued ends the job (the host never blocks on a
// tensor collective, so this is where their timeout lives).
class Monitor {
 public:
  Monitor(int device, int rank, int world, double timeout_s, ncclComm_t comm)
      : device_(device), rank_(rank), world_(world), timeout_s_(timeout_s), comm_(comm) {
    thread_ = std::thread([this] { run(); });
  }
  ~Monitor() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void watch(std::shared_ptr<Event> e, const char* what) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_.push_back({std::move(e), what,
                          Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(timeout_s_))});
    }
    cv_.notify_all();
  }
  // An error the monitor saw (a failed kernel, NCCL's asynchronous error), thrown by the next collective.
  std::string error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

 private:
  struct Pending {
    std::shared_ptr<Event> event;
    const char* what;
    Clock::time_point deadline;
  };
  void run() {
    cudaSetDevice(device_);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      if (pending_.empty()) {
        cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
        continue;
      }
      // Completion is in order on the NCCL stream: the oldest first.
      const cudaError_t q = cudaEventQuery(pending_.front().event->ev);
      if (q == cudaSuccess) {
        pending_.pop_front();
        continue;
      }
      if (q != cudaErrorNotReady) {
        error_ = std::string(pending_.front().what) + " failed on the GPU: " + cudaGetErrorString(q);
        pending_.clear();
        continue;
      }
      ncclResult_t async = ncclSuccess;
      if (ncclCommGetAsyncError(comm_, &async) == ncclSuccess && async != ncclSuccess && async != ncclInProgress) {
        error_ = std::string(pending_.front().what) + ": NCCL reports " + ncclGetErrorString(async);
        pending_.clear();
        continue;
      }
      if (Clock::now() >= pending_.front().deadline)
        end_job_after_timeout(rank_, world_, pending_.front().what, "the other ranks", timeout_s_);
      cv_.wait_for(lock, std::chrono::milliseconds(2));
    }
  }

  int device_, rank_, world_;
  double timeout_s_;
  ncclComm_t comm_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  std::string error_;
  bool stop_ = false;
  std::thread thread_;
};

class NcclWork : public Work {
 public:
  NcclWork(std::shared_ptr<Event> done, Tensor keep, int device)
      : done_(std::move(done)), keep_(std::move(keep)), device_(device) {}
  ~NcclWork() override {
    try {
      wait();  // the compute stream must not reuse the tensor's memory before NCCL is done with it
    } catch (...) {
    }
  }
  void wait() override {
    if (!done_) return;
    VD_CUDA_CHECK(cudaSetDevice(device_));
    VD_CUDA_CHECK(cudaStreamWaitEvent(cuda::stream(), done_->ev, 0));
    done_.reset();
    keep_ = Tensor();
  }

 private:
  std::shared_ptr<Event> done_;
  Tensor keep_;
  int device_;
};

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::F32: return ncclFloat32;
    case DType::F64: return ncclFloat64;
    case DType::BF16: return ncclBfloat16;
  }
  return ncclFloat32;
}

class Nccl : public Communicator {
 public:
  Nccl(const LaunchInfo& launch, Device device, double timeout_s)
      : launch_(launch), device_(device), timeout_s_(timeout_s) {
    const int gpus = cuda::device_count();
    if (device.index >= gpus)
      throw UsageError("dist_backend = nccl: " + launch.str() + " uses GPU cuda:" + std::to_string(device.index) +
                           " but this machine has " + std::to_string(gpus) +
                           "; hint: start at most as many ranks per node as it has GPUs",
                       "dist_backend");
    cuda::set_device(device.index);
    ncclUniqueId id;
    std::memset(&id, 0, sizeof id);
    if (launch.rank == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    if (launch.world_size > 1) {
      if (started_by_mpi_launcher(launch))
        mpi_broadcast_bytes(&id, sizeof id, launch, timeout_s);
      else
        rendezvous_broadcast(&id, sizeof id, launch, timeout_s);
    }
    {
      Watchdog dog(launch.rank, launch.world_size, "ncclCommInitRank", "the other ranks", timeout_s);
      nccl_check(ncclCommInitRank(&comm_, launch.world_size, id, launch.rank), "ncclCommInitRank");
    }
    VD_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    VD_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    monitor_ = std::make_unique<Monitor>(device.index, launch.rank, launch.world_size, timeout_s, comm_);
  }

  ~Nccl() override {
    monitor_.reset();
    cudaSetDevice(device_.index);
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
    if (scratch_) cudaFree(scratch_);
    cudaEventDestroy(ready_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return launch_.rank; }
  int world_size() const override { return launch_.world_size; }
  int local_rank() const override { return launch_.local_rank; }
  std::string backend() const override { return "nccl"; }
  Device device() const override { return device_; }

  void all_reduce(Tensor& t, Reduce op) override { all_reduce_async(t, op)->wait(); }

  std::unique_ptr<Work> all_reduce_async(Tensor& t, Reduce op) override {
    check_tensor(t, "all_reduce", true);
    mark_written(t.impl());  // in place (core/tensor.h)
    void* p = t.data_ptr();
    auto done = enqueue("all_reduce", [&](cudaStream_t s) {
      return ncclAllReduce(p, p, size_t(t.numel()), nccl_type(t.dtype()), op == Reduce::Average ? ncclAvg : ncclSum,
                           comm_, s);
    });
    return std::make_unique<NcclWork>(std::move(done), t, device_.index);
  }

  Tensor all_gather(const Tensor& x) override {
    check_tensor(x, "all_gather", false);
    VD_CHECK(x.dim() >= 1, "nccl all_gather: " << describe(x) << " has no first dimension to gather along");
    const Tensor src = ops::contiguous(x);
    Shape shape = x.shape();
    shape[0] *= world_size();
    Tensor out = Tensor::empty(shape, x.dtype(), device_);
    auto done = enqueue("all_gather", [&](cudaStream_t s) {
      return ncclAllGather(src.data_ptr(), out.data_ptr(), size_t(src.numel()), nccl_type(x.dtype()), comm_, s);
    });
    NcclWork(std::move(done), src, device_.index).wait();
    return out;
  }

  void broadcast(Tensor& t, int root) override {
    check_tensor(t, "broadcast", true);
    check_root(root, "broadcast");
    mark_written(t.impl());
    void* p = t.data_ptr();
    auto done = enqueue("broadcast", [&](cudaStream_t s) {
      return ncclBroadcast(p, p, size_t(t.numel()), nccl_type(t.dtype()), root, comm_, s);
    });
    NcclWork(std::move(done), t, device_.index).wait();
  }

  // --- host collectives: through the scratch buffer, the host waits --------
  void barrier() override {
    float* d = static_cast<float*>(scratch(sizeof(float)));
    host_wait("barrier", enqueue_host("barrier", [&](cudaStream_t s) {
                return ncclAllReduce(d, d, 1, ncclFloat32, ncclSum, comm_, s);
              }));
  }

  void broadcast_text(std::string& text, int root) override {
    check_root(root, "broadcast_text");
    uint64_t n = text.size();
    host_broadcast(&n, sizeof n, root);
    if (rank() != root) text.assign(size_t(n), '\0');
    if (n > 0) host_broadcast(&text[0], size_t(n), root);
  }

  void all_reduce_host(std::vector<double>& values, Reduce op) override {
    if (values.empty()) return barrier();
    const size_t bytes = values.size() * sizeof(double);
    void* d = scratch(bytes);
    VD_CUDA_CHECK(cudaMemcpyAsync(d, values.data(), bytes, cudaMemcpyHostToDevice, stream_));
    host_wait("all_reduce_host", enqueue_host("all_reduce_host", [&](cudaStream_t s) {
                return ncclAllReduce(d, d, values.size(), ncclFloat64, ncclSum, comm_, s);
              }));
    VD_CUDA_CHECK(cudaMemcpy(values.data(), d, bytes, cudaMemcpyDeviceToHost));
    if (op == Reduce::Average)
      for (double& v : values) v /= world_size();
  }

 private:
  void check_tensor(const Tensor& t, const char* what, bool in_place) const {
    VD_CHECK(t.defined(), "nccl " << what << ": an undefined tensor");
    VD_CHECK(t.device() == device_, "nccl " << what << ": " << describe(t) << " is not on " << device_.str()
                                            << ", the device of this rank's nccl communicator; hint: move it with "
                                            << ".to(" << device_.str() << ") (CPU tensors: dist_backend = mpi)");
    VD_CHECK(!in_place || t.is_contiguous(),
             "nccl " << what << ": " << describe(t) << " is not contiguous; hint: reduce a .contiguous() copy");
  }
  void check_root(int root, const char* what) const {
    VD_CHECK(root >= 0 && root < world_size(), "nccl " << what << ": root " << root << " in a world of " << world_size());
  }
  void check_monitor() {
    const std::string e = monitor_->error();
    VD_CHECK(e.empty(), "nccl: " << e << "; hint: NCCL_DEBUG=WARN shows NCCL's own diagnosis");
  }

  // Ordered after the compute stream's work so far; watched by the monitor.
  template <class F>
  std::shared_ptr<Event> enqueue(const char* what, F&& call) {
    check_monitor();
    VD_CUDA_CHECK(cudaSetDevice(device_.index));
    VD_CUDA_CHECK(cudaEventRecord(ready_, cuda::stream()));
    VD_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    return enqueue_host(what, std::forward<F>(call));
  }
  // On the NCCL stream alone (host values do not depend on the compute stream).
  template <class F>
  std::shared_ptr<Event> enqueue_host(const char* what, F&& call) {
    check_monitor();
    VD_CUDA_CHECK(cudaSetDevice(device_.index));
    nccl_check(call(stream_), what, comm_);
    auto done = std::make_shared<Event>();
    VD_CUDA_CHECK(cudaEventRecord(done->ev, stream_));
    monitor_->watch(done, what);
    return done;
  }
  void host_wait(const char* what, const std::shared_ptr<Event>& done) {
    Deadline deadline(timeout_s_);
    for (;;) {
      const cudaError_t q = cudaEventQuery(done->ev);
      if (q == cudaSuccess) break;
      VD_CHECK(q == cudaErrorNotReady, "nccl " << what << " failed on the GPU: " << cudaGetErrorString(q));
      check_monitor();
      if (deadline.expired()) end_job_after_timeout(rank(), world_size(), what, "the other ranks", timeout_s_);
      deadline.pause();
    }
    wait_seconds_ += deadline.elapsed_s();
  }
  void host_broadcast(void* host, size_t n, int root) {
    void* d = scratch(n);
    if (rank() == root) VD_CUDA_CHECK(cudaMemcpyAsync(d, host, n, cudaMemcpyHostToDevice, stream_));
    host_wait("broadcast_text", enqueue_host("broadcast_text", [&](cudaStream_t s) {
                return ncclBroadcast(d, d, n, ncclUint8, root, comm_, s);
              }));
    VD_CUDA_CHECK(cudaMemcpy(host, d, n, cudaMemcpyDeviceToHost));
  }
  void* scratch(size_t bytes) {
    if (bytes > scratch_bytes_) {
      VD_CUDA_CHECK(cudaStreamSynchronize(stream_));  // the old buffer may still be in use
      if (scratch_) VD_CUDA_CHECK(cudaFree(scratch_));
      scratch_ = nullptr;
      VD_CUDA_CHECK(cudaMalloc(&scratch_, bytes));
      scratch_bytes_ = bytes;
    }
    return scratch_;
  }

  LaunchInfo launch_;
  Device device_;
  double timeout_s_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  std::unique_ptr<Monitor> monitor_;
};

}  // namespace

std::shared_ptr<Communicator> make_nccl(const LaunchInfo& launch, Device device, double timeout_s) {
  return std::make_shared<Nccl>(launch, device, timeout_s);
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
