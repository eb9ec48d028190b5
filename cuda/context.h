// Per-device state of the CUDA backend: one compute stream, one cuDNN handle
// and one cuBLAS handle per device, created on first use (cuda/runtime.cpp),
// and a copy stream that only the input upload uses (cuda/copy_stream.cpp).
// Every kernel, copy and library call of the backend runs on the current
// device's compute stream, so work is ordered and a freed block can be reused at once (see
// cuda/allocator.cpp). Private to cuda/.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

namespace vd::cuda {

struct DeviceContext {
  int device = 0;
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  // issue 18: a second stream for host-to-device input uploads only
  // (cuda/copy_stream.cpp); work on it is ordered against the compute stream
  // above by events alone.
  cudaStream_t copy_stream = nullptr;
};

// The context of the calling thread's current device (cudaGetDevice); throws
// a clear vd::Error when no GPU is present.
DeviceContext& context();
inline cudaStream_t stream() { return context().stream; }
inline cudaStream_t copy_stream() { return context().copy_stream; }

}  // namespace vd::cuda
