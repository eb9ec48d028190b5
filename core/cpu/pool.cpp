// CPU 3-D max and average pooling, channels-last, f32 and f64, forward and
// backward. Plain loops over output positions with the channel axis innermost.
// Not the GPU path (cuda/) and not global average pooling (a mean in autograd).
//
// x: [N, T, H, W, C] contiguous, y: [N, To, Ho, Wo, C] contiguous.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/backend.h"
#include "core/cpu/dtype_check.h"

namespace vd::cpu {

namespace {

struct PoolGeom {
  int64_t N, T, H, W, C, To, Ho, Wo;
  Window3d win;
};

PoolGeom make_geom(const Tensor& x, const Tensor& y, const Window3d& win) {
  return {x.size(0), x.size(1), x.size(2), x.size(3), x.size(4), y.size(1), y.size(2), y.size(3),
          win};
}

// Calls f(y_offset, taps) for each output position, in row-major order, where
// taps lists the x offsets (start of the C channels) of the in-bounds window
// elements, in window order.
template <class F>
void for_each_window(const PoolGeom& g, F f) {
  const auto& k = g.win.kernel;
  const auto& s = g.win.stride;
  const auto& p = g.win.padding;
  const auto& d = g.win.dilation;
  std::vector<int64_t> taps;
  taps.reserve(size_t(k[0] * k[1] * k[2]));
  int64_t yo = 0;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t to = 0; to < g.To; ++to)
      for (int64_t ho = 0; ho < g.Ho; ++ho)
        for (int64_t wo = 0; wo < g.Wo; ++wo, yo += g.C) {
          taps.clear();
          for (int64_t kt = 0; kt < k[0]; ++kt) {
            const int64_t t = to * s[0] - p[0] + kt * d[0];
            if (t < 0 || t >= g.T) continue;
            for (int64_t kh = 0; kh < k[1]; ++kh) {
              const int64_t h = ho * s[1] - p[1] + kh * d[1];
              if (h < 0 || h >= g.H) continue;
              for (int64_t kw = 0; kw < k[2]; ++kw) {
                const int64_t w = wo * s[2] - p[2] + kw * d[2];
                if (w < 0 || w >= g.W) continue;
                taps.push_back((((n * g.T + t) * g.H + h) * g.W + w) * g.C);
              }
            }
          }
          f(yo, taps);
        }
}

// Index into taps of the maximum for channel c: the first in window order
// wins ties; a NaN wins (and propagates) as in PyTorch.
template <class T>
size_t argmax_tap(const T* x, const std::vector<int64_t>& taps, int64_t c) {
  size_t best = 0;
  for (size_t i = 1; i < taps.size(); ++i) {
    const T v = x[taps[i] + c], b = x[taps[best] + c];
    if (std::isnan(b)) break;
    if (v > b || std::isnan(v)) best = i;
  }
  return best;
}

template <class T>
void max_forward_typed(const Tensor& x, const Window3d& win, Tensor& y) {
  const PoolGeom g = make_geom(x, y, win);
  const T* xp = static_cast<const T*>(x.data_ptr());
  T* yp = static_cast<T*>(y.data_ptr());
  for_each_window(g, [&](int64_t yo, const std::vector<int64_t>& taps) {
    for (int64_t c = 0; c < g.C; ++c)
      yp[yo + c] = taps.empty() ? -std::numeric_limits<T>::infinity()
                                : xp[taps[argmax_tap(xp, taps, c)] + c];
  });
}

template <class T>
void max_backward_typed(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dx) {
  const PoolGeom g = make_geom(x, dy, win);
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  T* dxp = static_cast<T*>(dx.data_ptr());
  std::fill(dxp, dxp + dx.numel(), T(0));
  for_each_window(g, [&](int64_t yo, const std::vector<int64_t>& taps) {
    if (taps.empty()) return;
    for (int64_t c = 0; c < g.C; ++c) dxp[taps[argmax_tap(xp, taps, c)] + c] += dyp[yo + c];
  });
}

// Divisor of one window: the full kernel, or the in-bounds count.
double avg_divisor(const Window3d& win, bool count_include_pad, size_t in_bounds) {
  return count_include_pad ? double(win.kernel[0] * win.kernel[1] * win.kernel[2])
                           : double(std::max<size_t>(1, in_bounds));
}

template <class T>
void avg_forward_typed(const Tensor& x, const Window3d& win, bool include_pad, Tensor& y) {
  const PoolGeom g = make_geom(x, y, win);
  const T* xp = static_cast<const T*>(x.data_ptr());
  T* yp = static_cast<T*>(y.data_ptr());
  std::vector<double> acc(size_t(g.C));
  for_each_window(g, [&](int64_t yo, const std::vector<int64_t>& taps) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t xo : taps)
      for (int64_t c = 0; c < g.C; ++c) acc[size_t(c)] += double(xp[xo + c]);
    const double inv = 1.0 / avg_divisor(win, include_pad, taps.size());
    for (int64_t c = 0; c < g.C; ++c) yp[yo + c] = T(acc[size_t(c)] * inv);
  });
}

template <class T>
void avg_backward_typed(const Tensor& dy, const Window3d& win, bool include_pad, Tensor& dx) {
  const PoolGeom g = make_geom(dx, dy, win);
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  T* dxp = static_cast<T*>(dx.data_ptr());
  std::fill(dxp, dxp + dx.numel(), T(0));
  for_each_window(g, [&](int64_t yo, const std::vector<int64_t>& taps) {
    const T inv = T(1.0 / avg_divisor(win, include_pad, taps.size()));
    for (int64_t xo : taps)
      for (int64_t c = 0; c < g.C; ++c) dxp[xo + c] += dyp[yo + c] * inv;
  });
}

}  // namespace

void max_pool3d_forward(const Tensor& x, const Window3d& win, Tensor& y) {
  check_float_dtype(x, "max_pool3d");
  if (x.dtype() == DType::F32)
    max_forward_typed<float>(x, win, y);
  else
    max_forward_typed<double>(x, win, y);
}

void max_pool3d_backward(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dx) {
  check_float_dtype(x, "max_pool3d_backward");
  if (x.dtype() == DType::F32)
    max_backward_typed<float>(x, dy, win, dx);
  else
    max_backward_typed<double>(x, dy, win, dx);
}

void avg_pool3d_forward(const Tensor& x, const Window3d& win, bool count_include_pad, Tensor& y) {
  check_float_dtype(x, "avg_pool3d");
  if (x.dtype() == DType::F32)
    avg_forward_typed<float>(x, win, count_include_pad, y);
  else
    avg_forward_typed<double>(x, win, count_include_pad, y);
}

void avg_pool3d_backward(const Tensor& dy, const Window3d& win, bool count_include_pad, Tensor& dx) {
  check_float_dtype(dy, "avg_pool3d_backward");
  if (dy.dtype() == DType::F32)
    avg_backward_typed<float>(dy, win, count_include_pad, dx);
  else
    avg_backward_typed<double>(dy, win, count_include_pad, dx);
}

}  // namespace vd::cpu
