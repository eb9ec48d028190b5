// Status checks for CUDA runtime, cuDNN and cuBLAS calls: each failure throws
// vd::Error naming the call, the status string, and a hint. Private to cuda/.
// Kernel launches are checked with VD_CUDA_LAUNCH(name) right after <<<>>>.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/errors.h"

namespace vd::cuda {
const char* cublas_status_name(cublasStatus_t s);
}  // namespace vd::cuda

#define VD_CUDA_CHECK(call)                                                                  \
  do {                                                                                       \
    cudaError_t vd_e_ = (call);                                                              \
    VD_CHECK(vd_e_ == cudaSuccess, #call << " failed: " << cudaGetErrorName(vd_e_) << " ("  \
                                         << cudaGetErrorString(vd_e_)                       \
                                         << "); hint: check the device with nvidia-smi");    \
  } while (0)

#define VD_CUDNN_CHECK(call)                                                           \
  do {                                                                                 \
    cudnnStatus_t vd_s_ = (call);                                                      \
    VD_CHECK(vd_s_ == CUDNN_STATUS_SUCCESS,                                            \
             #call << " failed: " << cudnnGetErrorString(vd_s_)                        \
                   << "; hint: check the shapes, dtype and that libcudnn matches the build"); \
  } while (0)

#define VD_CUBLAS_CHECK(call)                                                           \
  do {                                                                                  \
    cublasStatus_t vd_b_ = (call);                                                      \
    VD_CHECK(vd_b_ == CUBLAS_STATUS_SUCCESS,                                            \
             #call << " failed: " << ::vd::cuda::cublas_status_name(vd_b_)              \
                   << "; hint: check the shapes, dtype and that libcublas matches the build"); \
  } while (0)

// After a kernel launch: a launch error (bad configuration) names the kernel.
#define VD_CUDA_LAUNCH(name)                                                          \
  do {                                                                                \
    cudaError_t vd_e_ = cudaGetLastError();                                           \
    VD_CHECK(vd_e_ == cudaSuccess, "kernel " << (name) << " launch failed: "           \
                                             << cudaGetErrorName(vd_e_) << " ("       \
                                             << cudaGetErrorString(vd_e_) << ")");    \
  } while (0)
