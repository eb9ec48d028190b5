// CUDA twin of core/cpu/frames.cpp: normalize_frames, uint8 frames
// [N, T, H, W, 3] to the network's normalised f32 or bf16 input on the
// compute stream. The same f32 arithmetic as the CPU reference, written with
// explicitly rounded intrinsics so that nvcc cannot contract it into an FMA:
// the f32 result equals the CPU's bit for bit (tests/test_cuda_frames.cpp).
// The bytes come from the copy stream (vididi/input_upload.cpp), which the
// caller has made the compute stream wait for.
#include "core/backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"

namespace vd::cuda {

namespace {

template <class T>
__global__ void normalize_frames_kernel(const uint8_t* x, FrameNorm norm, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int c = int(i % 3);
    const float v = __fdiv_rn(float(x[i]), 255.f);
    y[i] = from_acc<T>(__fmul_rn(__fsub_rn(v, norm.mean[c]), norm.inv_std[c]));
  }
}

}  // namespace

// x: [N, T, H, W, 3] uint8 (device), out: same shape, f32 | bf16, contiguous
void normalize_frames(const uint8_t* x, const FrameNorm& norm, Tensor& out) {
  VD_CHECK(out.is_contiguous() && (out.dtype() == DType::F32 || out.dtype() == DType::BF16),
           "normalize_frames: expected a contiguous f32 or bf16 output, got " << describe(out));
  const int64_t n = out.numel();
  if (n == 0) return;
  constexpr int threads = 256;
  if (out.dtype() == DType::F32)
    normalize_frames_kernel<float><<<grid_for(n, threads), threads, 0, stream()>>>(
        x, norm, static_cast<float*>(out.data_ptr()), n);
  else
    normalize_frames_kernel<bf16_t><<<grid_for(n, threads), threads, 0, stream()>>>(
        x, norm, static_cast<bf16_t*>(out.data_ptr()), n);
  VD_CUDA_LAUNCH("normalize_frames");
}

}  // namespace vd::cuda
