// dist/mpi.cpp: the MPI communicator (CPU tensors, f32 and f64), MPI's
// start-up (MPI_Init_thread once, MPI_Finalize at exit) and MPI as the side
// channel that carries NCCL's unique id. Compiled as a whole under VD_MPI
// (the Makefile defines it when it finds mpicxx); without it the same names
// refuse with what to install. Every wait is a non-blocking call polled with
// MPI_Test against the communicator's timeout (dist/timeout.h): past it the
// rank prints one line and calls MPI_Abort, so that mpirun ends every rank.
// Not here: GPU tensors (dist/nccl.cpp; a caller may stage them to the CPU),
// the choice of backend (dist/backend.cpp).
#include "core/errors.h"
#include "dist/backends.h"

#if VD_MPI
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <mutex>

#include "core/ops.h"
#include "dist/timeout.h"

namespace vd::dist {

bool built_with_mpi() { return true; }

namespace detail {

const char* const kNoMpi =
    "built without MPI: install libopenmpi-dev (apt-get install openmpi-bin libopenmpi-dev) and rebuild";

namespace {

// MPI is initialised at MPI_THREAD_SERIALIZED: every MPI call of the process
// holds this lock, so that a Work waited on another thread stays legal.
std::mutex& mpi_mutex() {
  static std::mutex m;
  return m;
}
int g_rank = 0, g_world = 1;
double g_finalize_timeout = 0;  // the longest timeout of any communicator made

void check_rc(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  VD_FAIL(call << " failed: " << std::string(text, size_t(len)));
}

// Registered with atexit() when we initialised MPI. MPI_Finalize waits for
// every rank; a rank whose peers are gone (or stuck) must not wait forever.
void finalize_at_exit() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (!init || fin) return;
  set_end_job_hook(nullptr);  // past the timeout: _Exit(1), mpirun ends the rest
  Watchdog dog(g_rank, g_world, "MPI_Finalize", "the other ranks", g_finalize_timeout);
  MPI_Finalize();
}

void ensure_mpi(const LaunchInfo& launch, double timeout_s) {
  std::lock_guard<std::mutex> lock(mpi_mutex());
  int init = 0;
  MPI_Initialized(&init);
  if (!init) {
    int fin = 0;
    MPI_Finalized(&fin);
    VD_CHECK(!fin, "MPI was already finalised in this process; hint: make communicators before the program ends");
    int provided = 0;
    {
      Watchdog dog(launch.rank, launch.world_size, "MPI_Init", "the launcher and the other ranks", timeout_s);
      check_rc(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    }
    VD_CHECK(provided >= MPI_THREAD_SERIALIZED,
             "MPI_Init_thread: this MPI provides thread level " << provided << ", below MPI_THREAD_SERIALIZED; "
                                                                 << "hint: use an MPI built with thread support");
    std::atexit(finalize_at_exit);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_world);
  }
  set_end_job_hook([] { MPI_Abort(MPI_COMM_WORLD, 1); });
  g_finalize_timeout = std::max(g_finalize_timeout, timeout_s);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (rank != launch.rank || world != launch.world_size)
    throw UsageError("dist_backend = mpi: MPI says rank " + std::to_string(rank) + " of " + std::to_string(world) +
                         " but the environment says " + launch.str() +
                         "; hint: start every rank with mpirun -np N (or srun) and leave the launcher's variables "
                         "as it sets them",
                     "dist_backend");
}

// Polls `req` until it completes; past timeout_s ends the job with one line.
// Returns the seconds waited.
double wait_request(MPI_Request& req, const char* what, int rank, int world, double timeout_s) {
  Deadline deadline(timeout_s);
  for (;;) {
    int done = 0;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_rc(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    }
    if (done) return deadline.elapsed_s();
    if (deadline.expired()) end_job_after_timeout(rank, world, what, "the other ranks", timeout_s);
    deadline.pause();
  }
}

MPI_Datatype mpi_type(const Tensor& t) { return t.dtype() == DType::F64 ? MPI_DOUBLE : MPI_FLOAT; }

int mpi_count(int64_t n, const char* what) {
  VD_CHECK(n <= INT_MAX, "mpi " << what << ": " << n << " elements exceed MPI's int count; hint: smaller buckets");
  return int(n);
}

void scale(Tensor& t, double factor) {
  if (t.dtype() == DType::F64) {
    double* p = t.data<double>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] *= factor;
  } else {
    float* p = t.data<float>();
    const float f = float(factor);
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] *= f;
  }
}

class Mpi;

class MpiWork : public Work {
 public:
  MpiWork(std::shared_ptr<Mpi> comm, MPI_Request req, Tensor t, bool average)
      : comm_(std::move(comm)), req_(req), t_(std::move(t)), average_(average) {}
  ~MpiWork() override {
    try {
      wait();  // the request must not outlive the tensor it writes
    } catch (...) {
    }
  }
  void wait() override;

 private:
  std::shared_ptr<Mpi> comm_;
  MPI_Request req_;
  Tensor t_;
  bool average_, done_ = false;
};

class Mpi : public Communicator, public std::enable_shared_from_this<Mpi> {
 public:
  Mpi(const LaunchInfo& launch, double timeout_s) : launch_(launch), timeout_s_(timeout_s) {
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_rc(MPI_Comm_idup(MPI_COMM_WORLD, &comm_, &req), "MPI_Comm_idup");
    }
    wait(req, "communicator set-up (MPI_Comm_idup)");
  }
  ~Mpi() override {
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin) return;
    std::lock_guard<std::mutex> lock(mpi_mutex());
    MPI_Comm_free(&comm_);
  }

  int rank() const override { return launch_.rank; }
  int world_size() const override { return launch_.world_size; }
  int local_rank() const override { return launch_.local_rank; }
  std::string backend() const override { return "mpi"; }
  Device device() const override { return Device::cpu(); }

  void all_reduce(Tensor& t, Reduce op) override { all_reduce_async(t, op)->wait(); }

  std::unique_ptr<Work> all_reduce_async(Tensor& t, Reduce op) override {
    check_tensor(t, "all_reduce", true);
    mark_written(t.impl());  // in place (core/tensor.h)
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_rc(MPI_Iallreduce(MPI_IN_PLACE, t.data_ptr(), mpi_count(t.numel(), "all_reduce"), mpi_type(t), MPI_SUM,
                              comm_, &req),
               "MPI_Iallreduce");
    }
    return std::make_unique<MpiWork>(shared_from_this(), req, t, op == Reduce::Average);
  }

  Tensor all_gather(const Tensor& x) override {
    check_tensor(x, "all_gather", false);
    VD_CHECK(x.dim() >= 1, "mpi all_gather: " << describe(x) << " has no first dimension to gather along");
    const Tensor src = ops::contiguous(x);
    Shape shape = x.shape();
    shape[0] *= world_size();
    Tensor out = Tensor::empty(shape, x.dtype(), Device::cpu());
    const int n = mpi_count(src.numel(), "all_gather");
    mpi_count(out.numel(), "all_gather");
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_rc(MPI_Iallgather(src.data_ptr(), n, mpi_type(x), out.data_ptr(), n, mpi_type(x), comm_, &req),
               "MPI_Iallgather");
    }
    wait(req, "all_gather");
    return out;
  }

  void broadcast(Tensor& t, int root) override {
    check_tensor(t, "broadcast", true);
    check_root(root, "broadcast");
    mark_written(t.impl());
    bcast(t.data_ptr(), mpi_count(t.numel(), "broadcast"), mpi_type(t), root, "broadcast");
  }

  void barrier() override {
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_rc(MPI_Ibarrier(comm_, &req), "MPI_Ibarrier");
    }
    wait(req, "barrier");
  }

  void broadcast_text(std::string& text, int root) override {
    check_root(root, "broadcast_text");
    uint64_t n = text.size();
    bcast(&n, 1, MPI_UINT64_T, root, "broadcast_text");
    if (rank() != root) text.assign(size_t(n), '\0');
    if (n > 0) bcast(&text[0], mpi_count(int64_t(n), "broadcast_text"), MPI_CHAR, root, "broadcast_text");
  }

  void all_reduce_host(std::vector<double>& values, Reduce op) override {
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_rc(MPI_Iallreduce(MPI_IN_PLACE, values.data(), mpi_count(int64_t(values.size()), "all_reduce_host"),
                              MPI_DOUBLE, MPI_SUM, comm_, &req),
               "MPI_Iallreduce");
    }
    wait(req, "all_reduce_host");
    if (op == Reduce::Average)
      for (double& v : values) v /= world_size();
  }

  void wait(MPI_Request& req, const char* what) {
    wait_seconds_ += wait_request(req, what, rank(), world_size(), timeout_s_);
  }

 private:
  void check_tensor(const Tensor& t, const char* what, bool in_place) const {
    VD_CHECK(t.defined(), "mpi " << what << ": an undefined tensor");
    VD_CHECK(!t.is_cuda(), "mpi " << what << ": " << describe(t)
                                  << " is a CUDA tensor and the mpi backend takes CPU tensors; hint: "
                                  << "dist_backend = nccl (auto picks it for a cuda device), or copy it to the CPU");
    VD_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64,
             "mpi " << what << ": " << describe(t) << ": the mpi backend takes f32 or f64 (bf16 only on nccl)");
    VD_CHECK(!in_place || t.is_contiguous(),
             "mpi " << what << ": " << describe(t) << " is not contiguous; hint: reduce a .contiguous() copy");
  }
  void check_root(int root, const char* what) const {
    VD_CHECK(root >= 0 && root < world_size(), "mpi " << what << ": root " << root << " in a world of " << world_size());
  }
  void bcast(void* data, int count, MPI_Datatype type, int root, const char* what) {
    MPI_Request req;
    {
      std::lock_guard<std::mutex> lock(mpi_mutex());
      check_rc(MPI_Ibcast(data, count, type, root, comm_, &req), "MPI_Ibcast");
    }
    wait(req, what);
  }

  LaunchInfo launch_;
  double timeout_s_;
  MPI_Comm comm_ = MPI_COMM_NULL;
};

void MpiWork::wait() {
  if (done_) return;
  done_ = true;
  comm_->wait(req_, "all_reduce");
  if (average_) scale(t_, 1.0 / comm_->world_size());
}

}  // namespace

std::shared_ptr<Communicator> make_mpi(const LaunchInfo& launch, double timeout_s) {
  ensure_mpi(launch, timeout_s);
  return std::make_shared<Mpi>(launch, timeout_s);
}

void mpi_broadcast_bytes(void* data, size_t n, const LaunchInfo& launch, double timeout_s) {
  ensure_mpi(launch, timeout_s);
  VD_CHECK(n <= size_t(INT_MAX), "mpi_broadcast_bytes: " << n << " bytes");
  MPI_Request req;
  {
    std::lock_guard<std::mutex> lock(mpi_mutex());
    check_rc(MPI_Ibcast(data, int(n), MPI_BYTE, 0, MPI_COMM_WORLD, &req), "MPI_Ibcast");
  }
  wait_request(req, "the NCCL id broadcast (MPI_Bcast)", launch.rank, launch.world_size, timeout_s);
}

}  // namespace detail
}  // namespace vd::dist

#else  // built without MPI: the same names, refusing

namespace vd::dist {

bool built_with_mpi() { return false; }

namespace detail {

const char* const kNoMpi =
    "built without MPI: install libopenmpi-dev (apt-get install openmpi-bin libopenmpi-dev) and rebuild";

std::shared_ptr<Communicator> make_mpi(const LaunchInfo&, double) {
  throw UsageError(std::string("dist_backend = mpi: ") + kNoMpi, "dist_backend");
}

void mpi_broadcast_bytes(void*, size_t, const LaunchInfo& launch, double) {
  throw UsageError("the NCCL id of a run started by " + launch.launcher + " goes through MPI, and this is " + kNoMpi +
                       " (or start the ranks with torchrun-style RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT)",
                   "dist_backend");
}

}  // namespace detail
}  // namespace vd::dist

#endif
