// The CUDA backend's own public API beyond core/backend.h: memory statistics
// of the caching allocator, pinned host buffers, and the
// convolution-algorithm settings. Declared for every build: with CUDA=0 the
// stub (cuda/stub/cuda_stub.cpp) returns zeros and refuses pinned memory.
// Not the kernels (core/kernel_list.inc) and not the precision setting
// (core/precision.h).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vd::cuda {

// --- caching allocator (cuda/allocator.cpp) -----------------------------------
struct MemoryStats {
  size_t current_bytes = 0;   // in blocks handed out now (rounded sizes)
  size_t peak_bytes = 0;      // max of current_bytes since start or reset_peak_memory()
  size_t reserved_bytes = 0;  // held from cudaMalloc: in use plus cached
  size_t device_mallocs = 0;  // cudaMalloc calls so far
  size_t cache_hits = 0;      // allocations served from the cache
  size_t graph_pool_bytes = 0;  // of reserved_bytes, held by the CUDA graph pool (cuda/graph.cpp)
};
MemoryStats memory_stats();
void reset_peak_memory();
// Returns every cached (free) block to the driver; blocks in use stay.
void empty_cache();
// The size a request of `nbytes` is rounded to: 512 B steps up to 1 MiB, then
// 2 MiB steps. Blocks are reused by this size class.
size_t round_size(size_t nbytes);

// Pinned (page-locked) host memory: a callback with the signature of
// data::BufferAllocator that hands out `count` floats; freed buffers go back
// to a cache keyed by size. Throws when there is no GPU. The training loop
// passes it to the data loader on a CUDA device (vididi/train_loop.cpp).
std::function<std::shared_ptr<float>(size_t count)> pinned_allocator();

// --- convolution algorithms (cuda/conv3d.cpp) ------------------------------
// benchmark: choose each shape's algorithm by timing (cudnnFind*) instead of
// cuDNN's heuristics. deterministic (default on): only algorithms whose
// results repeat bit for bit. Changing either clears the algorithm cache.
void set_conv_benchmark(bool on);
bool conv_benchmark();
void set_conv_deterministic(bool on);
bool conv_deterministic();
struct ConvCacheStats {
  size_t entries = 0, hits = 0, misses = 0;
};
ConvCacheStats conv_cache_stats();
void conv_cache_clear();
// "fwd algo 1, workspace 0 B" for the last convolution of each kind (0 fwd,
// 1 backward-data, 2 backward-filter); "" before the first.
std::string conv_last_choice(int kind);
// One line per cached choice, sorted: "fwd bf16 x[N,T,H,W,Ci] w[Co,kT,kH,kW,Ci]
// stride s,s,s: algo A, math M, workspace W B" (bench --profile prints them).
std::vector<std::string> conv_choices();

// --- timing (cuda/runtime.cpp) -----------------------------------------------
// Enqueues `work` `iters` times on the current device's stream with a CUDA
// event between calls, waits once, and returns each call's GPU time in ms.
// For benchmarks: the host runs ahead, so launch gaps do not count.
std::vector<float> time_each_ms(const std::function<void()>& work, int iters);

// --- op profiler (core/profile.h; cuda/runtime.cpp) ----------------------------
// profile_event_begin records a start event on the current device's stream;
// profile_event_end records the stop event and keeps the pair under `kind`.
// profile_collect waits for the pending pairs, adds each pair's elapsed ms to
// ms_per_kind[kind] (kinds >= n are dropped) and recycles the events. The
// stub's begin/end do nothing and collect adds nothing.
void profile_event_begin();
void profile_event_end(int kind);
void profile_collect(double* ms_per_kind, size_t n);

// --- CUDA graphs (cuda/graph.cpp; used by vididi/graph_step.cpp) -----------------
// graph_capture_begin() starts capturing the current device's stream
// (cudaStreamCaptureModeThreadLocal: this thread may not synchronise, read
// back or cudaMalloc until the end); the work enqueued until
// graph_capture_end() is recorded, not run, and this thread's allocations
// come from the allocator's graph pool (cuda/allocator.cpp). The handles of
// cuDNN and cuBLAS are already bound to that stream (cuda/context.h).
// graph_capture_end() returns the instantiated graph, or nullptr with the
// reason in *why when the capture was invalidated (a host synchronisation,
// a copy from the host, an allocation the cache could not serve).
// graph_capture_abort() ends a capture that threw, discarding it.
// graph_launch() replays it on the device's stream. The stub refuses.
struct GraphExec;
void graph_capture_begin();
std::shared_ptr<GraphExec> graph_capture_end(std::string* why);
void graph_capture_abort();
void graph_launch(const GraphExec& graph);
// --- input upload on the copy stream (issue 18; cuda/copy_stream.cpp) ---------
// The current device has two streams: the compute stream, on which every
// kernel runs, and a copy stream for the training input's host-to-device
// copies (vididi/input_upload.h), so that the next batch crosses PCIe while
// the current step computes. The two are ordered by StreamEvents only.
//
// An event that is not yet recorded counts as complete (wait and
// synchronize return at once), as in CUDA. With CUDA=0 the constructor and
// destructor do nothing and every other call throws "built without CUDA".
class StreamEvent {
 public:
  StreamEvent();
  ~StreamEvent();
  StreamEvent(const StreamEvent&) = delete;
  StreamEvent& operator=(const StreamEvent&) = delete;
  void record_on_copy();     // marks the work enqueued on the copy stream so far
  void record_on_compute();  // marks the work enqueued on the compute stream so far
  void copy_waits() const;     // later copy-stream work waits for the marked work (no host wait)
  void compute_waits() const;  // later compute-stream work waits for it (no host wait)
  void synchronize() const;    // the host waits for it
  bool done() const;           // complete now (no wait)

 private:
  void* event_ = nullptr;  // cudaEvent_t, created lazily (without timing)
};
// Enqueues a copy of nbytes from host to device on the copy stream and
// returns at once. `host` must stay valid and unchanged until an event
// recorded after it on the copy stream completes; it should be pinned
// (pinned_allocator), else the driver stages it through pageable memory and
// the copy does not overlap. `device` must not be in use by queued compute
// work: make the copy stream wait for it (StreamEvent) first.
void copy_host_to_device_async(const void* host, void* device, size_t nbytes);

}  // namespace vd::cuda
