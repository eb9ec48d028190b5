// The op profiler: where a step's work goes, per op kind.
//
// What it is: when enabled (profile::enable(), off by default), every raw op
// that reaches the one device switch (VD_DISPATCH in core/backend.h) and every
// host<->device copy (ops::to_device) is recorded on the thread that enabled
// it: its kind (a small fixed list, Kind below), one count, the bytes it moves
// (see op_bytes) and the host wall-clock time spent in the dispatch call. On
// the GPU the same point also records a pair of CUDA events around the
// kernel call, summed per kind when stats() is read (cuda::profile_collect).
// A ProfileScope overrides the kind of every op inside it (the trainer sets
// "optimizer", "loss" and "finite check" around those phases), so a gemm of
// the loss counts as loss; host<->device copies are their own kind wherever
// they happen. Storage bytes created while profiling is on are
// counted live (live_bytes, peak_live_bytes; always, profiling on or off),
// which is how `vididi bench --profile true` measures what the forward keeps
// alive for backward.
//
// What it is not: not a kernel-level profiler (one raw op may launch several
// kernels, e.g. cuDNN's; a CPU op may run on two threads); not counting the
// host work outside the dispatch call (checks, allocation, the tape); not
// thread-aware beyond ignoring ops from other threads; not free when on (a
// clock read per op, and on the GPU two events per op). When off its cost is
// one load and branch per op, plus one relaxed atomic add per Storage created
// or freed (the live-bytes counter).
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "core/tensor.h"

namespace vd::profile {

enum class Kind : uint8_t {
  ConvFwd, ConvBwdData, ConvBwdFilter, BatchNorm, Relu, Add, Elementwise, Pool, Gemm,
  Cast, Copy, Reduce, Softmax, RoiAlign, Optimizer, Loss, FiniteCheck, HostDevice, Other,
  Count
};
constexpr size_t kKinds = size_t(Kind::Count);
const char* kind_name(Kind k);  // "conv fwd", "bn", "host<->device", ...

struct KindStats {
  int64_t count = 0;
  int64_t bytes = 0;
  double host_ms = 0;  // wall clock around the dispatch call
  double gpu_ms = 0;   // CUDA events around the kernel call (0 on the CPU)
};

struct Stats {
  std::array<KindStats, kKinds> kinds{};
  KindStats total() const;
  // Over the steps marked by mark_step_begin/mark_backward_begin (the
  // trainer's train_step): their number; the sum over them of the Storage
  // bytes created after the step began and still alive when backward begins
  // (what the forward keeps for backward: the tape's saved tensors, the
  // casts it kept, the loss and embeddings); and the sum of the peak of live
  // bytes between the two marks above the step's starting level.
  // Ops dispatched from inside another op's kernel (the CPU batch norm
  // reads gamma with Tensor::to_vector, a cast): not recorded, their time
  // and bytes are part of the outer op's; only counted here.
  int64_t nested = 0;
  int64_t steps = 0;
  int64_t saved_bytes = 0;
  int64_t forward_peak_bytes = 0;
};

namespace detail {
extern std::atomic<bool> g_enabled;
}
inline bool enabled() { return detail::g_enabled.load(std::memory_order_acquire); }
// Turns recording on for the calling thread (clears the counts) or off. Call
// it while no other thread dispatches ops.
void enable(bool on);
// Clears the counts and GPU timings; keeps the live-bytes counter.
void reset();
// The counts so far (waits for the GPU to sum its events).
Stats stats();

// Bytes of all Storages (every device) alive now, and the highest value
// since the last reset_peak_live_bytes() (or the start of the process).
int64_t live_bytes();
int64_t peak_live_bytes();
void reset_peak_live_bytes();
// Called by Storage's constructor and destructor (core/tensor.cpp) for every
// non-empty Storage, profiling on or off.
void storage_created(size_t nbytes);
void storage_freed(size_t nbytes);

// Marks of the training step (vididi/trainer.cpp), for Stats' saved bytes;
// nothing when profiling is off.
void mark_step_begin();
void mark_backward_begin();

// Attributes every op dispatched inside it to `kind` (innermost wins).
class ProfileScope {
 public:
  explicit ProfileScope(Kind kind);
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  int previous_;
};

// --- used by VD_DISPATCH and ops::to_device -------------------------------------
enum class Kernel : uint8_t {
  copy, fill, unary, binary, reduce, gemm, conv3d_forward, conv3d_backward_data,
  conv3d_backward_weight, max_pool3d_forward, max_pool3d_backward, avg_pool3d_forward,
  avg_pool3d_backward, batch_norm_stats, batch_norm_apply, batch_norm_backward,
  softmax_forward, softmax_backward, roi_align_forward, roi_align_backward,
  // fused batch norm + add + ReLU (issue 18)
  batch_norm_act_forward, batch_norm_act_backward,
  // fused optimizer over flat buffers (layers/optim/flat.h)
  fused_sgd, fused_lars_sumsq, fused_lars, fused_adamw,
  // issue 18: the compact input transfer (core/frames.h)
  normalize_frames,
};

// Bytes an op moves: for each tensor argument, its element size times the
// number of distinct elements it addresses (a stride-0, broadcast dim counts
// once); a tensor that is both read and written (in-place) is an argument
// twice and counts twice. Non-tensor and undefined tensor arguments count 0.
inline int64_t arg_bytes(const Tensor& t) {
  if (!t.defined()) return 0;  // an absent optional argument (no residual, no affine)
  int64_t n = 1;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.strides()[size_t(d)] != 0) n *= t.shape()[size_t(d)];
  return t.numel() == 0 ? 0 : n * int64_t(dtype_size(t.dtype()));
}
template <class T>
int64_t arg_bytes(const T&) { return 0; }

// The kind of one kernel call from its arguments (copy between dtypes is a
// cast, unary Relu and binary ReluGrad are relu, binary Add is add).
Kind classify(Kernel k, const void* first, const void* second);

// A recording in progress (enabled path only).
struct Record {
  Kind kind;
  bool cuda;
  int64_t start_ns;
};
// begin: false when the op is not to be recorded (another thread, or inside
// another op's kernel: counted in Stats::nested only); when true the caller
// holds a Leave until the op is done and calls end() if it succeeded.
bool begin(Kernel k, bool cuda, const void* first, const void* second, Record& r);
bool begin_kind(Kind kind, bool cuda, Record& r);
void end(const Record& r, int64_t bytes);
void leave();
struct Leave {
  ~Leave() { leave(); }
};

template <class A0, class... Rest>
const void* first_arg(const A0& a0, const Rest&...) { return &a0; }
template <class A0, class A1, class... Rest>
const void* second_arg(const A0&, const A1& a1, const Rest&...) { return &a1; }
template <class A0>
const void* second_arg(const A0&) { return nullptr; }

// VD_DISPATCH's body: the arguments are evaluated once (before the call, so a
// contiguous() copy inside them is its own op), then the CPU or CUDA kernel.
template <class CudaFn, class CpuFn, class... Args>
inline void dispatch(bool cuda, Kernel k, CudaFn&& on_cuda, CpuFn&& on_cpu, Args&&... args) {
  if (!enabled()) {
    cuda ? on_cuda(std::forward<Args>(args)...) : on_cpu(std::forward<Args>(args)...);
    return;
  }
  Record r;
  if (!begin(k, cuda, first_arg(args...), second_arg(args...), r)) {
    cuda ? on_cuda(std::forward<Args>(args)...) : on_cpu(std::forward<Args>(args)...);
    return;
  }
  Leave done;
  const int64_t bytes = (int64_t(0) + ... + arg_bytes(args));
  cuda ? on_cuda(std::forward<Args>(args)...) : on_cpu(std::forward<Args>(args)...);
  end(r, bytes);
}

// One op outside the kernel list (ops::to_device's copy) under a fixed kind.
template <class Fn>
inline void timed(Kind kind, bool cuda, int64_t bytes, Fn&& fn) {
  Record r;
  if (!enabled() || !begin_kind(kind, cuda, r)) {
    fn();
    return;
  }
  Leave done;
  fn();
  end(r, bytes);
}

}  // namespace vd::profile
