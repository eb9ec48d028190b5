// The caching device allocator behind vd::cuda::alloc/release, and pinned host
// buffers in the shape of the data loader's allocator hook (API in
// cuda/api.h; no program passes them to a loader yet). Freed blocks go to a free
// list per device and size class and are handed out again, so a training
// step in steady state calls no cudaMalloc.
//
// Stream order makes immediate reuse safe: every kernel of the backend runs
// on its device's single stream (cuda/context.h). A Storage may be released
// while kernels queued on that stream still read the block; the next user of
// the block enqueues its work on the same stream, after them. Code that uses
// another stream must synchronise before releasing memory it touched.
//
// Not a splitting allocator: a block serves requests of its own size class
// (small) or up to 1/4 smaller (large); empty_cache() returns cached blocks.
//
// The graph pool (cuda/graph_pool.h): while a thread captures a CUDA graph,
// its allocations come from the graph pool's free list, else from the
// ordinary free list (the block then joins the pool), and never from
// cudaMalloc (the capture fails with a vd::Error instead; the uncaptured
// warm-up steps fill the cache first). A pool block stays in the pool for
// good: freed, it returns to the pool's list, so no ordinary allocation can
// take memory a captured graph writes when it is replayed; so does a block
// the capturing thread frees during the capture (the graph may read it).
#include <map>
#include <thread>
#include <mutex>
#include <unordered_map>

#include "core/backend.h"
#include "cuda/api.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/graph_pool.h"

namespace vd::cuda {

namespace {

constexpr size_t kSmallStep = 512, kSmallMax = size_t(1) << 20, kLargeStep = size_t(2) << 20;

struct Block {
  size_t size;
  int device;
  bool graph;  // belongs to the graph pool
};

struct Cache {
  std::mutex mu;
  std::unordered_map<void*, Block> active;
  std::multimap<std::pair<int, size_t>, void*> free;  // (device, size) -> block
  std::multimap<std::pair<int, size_t>, void*> graph_free;  // the graph pool's free blocks
  bool capturing = false;                                   // graph_pool_begin() .. graph_pool_end()
  std::thread::id capture_thread;
  int live_graphs = 0;  // graph_pool_graphs(): while > 0 empty_cache keeps graph_free
  MemoryStats stats;
  // pinned host buffers
  std::multimap<size_t, void*> pinned_free;
};

// Never destroyed: tensors freed by static destructors still find it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

// Frees every cached block (caller holds the lock).
void release_cached(Cache& c) {
  if (c.free.empty()) return;
  VD_CUDA_CHECK(cudaDeviceSynchronize());
  int current = 0;
  VD_CUDA_CHECK(cudaGetDevice(&current));
  auto give_back = [&](std::multimap<std::pair<int, size_t>, void*>& list) {
    for (auto& kv : list) {
      VD_CUDA_CHECK(cudaSetDevice(kv.first.first));
      VD_CUDA_CHECK(cudaFree(kv.second));
      c.stats.reserved_bytes -= kv.first.second;
    }
    list.clear();
  };
  give_back(c.free);
  if (c.live_graphs == 0) {
    for (auto& kv : c.graph_free) c.stats.graph_pool_bytes -= kv.first.second;
    give_back(c.graph_free);
  }
  VD_CUDA_CHECK(cudaSetDevice(current));
}

// The first block of `list` on `dev` that serves `size` (within `limit`), or end().
std::multimap<std::pair<int, size_t>, void*>::iterator find_fit(std::multimap<std::pair<int, size_t>, void*>& list,
                                                               int dev, size_t size, size_t limit) {
  auto it = list.lower_bound({dev, size});
  if (it != list.end() && it->first.first == dev && it->first.second <= limit) return it;
  return list.end();
}

}  // namespace

size_t round_size(size_t n) {
  if (n <= kSmallMax) return (n + kSmallStep - 1) / kSmallStep * kSmallStep;
  return (n + kLargeStep - 1) / kLargeStep * kLargeStep;
}

void* alloc(size_t nbytes) {
  context();  // checks that a GPU is there, creates the stream
  int dev = 0;
  VD_CUDA_CHECK(cudaGetDevice(&dev));
  const size_t size = round_size(nbytes == 0 ? 1 : nbytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  const size_t limit = size <= kSmallMax ? size : size + size / 4;
  void* p = nullptr;
  size_t got = size;
  const bool graph = c.capturing && std::this_thread::get_id() == c.capture_thread;
  if (graph) {  // the graph pool first, then an ordinary cached block, which joins the pool
    auto it = find_fit(c.graph_free, dev, size, limit);
    bool from_pool = it != c.graph_free.end();
    if (!from_pool) it = find_fit(c.free, dev, size, limit);
    VD_CHECK(from_pool || it != c.free.end(),
             "CUDA graph capture needs a new device block of " << size << " bytes, and cudaMalloc is not called "
                 "during a capture; hint: the uncaptured warm-up steps fill the cache (the step allocated "
                 "something the warm-up did not)");
    p = it->second;
    got = it->first.second;
    (from_pool ? c.graph_free : c.free).erase(it);
    if (!from_pool) c.stats.graph_pool_bytes += got;
    ++c.stats.cache_hits;
  } else if (auto it = find_fit(c.free, dev, size, limit); it != c.free.end()) {
    p = it->second;
    got = it->first.second;
    c.free.erase(it);
    ++c.stats.cache_hits;
  } else {
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation) {  // give the cache back and try once more
      cudaGetLastError();
      release_cached(c);
      e = cudaMalloc(&p, size);
    }
    VD_CHECK(e == cudaSuccess, "cudaMalloc(" << size << " bytes) failed: " << cudaGetErrorName(e)
                                             << " (" << cudaGetErrorString(e) << "); in use "
                                             << c.stats.current_bytes << " B, reserved "
                                             << c.stats.reserved_bytes
                                             << " B; hint: lower the batch size or use bf16");
    ++c.stats.device_mallocs;
    c.stats.reserved_bytes += size;
  }
  c.active[p] = Block{got, dev, graph};
  c.stats.current_bytes += got;
  if (c.stats.current_bytes > c.stats.peak_bytes) c.stats.peak_bytes = c.stats.current_bytes;
  return p;
}

void release(void* ptr, size_t) {
  if (!ptr) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.active.find(ptr);
  if (it == c.active.end()) return;  // not ours: ignore rather than abort in a destructor
  c.stats.current_bytes -= it->second.size;
  // A block freed by the capturing thread during a capture joins the pool too:
  // the graph may read it when replayed (a tensor made before the capture and
  // dropped inside it), so no uncaptured work may take it.
  const bool to_pool = !it->second.graph && c.capturing && std::this_thread::get_id() == c.capture_thread;
  if (to_pool) c.stats.graph_pool_bytes += it->second.size;
  (it->second.graph || to_pool ? c.graph_free : c.free)
      .emplace(std::make_pair(it->second.device, it->second.size), ptr);
  c.active.erase(it);
}

MemoryStats memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void reset_peak_memory() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.peak_bytes = c.stats.current_bytes;
}

void empty_cache() {
  if (!is_available()) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  release_cached(c);
}

// --- the graph pool (cuda/graph_pool.h) ---------------------------------------------

void graph_pool_begin() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  VD_CHECK(!c.capturing, "graph_pool_begin: a CUDA graph capture is already in progress; hint: one capture at a time");
  c.capturing = true;
  c.capture_thread = std::this_thread::get_id();
}

void graph_pool_end() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.capturing = false;
}

void graph_pool_reclaim() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.live_graphs > 0 || c.capturing) return;
  for (auto& kv : c.graph_free) {
    c.stats.graph_pool_bytes -= kv.first.second;
    c.free.emplace(kv.first, kv.second);
  }
  c.graph_free.clear();
}

void graph_pool_graphs(int delta) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.live_graphs += delta;
}

// --- pinned host memory ------------------------------------------------------------

static void pinned_return(void* p, size_t nbytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.pinned_free.emplace(nbytes, p);
}

std::function<std::shared_ptr<float>(size_t)> pinned_allocator() {
  VD_CHECK(is_available(), "pinned_allocator: no CUDA device found; hint: use the loader's "
                           "default (pageable) allocator on the CPU");
  return [](size_t count) -> std::shared_ptr<float> {
    const size_t nbytes = round_size(count * sizeof(float));
    void* p = nullptr;
    {
      Cache& c = cache();
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.pinned_free.find(nbytes);
      if (it != c.pinned_free.end()) {
        p = it->second;
        c.pinned_free.erase(it);
      }
    }
    if (!p) VD_CUDA_CHECK(cudaHostAlloc(&p, nbytes, cudaHostAllocDefault));
    return std::shared_ptr<float>(static_cast<float*>(p),
                                  [nbytes](float* q) { pinned_return(q, nbytes); });
  };
}

}  // namespace vd::cuda
