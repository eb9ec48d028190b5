// Raw op normalize_frames and the FrameBytes holder (core/frames.h): checks,
// output allocation and the one device switch. The kernels are
// core/cpu/frames.cpp and cuda/frames.cu.
#include <cmath>

#include "core/backend.h"
#include "core/frames.h"

namespace vd {

static void check_frame_shape(const Shape& s, const char* op) {
  bool ok = s.size() == 5 && s[4] == 3;
  for (int64_t d : s) ok = ok && d >= 0;
  VD_CHECK(ok, op << ": expected frames [N, T, H, W, 3], got " << shape_str(s)
                  << "; hint: the loader's uint8 views are RGB, channels last");
}

FrameBytes FrameBytes::empty(const Shape& shape, Device device) {
  check_frame_shape(shape, "FrameBytes::empty");
  FrameBytes f;
  f.storage = std::make_shared<Storage>(size_t(shape_numel(shape)), device);
  f.shape = shape;
  return f;
}

namespace ops {

// x: [N, T, H, W, 3] uint8 -> y: [N, T, H, W, 3] f32 | bf16
Tensor normalize_frames(const FrameBytes& x, const float mean[3], const float std[3], DType dtype) {
  VD_CHECK(x.defined(), "normalize_frames: expected frames, got an empty FrameBytes");
  check_frame_shape(x.shape, "normalize_frames");
  VD_CHECK(x.storage->nbytes >= size_t(x.numel()),
           "normalize_frames: frames " << shape_str(x.shape) << " need " << x.numel() << " bytes, the storage holds "
                                       << x.storage->nbytes);
  VD_CHECK(dtype == DType::F32 || dtype == DType::BF16,
           "normalize_frames: expected an f32 or bf16 output, got " << dtype
                                                                    << "; hint: the network's input is f32 (bf16 on the GPU)");
  FrameNorm norm;
  for (int c = 0; c < 3; ++c) {
    VD_CHECK(std::isfinite(mean[c]) && std::isfinite(std[c]) && std[c] > 0,
             "normalize_frames: expected finite means and positive finite stds, got channel " << c << " mean "
                                                                                             << mean[c] << " std " << std[c]);
    norm.mean[c] = mean[c];
    norm.inv_std[c] = 1.f / std[c];
  }
  Tensor y = Tensor::empty(x.shape, dtype, x.device());
  if (y.numel() == 0) return y;
  const uint8_t* bytes = x.data();
  VD_DISPATCH(x.device(), normalize_frames, bytes, norm, y);
  return y;
}

}  // namespace ops
}  // namespace vd
