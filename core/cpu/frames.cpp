// CPU kernel of normalize_frames (core/kernel_list.inc; raw op in
// core/ops_frames.cpp): uint8 frames to the network's normalised f32 (or
// bf16) input, one plain loop, the reference for cuda/frames.cu. The
// arithmetic is data/augment.cpp's normalisation, (v - mean) * inv_std with
// v = x / 255 in f32, so that rounded frames normalise exactly as the f32
// loader path would have normalised the same rounded values.
#include "core/backend.h"
#include "core/bf16.h"

namespace vd::cpu {

// x: [N, T, H, W, 3] uint8, out: same shape, f32 | bf16, contiguous
void normalize_frames(const uint8_t* x, const FrameNorm& norm, Tensor& out) {
  VD_CHECK(out.is_contiguous() && (out.dtype() == DType::F32 || out.dtype() == DType::BF16),
           "normalize_frames: expected a contiguous f32 or bf16 output, got " << describe(out));
  const int64_t pixels = out.numel() / 3;
  const bool to_bf16 = out.dtype() == DType::BF16;
  float* y32 = to_bf16 ? nullptr : static_cast<float*>(out.data_ptr());
  bf16* y16 = to_bf16 ? static_cast<bf16*>(out.data_ptr()) : nullptr;
  for (int64_t p = 0; p < pixels; ++p)
    for (int c = 0; c < 3; ++c) {
      const int64_t i = p * 3 + c;
      const float v = float(x[i]) / 255.f;
      const float y = (v - norm.mean[c]) * norm.inv_std[c];
      if (to_bf16)
        y16[i] = float_to_bf16(y);
      else
        y32[i] = y;
    }
}

}  // namespace vd::cpu
