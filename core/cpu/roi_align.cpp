// CPU RoIAlign, channels-last, f32 and f64, forward and backward, with the
// geometry of core/roi_align_geom.h (torchvision's roi_align, aligned or
// not). Each bilinear sample's four taps are found once and applied to the C
// channels innermost. Not the GPU path (cuda/roi_align.cu) and not the
// shape checks (core/ops_roi.cpp).
//
// x, dx: [N, H, W, C]; boxes: [R, 5] (batch, x1, y1, x2, y2); y, dy: [R, PH, PW, C].
#include <algorithm>
#include <vector>

#include "core/backend.h"
#include "core/cpu/dtype_check.h"
#include "core/roi_align_geom.h"

namespace vd::cpu {

namespace {

struct Geom {
  int64_t H, W, C, R, PH, PW;
};

// Calls f(r, bin, taps, box) for every in-range sample, in the order box,
// bin (row-major), sample row, sample column: the order in which the
// backward adds into dx (and the CUDA backward too).
template <class T, class F>
void for_each_sample(const Geom& g, const T* boxes, const RoiAlignParams& p, F f) {
  roi::Taps<T> taps;
  for (int64_t r = 0; r < g.R; ++r) {
    const roi::Box<T> b = roi::make_box(boxes + r * 5, p);
    for (int64_t ph = 0; ph < g.PH; ++ph)
      for (int64_t pw = 0; pw < g.PW; ++pw) {
        const int64_t bin = (r * g.PH + ph) * g.PW + pw;
        for (int64_t iy = 0; iy < b.grid_h; ++iy) {
          const T y = roi::sample_at(b.start_h, b.bin_h, ph, iy, b.grid_h);
          for (int64_t ix = 0; ix < b.grid_w; ++ix) {
            const T x = roi::sample_at(b.start_w, b.bin_w, pw, ix, b.grid_w);
            if (roi::bilinear_taps(y, x, g.H, g.W, taps)) f(bin, taps, b);
          }
        }
      }
  }
}

// y[bin, c] = (sum over the bin's samples of the bilinear value) / count;
// the sum accumulates in f64.
template <class T>
void forward_typed(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p, Tensor& y) {
  const Geom g{x.size(1), x.size(2), x.size(3), boxes.size(0), y.size(1), y.size(2)};
  const T* xp = static_cast<const T*>(x.data_ptr());
  T* yp = static_cast<T*>(y.data_ptr());
  std::vector<double> acc(size_t(g.R * g.PH * g.PW * g.C), 0.0);
  for_each_sample<T>(g, static_cast<const T*>(boxes.data_ptr()), p,
                     [&](int64_t bin, const roi::Taps<T>& t, const roi::Box<T>& b) {
                       const T* xn = xp + b.batch * g.H * g.W * g.C;
                       double* a = acc.data() + bin * g.C;
                       for (int k = 0; k < 4; ++k) {
                         const T* src = xn + t.at[k] * g.C;
                         const double w = double(t.w[k]);
                         for (int64_t c = 0; c < g.C; ++c) a[c] += w * double(src[c]);
                       }
                     });
  // Divide per box (count is the box's, the same for all its bins).
  for (int64_t r = 0; r < g.R; ++r) {
    const double count = double(roi::make_box(static_cast<const T*>(boxes.data_ptr()) + r * 5, p).count);
    const int64_t n = g.PH * g.PW * g.C, o = r * n;
    for (int64_t i = 0; i < n; ++i) yp[o + i] = T(acc[size_t(o + i)] / count);
  }
}

// dx[n, tap, c] += dy[bin, c] * w / count for every sample's taps, in
// for_each_sample's order, in T (as torchvision).
template <class T>
void backward_typed(const Tensor& dy, const Tensor& boxes, const RoiAlignParams& p, Tensor& dx) {
  const Geom g{dx.size(1), dx.size(2), dx.size(3), boxes.size(0), dy.size(1), dy.size(2)};
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  T* dxp = static_cast<T*>(dx.data_ptr());
  std::fill(dxp, dxp + dx.numel(), T(0));
  for_each_sample<T>(g, static_cast<const T*>(boxes.data_ptr()), p,
                     [&](int64_t bin, const roi::Taps<T>& t, const roi::Box<T>& b) {
                       T* dxn = dxp + b.batch * g.H * g.W * g.C;
                       const T* gy = dyp + bin * g.C;
                       for (int k = 0; k < 4; ++k) {
                         T* dst = dxn + t.at[k] * g.C;
                         for (int64_t c = 0; c < g.C; ++c) dst[c] += gy[c] * t.w[k] / b.count;
                       }
                     });
}

}  // namespace

void roi_align_forward(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p, Tensor& y) {
  check_float_dtype(x, "roi_align");
  if (x.dtype() == DType::F32)
    forward_typed<float>(x, boxes, p, y);
  else
    forward_typed<double>(x, boxes, p, y);
}

void roi_align_backward(const Tensor& dy, const Tensor& boxes, const RoiAlignParams& p, Tensor& dx) {
  check_float_dtype(dy, "roi_align_backward");
  if (dy.dtype() == DType::F32)
    backward_typed<float>(dy, boxes, p, dx);
  else
    backward_typed<double>(dy, boxes, p, dx);
}

}  // namespace vd::cpu
