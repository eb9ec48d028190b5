// core/frames.h: uint8 video frames [N, T, H, W, 3] on one device, the
// compact form in which the training input crosses PCIe (issue 18), and the
// raw op that turns them into the network's normalised input.
//
// Why not a Tensor: core/dtype.h has no uint8 dtype, and adding one would put
// a fourth case in every dtype switch of both backends (copy, casts,
// printing, checkpoints, the profiler) for a type that only this one op
// reads. FrameBytes is instead the smallest honest holder: a reference-counted
// Storage (core/tensor.h: the caching allocator on the GPU, counted in the
// live bytes) plus its shape. It has no strides (always dense) and no
// autograd; the only things done with it are filling its bytes (a host
// memcpy or a host-to-device copy) and normalize_frames.
//
// Not here: how the loader rounds to uint8 (data/augment.h
// apply_augment_u8), the upload on the copy stream (vididi/input_upload.h).
#pragma once
#include <cstdint>
#include <memory>

#include "core/tensor.h"

namespace vd {

struct FrameBytes {
  std::shared_ptr<Storage> storage;
  Shape shape;  // [N, T, H, W, 3]

  // Uninitialised bytes of `shape` on `device`; shape must be [N, T, H, W, 3].
  static FrameBytes empty(const Shape& shape, Device device = Device::cpu());
  bool defined() const { return storage != nullptr; }
  int64_t numel() const { return shape_numel(shape); }  // = bytes
  uint8_t* data() const { return static_cast<uint8_t*>(storage->data); }
  Device device() const { return storage->device; }
};

namespace ops {
// x: [N, T, H, W, 3] uint8 -> [N, T, H, W, 3] of `dtype` (f32 or bf16) on x's
// device: (x / 255 - mean[c]) / std[c], computed in f32 as data/augment.cpp
// normalises, (float(x) / 255 - mean[c]) * (1 / std[c]), then rounded to
// dtype. std must be positive and finite.
Tensor normalize_frames(const FrameBytes& x, const float mean[3], const float std[3], DType dtype = DType::F32);
}  // namespace ops

}  // namespace vd
