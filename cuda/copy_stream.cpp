// The copy stream's runtime pieces (cuda/api.h, issue 18): StreamEvent, the
// one ordering tool between the compute stream and the copy stream, and the
// asynchronous host-to-device copy on the copy stream. The copy stream itself
// is created with the device's context (cuda/runtime.cpp). Not here: which
// buffers are copied and when (vididi/input_upload.cpp).
#include "core/backend.h"
#include "cuda/api.h"
#include "cuda/check.h"
#include "cuda/context.h"

namespace vd::cuda {

static cudaEvent_t ev(void* e) { return static_cast<cudaEvent_t>(e); }

StreamEvent::StreamEvent() = default;

StreamEvent::~StreamEvent() {
  if (event_) cudaEventDestroy(ev(event_));  // no throw from a destructor
}

static void* make_event() {
  cudaEvent_t e = nullptr;
  VD_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

void StreamEvent::record_on_copy() {
  if (!event_) event_ = make_event();
  VD_CUDA_CHECK(cudaEventRecord(ev(event_), copy_stream()));
}

void StreamEvent::record_on_compute() {
  if (!event_) event_ = make_event();
  VD_CUDA_CHECK(cudaEventRecord(ev(event_), stream()));
}

void StreamEvent::copy_waits() const {
  if (event_) VD_CUDA_CHECK(cudaStreamWaitEvent(copy_stream(), ev(event_), 0));
}

void StreamEvent::compute_waits() const {
  if (event_) VD_CUDA_CHECK(cudaStreamWaitEvent(stream(), ev(event_), 0));
}

void StreamEvent::synchronize() const {
  if (event_) VD_CUDA_CHECK(cudaEventSynchronize(ev(event_)));
}

bool StreamEvent::done() const {
  if (!event_) return true;
  const cudaError_t e = cudaEventQuery(ev(event_));
  if (e == cudaErrorNotReady) return false;
  VD_CUDA_CHECK(e);
  return true;
}

void copy_host_to_device_async(const void* host, void* device, size_t nbytes) {
  if (nbytes == 0) return;
  VD_CUDA_CHECK(cudaMemcpyAsync(device, host, nbytes, cudaMemcpyHostToDevice, copy_stream()));
}

}  // namespace vd::cuda
