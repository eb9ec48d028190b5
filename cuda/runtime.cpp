// CUDA runtime entry points of core/backend.h (availability, device choice,
// host<->device copies, synchronize) and the per-device contexts of
// cuda/context.h. Not the allocator (cuda/allocator.cpp) nor any kernel.
#include <memory>
#include <mutex>
#include <vector>

#include "core/backend.h"
#include "cuda/api.h"
#include "cuda/check.h"
#include "cuda/context.h"

namespace vd::cuda {

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "unknown cublasStatus_t";
}

// --- availability ------------------------------------------------------------------

static int probe_device_count() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the error so that later calls start clean
    return 0;
  }
  return n;
}

int device_count() {
  static const int n = probe_device_count();
  return n;
}

bool is_available() {
  try {
    return device_count() > 0;
  } catch (...) {
    return false;
  }
}

static void require_gpu(const char* what) {
  VD_CHECK(is_available(), what << ": no CUDA device found (cudaGetDeviceCount gave 0 or failed); "
                                   "hint: run on a machine with a GPU and a matching driver, "
                                   "or use device cpu");
}

std::string device_name(int index) {
  require_gpu("device_name");
  VD_CHECK(index >= 0 && index < device_count(),
           "device_name: device " << index << " out of range [0, " << device_count() << ")");
  cudaDeviceProp prop{};
  VD_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return prop.name;
}

void set_device(int index) {
  require_gpu("set_device");
  VD_CHECK(index >= 0 && index < device_count(),
           "set_device: device " << index << " out of range [0, " << device_count()
                                 << "); hint: CUDA_VISIBLE_DEVICES limits what is seen");
  VD_CUDA_CHECK(cudaSetDevice(index));
}

// --- contexts ----------------------------------------------------------------------

static std::mutex g_ctx_mutex;
// Never destroyed: handles outlive static destructors that may still free tensors.
static std::vector<DeviceContext*>* g_contexts = new std::vector<DeviceContext*>();

DeviceContext& context() {
  require_gpu("cuda");
  int dev = 0;
  VD_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(g_ctx_mutex);
  if (g_contexts->size() <= size_t(dev)) g_contexts->resize(size_t(dev) + 1, nullptr);
  DeviceContext*& slot = (*g_contexts)[size_t(dev)];
  if (!slot) {
    auto c = std::make_unique<DeviceContext>();
    c->device = dev;
    VD_CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    VD_CUDNN_CHECK(cudnnCreate(&c->cudnn));
    VD_CUDNN_CHECK(cudnnSetStream(c->cudnn, c->stream));
    VD_CUBLAS_CHECK(cublasCreate(&c->cublas));
    VD_CUBLAS_CHECK(cublasSetStream(c->cublas, c->stream));
    VD_CUBLAS_CHECK(cublasSetPointerMode(c->cublas, CUBLAS_POINTER_MODE_HOST));
    VD_CUDA_CHECK(cudaStreamCreateWithFlags(&c->copy_stream, cudaStreamNonBlocking));
    slot = c.release();
  }
  return *slot;
}

// --- copies and synchronisation ------------------------------------------------------

// Both directions wait for the copy: the host buffer may be pageable and may
// be freed by the caller right after.
void copy_host_to_device(const void* host, void* device, size_t nbytes) {
  if (nbytes == 0) return;
  cudaStream_t s = stream();
  VD_CUDA_CHECK(cudaMemcpyAsync(device, host, nbytes, cudaMemcpyHostToDevice, s));
  VD_CUDA_CHECK(cudaStreamSynchronize(s));
}

void copy_device_to_host(const void* device, void* host, size_t nbytes) {
  if (nbytes == 0) return;
  cudaStream_t s = stream();
  VD_CUDA_CHECK(cudaMemcpyAsync(host, device, nbytes, cudaMemcpyDeviceToHost, s));
  VD_CUDA_CHECK(cudaStreamSynchronize(s));
}

void synchronize() {
  if (!is_available()) return;
  std::vector<DeviceContext*> ctxs;
  {
    std::lock_guard<std::mutex> lock(g_ctx_mutex);
    for (DeviceContext* c : *g_contexts)
      if (c) ctxs.push_back(c);
  }
  for (DeviceContext* c : ctxs) {
    VD_CUDA_CHECK(cudaStreamSynchronize(c->stream));
    VD_CUDA_CHECK(cudaStreamSynchronize(c->copy_stream));
  }
}

// --- timing ----------------------------------------------------------------------

std::vector<float> time_each_ms(const std::function<void()>& work, int iters) {
  VD_CHECK(iters > 0, "time_each_ms: expected iters > 0, got " << iters);
  cudaStream_t s = stream();
  std::vector<cudaEvent_t> ev(size_t(iters) + 1);
  for (auto& e : ev) VD_CUDA_CHECK(cudaEventCreate(&e));
  std::vector<float> ms(static_cast<size_t>(iters));
  try {
    VD_CUDA_CHECK(cudaEventRecord(ev[0], s));
    for (int i = 0; i < iters; ++i) {
      work();
      VD_CUDA_CHECK(cudaEventRecord(ev[size_t(i) + 1], s));
    }
    VD_CUDA_CHECK(cudaEventSynchronize(ev.back()));
    for (int i = 0; i < iters; ++i)
      VD_CUDA_CHECK(cudaEventElapsedTime(&ms[size_t(i)], ev[size_t(i)], ev[size_t(i) + 1]));
  } catch (...) {
    for (auto& e : ev) cudaEventDestroy(e);
    throw;
  }
  for (auto& e : ev) VD_CUDA_CHECK(cudaEventDestroy(e));
  return ms;
}

// --- op profiler ----------------------------------------------------------------
// One pool of events, reused across collects; the pending pairs in the order
// recorded. Called from the thread that enabled profiling only.

namespace {
struct ProfilePair {
  size_t start, stop;
  int kind;
};
std::vector<cudaEvent_t> g_prof_events;
size_t g_prof_used = 0;
std::vector<ProfilePair> g_prof_pairs;
size_t g_prof_open = 0;  // index of the start event of the op in progress

size_t profile_record() {
  if (g_prof_used == g_prof_events.size()) {
    cudaEvent_t e;
    VD_CUDA_CHECK(cudaEventCreate(&e));
    g_prof_events.push_back(e);
  }
  VD_CUDA_CHECK(cudaEventRecord(g_prof_events[g_prof_used], stream()));
  return g_prof_used++;
}
}  // namespace

void profile_event_begin() { g_prof_open = profile_record(); }

void profile_event_end(int kind) { g_prof_pairs.push_back({g_prof_open, profile_record(), kind}); }

void profile_collect(double* ms_per_kind, size_t n) {
  if (!g_prof_pairs.empty()) {
    VD_CUDA_CHECK(cudaEventSynchronize(g_prof_events[g_prof_pairs.back().stop]));
    for (const ProfilePair& p : g_prof_pairs) {
      float ms = 0;
      VD_CUDA_CHECK(cudaEventElapsedTime(&ms, g_prof_events[p.start], g_prof_events[p.stop]));
      if (p.kind >= 0 && size_t(p.kind) < n) ms_per_kind[p.kind] += double(ms);
    }
  }
  g_prof_pairs.clear();
  g_prof_used = 0;
}

}  // namespace vd::cuda
