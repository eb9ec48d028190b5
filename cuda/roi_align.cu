// CUDA RoIAlign, channels-last, forward and backward, with the CPU kernel's
// geometry (core/roi_align_geom.h: torchvision's roi_align). f32 and f64;
// bf16 is refused (cast the feature map to f32).
//
// Forward: one thread per output element (box, bin, channel); adjacent
// threads read adjacent channels of the same taps.
// Backward: deterministic, no atomics. torchvision scatters with atomicAdd
// (one thread per output element), whose f32 sums depend on scheduling;
// here each thread owns one column dx[n, :, :, c] (image n, channel c),
// zeroes it, and adds every contribution to it serially in the CPU kernel's
// order (boxes, bins, samples, taps), so results are bit-reproducible run to
// run. Its cost: each thread walks all boxes (skipping other images'), so
// parallelism is N * C threads (e.g. 8 x 512) and the work R * PH * PW *
// samples per thread; adequate for detection heads (hundreds of boxes), not
// tuned beyond that.
//
// x, dx: [N, H, W, C]; boxes: [R, 5]; y, dy: [R, PH, PW, C]; all contiguous.
#include <type_traits>

#include "core/backend.h"
#include "core/roi_align_geom.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"

namespace vd::cuda {

namespace {

struct Geom {
  int64_t N, H, W, C, R, PH, PW;
};

template <class T>
__global__ void roi_forward(Geom g, RoiAlignParams p, const T* x, const T* boxes, T* y, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % g.C, pw = (i / g.C) % g.PW, ph = (i / (g.C * g.PW)) % g.PH,
                  r = i / (g.C * g.PW * g.PH);
    const roi::Box<T> b = roi::make_box(boxes + r * 5, p);
    const T* xn = x + b.batch * g.H * g.W * g.C + c;
    roi::Taps<T> t;
    T acc = T(0);
    for (int64_t iy = 0; iy < b.grid_h; ++iy) {
      const T yy = roi::sample_at(b.start_h, b.bin_h, ph, iy, b.grid_h);
      for (int64_t ix = 0; ix < b.grid_w; ++ix) {
        const T xx = roi::sample_at(b.start_w, b.bin_w, pw, ix, b.grid_w);
        if (!roi::bilinear_taps(yy, xx, g.H, g.W, t)) continue;
        for (int k = 0; k < 4; ++k) acc += t.w[k] * xn[t.at[k] * g.C];
      }
    }
    y[i] = acc / b.count;
  }
}

// Thread (n, c) owns dx[n, :, :, c].
template <class T>
__global__ void roi_backward(Geom g, RoiAlignParams p, const T* dy, const T* boxes, T* dx, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % g.C, n = i / g.C;
    T* col = dx + n * g.H * g.W * g.C + c;
    for (int64_t s = 0; s < g.H * g.W; ++s) col[s * g.C] = T(0);
    roi::Taps<T> t;
    for (int64_t r = 0; r < g.R; ++r) {
      if (int64_t(boxes[r * 5]) != n) continue;
      const roi::Box<T> b = roi::make_box(boxes + r * 5, p);
      for (int64_t ph = 0; ph < g.PH; ++ph)
        for (int64_t pw = 0; pw < g.PW; ++pw) {
          const T gy = dy[((r * g.PH + ph) * g.PW + pw) * g.C + c];
          for (int64_t iy = 0; iy < b.grid_h; ++iy) {
            const T yy = roi::sample_at(b.start_h, b.bin_h, ph, iy, b.grid_h);
            for (int64_t ix = 0; ix < b.grid_w; ++ix) {
              const T xx = roi::sample_at(b.start_w, b.bin_w, pw, ix, b.grid_w);
              if (!roi::bilinear_taps(yy, xx, g.H, g.W, t)) continue;
              for (int k = 0; k < 4; ++k) col[t.at[k] * g.C] += gy * t.w[k] / b.count;
            }
          }
        }
    }
  }
}

constexpr int kThreads = 256;

void check_roi(const Tensor& feat, const Tensor& boxes, const Tensor& pooled, const char* op) {
  VD_CHECK(feat.dim() == 4 && boxes.dim() == 2 && pooled.dim() == 4 && feat.is_contiguous() &&
               boxes.is_contiguous() && pooled.is_contiguous() && feat.dtype() == boxes.dtype() &&
               feat.dtype() == pooled.dtype(),
           op << ": expected contiguous [N, H, W, C], [R, 5] and [R, PH, PW, C] tensors of one dtype, got "
              << describe(feat) << ", " << describe(boxes) << " and " << describe(pooled));
  VD_CHECK(feat.dtype() == DType::F32 || feat.dtype() == DType::F64,
           op << ": the CUDA kernel computes in f32 or f64, got " << describe(feat)
              << "; hint: cast the feature map and boxes with .to(DType::F32)");
}

Geom make_geom(const Tensor& feat, const Tensor& boxes, const Tensor& pooled) {
  return {feat.size(0), feat.size(1), feat.size(2), feat.size(3), boxes.size(0), pooled.size(1), pooled.size(2)};
}

}  // namespace

void roi_align_forward(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p, Tensor& y) {
  check_roi(x, boxes, y, "roi_align");
  const int64_t total = y.numel();
  if (total == 0) return;
  const Geom g = make_geom(x, boxes, y);
  by_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bf16_t>)
      roi_forward<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
          g, p, static_cast<const T*>(x.data_ptr()), static_cast<const T*>(boxes.data_ptr()),
          static_cast<T*>(y.data_ptr()), total);
  });
  VD_CUDA_LAUNCH("roi_align_forward");
}

void roi_align_backward(const Tensor& dy, const Tensor& boxes, const RoiAlignParams& p, Tensor& dx) {
  check_roi(dx, boxes, dy, "roi_align_backward");
  const int64_t total = dx.size(0) * dx.size(3);
  if (dx.numel() == 0) return;
  const Geom g = make_geom(dx, boxes, dy);
  by_dtype(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bf16_t>)
      roi_backward<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
          g, p, static_cast<const T*>(dy.data_ptr()), static_cast<const T*>(boxes.data_ptr()),
          static_cast<T*>(dx.data_ptr()), total);
  });
  VD_CUDA_LAUNCH("roi_align_backward");
}

}  // namespace vd::cuda
