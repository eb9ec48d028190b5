// Declares the two backends' kernels with one shared list of signatures
// (core/kernel_list.inc), plus the CUDA runtime calls that only the GPU side
// has. core/ops.cpp is the one place that chooses between them.
#pragma once
#include <cstddef>

#include "core/op_types.h"
#include "core/profile.h"
#include "core/tensor.h"

namespace vd::cpu {
#include "core/kernel_list.inc"
}  // namespace vd::cpu

namespace vd::cuda {
#include "core/kernel_list.inc"

// Runtime. With CUDA=0 (cuda/stub/) is_available() is false and the rest
// throw "built without CUDA".
bool is_available();  // built with CUDA and a device is present
int device_count();
std::string device_name(int index);
void set_device(int index);
void copy_host_to_device(const void* host, void* device, size_t nbytes);
void copy_device_to_host(const void* device, void* host, size_t nbytes);
void synchronize();
}  // namespace vd::cuda

// The one device switch of an op: calls the CPU or the CUDA kernel of the same
// signature, through the op profiler's one hook (core/profile.h: a load and a
// branch when profiling is off). Used in core/ops*.cpp only.
#define VD_DISPATCH(device, kernel, ...)                                                   \
  ::vd::profile::dispatch(                                                                \
      (device).is_cuda(), ::vd::profile::Kernel::kernel,                                  \
      [](auto&&... a) { ::vd::cuda::kernel(std::forward<decltype(a)>(a)...); },           \
      [](auto&&... a) { ::vd::cpu::kernel(std::forward<decltype(a)>(a)...); }, __VA_ARGS__)
