// The op profiler (core/profile.h): counts, bytes and host time per op kind;
// the GPU times come from cuda::profile_event_begin/end/collect (cuda/api.h).
#include "core/profile.h"

#include <chrono>
#include <thread>

#include "core/op_types.h"
#include "cuda/api.h"

namespace vd::profile {

namespace detail {
std::atomic<bool> g_enabled{false};
}

namespace {
std::thread::id g_owner;  // the thread that enabled recording
Stats g_stats;
bool g_gpu_pending = false;  // events recorded since the last collect
std::atomic<int64_t> g_live{0}, g_peak{0};
thread_local int t_scope = -1;  // Kind of the innermost ProfileScope, -1 = none

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void collect_gpu() {
  if (!g_gpu_pending) return;
  std::array<double, kKinds> ms{};
  cuda::profile_collect(ms.data(), kKinds);
  for (size_t k = 0; k < kKinds; ++k) g_stats.kinds[k].gpu_ms += ms[k];
  g_gpu_pending = false;
}
}  // namespace

const char* kind_name(Kind k) {
  static const char* names[kKinds] = {
      "conv fwd", "conv bwd-data", "conv bwd-filter", "batch norm", "relu",    "add",
      "elementwise", "pool",       "gemm",            "cast",       "copy",    "reduce",
      "softmax",  "roi_align",     "optimizer",       "loss",       "finite check", "host<->device", "other"};
  return size_t(k) < kKinds ? names[size_t(k)] : "?";
}

KindStats Stats::total() const {
  KindStats t;
  for (const KindStats& k : kinds) {
    t.count += k.count, t.bytes += k.bytes;
    t.host_ms += k.host_ms, t.gpu_ms += k.gpu_ms;
  }
  return t;
}

void enable(bool on) {
  if (on) {
    g_owner = std::this_thread::get_id();
    reset();
  } else {
    collect_gpu();
  }
  detail::g_enabled.store(on, std::memory_order_release);
}

void reset() {
  collect_gpu();  // drains (and drops) pending GPU pairs
  g_stats = Stats{};
}

Stats stats() {
  collect_gpu();
  return g_stats;
}

int64_t live_bytes() { return g_live.load(); }
int64_t peak_live_bytes() { return g_peak.load(); }
void reset_peak_live_bytes() { g_peak.store(g_live.load()); }

void storage_created(size_t nbytes) {
  const int64_t v = g_live.fetch_add(int64_t(nbytes)) + int64_t(nbytes);
  int64_t p = g_peak.load();
  while (v > p && !g_peak.compare_exchange_weak(p, v)) {
  }
}
void storage_freed(size_t nbytes) { g_live.fetch_sub(int64_t(nbytes)); }

namespace {
int64_t g_step_live = -1;  // live bytes at the last mark_step_begin, -1 = none open
bool owner_recording() { return enabled() && std::this_thread::get_id() == g_owner; }
}  // namespace

void mark_step_begin() {
  if (!owner_recording()) return;
  g_step_live = live_bytes();
  reset_peak_live_bytes();
}

void mark_backward_begin() {
  if (!owner_recording() || g_step_live < 0) return;
  g_stats.steps += 1;
  g_stats.saved_bytes += live_bytes() - g_step_live;
  g_stats.forward_peak_bytes += peak_live_bytes() - g_step_live;
  g_step_live = -1;
}

ProfileScope::ProfileScope(Kind kind) : previous_(t_scope) { t_scope = int(kind); }
ProfileScope::~ProfileScope() { t_scope = previous_; }

Kind classify(Kernel k, const void* first, const void* second) {
  switch (k) {
    case Kernel::copy: {
      const auto* src = static_cast<const Tensor*>(first);
      const auto* dst = static_cast<const Tensor*>(second);
      return src->dtype() != dst->dtype() ? Kind::Cast : Kind::Copy;
    }
    case Kernel::fill: return Kind::Copy;
    case Kernel::unary:
      return *static_cast<const UnaryOp*>(first) == UnaryOp::Relu ? Kind::Relu : Kind::Elementwise;
    case Kernel::binary: {
      const BinaryOp op = *static_cast<const BinaryOp*>(first);
      return op == BinaryOp::ReluGrad ? Kind::Relu : op == BinaryOp::Add ? Kind::Add : Kind::Elementwise;
    }
    case Kernel::reduce: return Kind::Reduce;
    case Kernel::gemm: return Kind::Gemm;
    case Kernel::conv3d_forward: return Kind::ConvFwd;
    case Kernel::conv3d_backward_data: return Kind::ConvBwdData;
    case Kernel::conv3d_backward_weight: return Kind::ConvBwdFilter;
    case Kernel::max_pool3d_forward:
    case Kernel::max_pool3d_backward:
    case Kernel::avg_pool3d_forward:
    case Kernel::avg_pool3d_backward: return Kind::Pool;
    case Kernel::batch_norm_stats:
    case Kernel::batch_norm_apply:
    case Kernel::batch_norm_backward: return Kind::BatchNorm;
    case Kernel::softmax_forward:
    case Kernel::softmax_backward: return Kind::Softmax;
    case Kernel::roi_align_forward:
    case Kernel::roi_align_backward: return Kind::RoiAlign;
    case Kernel::batch_norm_act_forward:
    case Kernel::batch_norm_act_backward: return Kind::BatchNorm;
    case Kernel::fused_sgd:
    case Kernel::fused_lars_sumsq:
    case Kernel::fused_lars:
    case Kernel::fused_adamw: return Kind::Optimizer;
    case Kernel::normalize_frames: return Kind::Cast;  // uint8 frames to f32/bf16
  }
  return Kind::Other;
}

namespace {
int g_depth = 0;  // ops in progress on the owner thread
}

void leave() { --g_depth; }

bool begin_kind(Kind kind, bool cuda, Record& r) {
  if (std::this_thread::get_id() != g_owner) return false;
  if (g_depth > 0) {
    g_stats.nested += 1;
    return false;
  }
  ++g_depth;
  r.kind = t_scope >= 0 ? Kind(t_scope) : kind;
  r.cuda = cuda;
  if (cuda) cuda::profile_event_begin();
  r.start_ns = now_ns();
  return true;
}

bool begin(Kernel k, bool cuda, const void* first, const void* second, Record& r) {
  if (std::this_thread::get_id() != g_owner) return false;
  return begin_kind(classify(k, first, second), cuda, r);
}

void end(const Record& r, int64_t bytes) {
  const int64_t t = now_ns() - r.start_ns;
  if (r.cuda) {
    cuda::profile_event_end(int(r.kind));
    g_gpu_pending = true;
  }
  KindStats& s = g_stats.kinds[size_t(r.kind)];
  s.count += 1;
  s.bytes += bytes;
  s.host_ms += double(t) * 1e-6;
}

}  // namespace vd::profile
