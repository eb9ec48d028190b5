// vididi/input_upload.cpp: the two-slot upload of the training input (see
// input_upload.h for the order of the copies and the lifetimes).
#include "vididi/input_upload.h"

#include <cstring>

#include "core/ops.h"

namespace vd::vididi {

InputTransfer resolve_input_transfer(const std::string& key, Device device) {
  if (key == "f32") return InputTransfer::F32;
  if (key == "u8") return InputTransfer::U8;
  if (key == "auto") return device.is_cuda() ? InputTransfer::U8 : InputTransfer::F32;
  throw UsageError("input_transfer: expected auto, f32 or u8, got '" + key + "'", "input_transfer");
}

const char* input_transfer_name(InputTransfer t) { return t == InputTransfer::U8 ? "u8" : "f32"; }

void configure_loader(data::LoaderConfig& lc, InputTransfer t, Device device) {
  lc.frames_u8 = t == InputTransfer::U8;
  if (device.is_cuda()) lc.allocator = cuda::pinned_allocator();
}

struct InputUploader::Slot {
  data::Batch batch;
  bool held = false;                              // batch's host buffers are kept for its copies
  std::vector<std::shared_ptr<Storage>> staging;  // per view, on the device (CUDA only)
  cuda::StreamEvent copied;                       // after the copies, on the copy stream
  cuda::StreamEvent consumed;                     // after take()'s reads of staging, on the compute stream
};

InputUploader::InputUploader(Device device, InputTransfer transfer) : device_(device), transfer_(transfer) {
  for (int i = 0; i < 2; ++i) slots_.push_back(std::make_unique<Slot>());
}

InputUploader::~InputUploader() {
  // Copies still in flight read the held host buffers: wait before they go.
  if (device_.is_cuda())
    for (auto& s : slots_)
      if (s->held) try {
          s->copied.synchronize();
        } catch (...) {
        }
}

namespace {
size_t view_bytes(const data::ViewBatch& v) { return v.numel() * (v.is_u8() ? 1 : sizeof(float)); }
const void* view_host(const data::ViewBatch& v) {
  return v.is_u8() ? static_cast<const void*>(v.bytes.get()) : static_cast<const void*>(v.data.get());
}
Shape view_shape(const data::ViewBatch& v) { return {v.N, v.T, v.H, v.W, v.C}; }
}  // namespace

void InputUploader::issue(data::Batch b) {
  VD_CHECK(in_flight() < slots_.size(), "InputUploader::issue: " << in_flight()
                                            << " batches issued and not taken; hint: take() one first");
  for (const data::ViewBatch& v : b.views)
    VD_CHECK(v.is_u8() == (transfer_ == InputTransfer::U8) && (v.is_u8() || v.data),
             "InputUploader::issue: expected " << input_transfer_name(transfer_) << " views, the loader gave "
                                               << (v.is_u8() ? "u8" : "f32")
                                               << "; hint: configure the loader with configure_loader()");
  Slot& s = *slots_[issued_ % slots_.size()];
  if (device_.is_cuda()) {
    // The slot's previous batch: its copies were waited for by the compute
    // stream at take(); the host waits too before its pinned buffers go back
    // to the loader (long done by now: it was issued two batches ago).
    if (s.held) s.copied.synchronize();
    s.batch = data::Batch();
    s.held = false;
    s.staging.resize(b.views.size());
    bool fresh = false;
    for (size_t v = 0; v < b.views.size(); ++v) {
      const size_t n = view_bytes(b.views[v]);
      if (!s.staging[v] || s.staging[v]->nbytes < n) {
        s.staging[v] = std::make_shared<Storage>(n, device_);
        fresh = true;
      }
    }
    if (fresh) {  // a new block may still be read by compute work queued before it was freed
      cuda::StreamEvent queued;
      queued.record_on_compute();
      queued.copy_waits();
    }
    s.consumed.copy_waits();  // the previous take()'s reads of these buffers
    for (size_t v = 0; v < b.views.size(); ++v)
      cuda::copy_host_to_device_async(view_host(b.views[v]), s.staging[v]->data, view_bytes(b.views[v]));
    s.copied.record_on_copy();
  }
  s.batch = std::move(b);
  s.held = true;
  ++issued_;
}

std::vector<Tensor> InputUploader::take(int64_t* epoch) {
  VD_CHECK(in_flight() > 0, "InputUploader::take: no batch issued; hint: issue() first");
  Slot& s = *slots_[taken_ % slots_.size()];
  ++taken_;
  if (epoch) *epoch = s.batch.epoch;
  std::vector<Tensor> out;
  if (device_.is_cpu()) {
    for (data::ViewBatch& vb : s.batch.views) {
      if (vb.is_u8()) {
        FrameBytes f = FrameBytes::empty(view_shape(vb));
        std::memcpy(f.data(), vb.bytes.get(), vb.numel());
        out.push_back(ops::normalize_frames(f, vb.mean, vb.std, DType::F32));
      } else {  // as the loop did before the uploader: one memcpy into a fresh tensor
        Tensor t = Tensor::empty(view_shape(vb));
        std::memcpy(t.data<float>(), vb.data.get(), vb.numel() * sizeof(float));
        out.push_back(t);
      }
    }
    s.batch = data::Batch();  // nothing in flight on the CPU
    s.held = false;
    return out;
  }
  s.copied.compute_waits();
  for (size_t v = 0; v < s.batch.views.size(); ++v) {
    const data::ViewBatch& vb = s.batch.views[v];
    const Shape shape = view_shape(vb);
    if (vb.is_u8()) {
      FrameBytes f{s.staging[v], shape};
      out.push_back(ops::normalize_frames(f, vb.mean, vb.std, DType::F32));
    } else {  // a fresh tensor, so that the staging buffer is free for the next copy
      auto impl = std::make_shared<TensorImpl>();
      impl->storage = s.staging[v];
      impl->shape = shape;
      impl->strides = contiguous_strides(shape);
      out.push_back(ops::clone(Tensor(impl)));
    }
  }
  s.consumed.record_on_compute();
  return out;
}

}  // namespace vd::vididi
