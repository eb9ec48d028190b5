// vididi/input_upload.h: the training input on its way from the loader to the
// device (issue 18). The loop (vididi/train_loop.cpp) issues batch s + 1
// before it takes batch s, so that on a CUDA device the next batch crosses
// PCIe on the copy stream while the current step computes:
//
//   issue(s + 1): host-to-device copies of its views from pinned buffers on
//                 the copy stream, an event after them; returns at once.
//   take(s):      the compute stream waits for batch s's event (the host
//                 does not), and the views become the network's input:
//                 normalize_frames of the bytes (u8) or a device copy of the
//                 floats (f32), both enqueued on the compute stream.
//
// Lifetimes (the hazards of a second stream, docs/CUDA.md): each of the two
// slots owns its device staging buffers, so the caching allocator never hands
// them to anyone else; a slot's next copy waits (on the copy stream) for the
// event recorded after its previous take's reads, and a newly allocated
// staging buffer first waits for the compute stream's work queued so far (the
// block may have been freed by kernels still queued there). The slot holds
// the loader's Batch (its pinned host buffers) until the copy has completed,
// so the loader cannot reuse pinned memory that a copy still reads.
//
// On the CPU nothing is copied: f32 views become tensors by one memcpy, as
// before this file existed (bit for bit); u8 views (input_transfer = u8 set
// explicitly) are normalised by the CPU kernel. Not here: the loader
// (data/loader.h), the kernels (core/frames.h), the runtime (cuda/api.h).
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/frames.h"
#include "core/tensor.h"
#include "cuda/api.h"
#include "data/loader.h"

namespace vd::vididi {

enum class InputTransfer { F32, U8 };
// "auto" | "f32" | "u8" (TrainConfig::input_transfer) on `device`: auto is
// u8 on a CUDA device and f32 on the CPU.
InputTransfer resolve_input_transfer(const std::string& key, Device device);
const char* input_transfer_name(InputTransfer t);  // "f32" | "u8"

// The loader settings that go with a transfer on a device: frames_u8 for u8,
// and pinned host buffers (cuda::pinned_allocator) on a CUDA device.
void configure_loader(data::LoaderConfig& lc, InputTransfer t, Device device);

class InputUploader {
 public:
  InputUploader(Device device, InputTransfer transfer);
  ~InputUploader();
  InputUploader(const InputUploader&) = delete;
  InputUploader& operator=(const InputUploader&) = delete;

  // Starts batch `b` towards the device (at most two issued and not yet
  // taken). Its views must be u8 for a u8 transfer, f32 for f32.
  void issue(data::Batch b);
  // The oldest issued batch: its views as [N, T + k, H, W, 3] f32 tensors on
  // the device, in view order, and the batch's bookkeeping (epoch, index;
  // its view buffers may be held back until their copies are done).
  std::vector<Tensor> take(int64_t* epoch = nullptr);
  size_t in_flight() const { return issued_ - taken_; }

 private:
  struct Slot;
  Device device_;
  InputTransfer transfer_;
  std::vector<std::unique_ptr<Slot>> slots_;  // two on a CUDA device
  size_t issued_ = 0, taken_ = 0;
};

}  // namespace vd::vididi
