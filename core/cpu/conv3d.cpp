// CPU 3-D convolution, channels-last, f32 and f64: forward, backward-data and
// backward-weight as matrix products over vol2col buffers. Not a direct-loop
// reference (tests/test_nn_conv3d.cpp keeps one) and not a GPU path (cuDNN).
//
// x: [N, T, H, W, Ci], w: [Co, kT, kH, kW, Ci] = row-major [Co, K] with
// K = kT*kH*kW*Ci, y: [N, To, Ho, Wo, Co] = per sample row-major [P, Co] with
// P = To*Ho*Wo. For a block of output rows the column buffer
// col[p, (kt, kh, kw, ci)] holds the input under each tap (0 in the padding),
// so that
//   forward:          y[rows]  = col @ w^T
//   backward-data:    dcol     = dy[rows] @ w, then scattered (+=) into dx
//   backward-weight:  dw      += dy[rows]^T @ col
// Blocks and samples run in a fixed order, so results repeat bit for bit. The
// copies into and out of col run on two threads over disjoint halves (rows
// for vol2col, channels for the scatter), the products on OpenBLAS's threads.
#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "core/backend.h"
#include "core/cpu/dtype_check.h"
#include "core/cpu/gemm.h"

namespace vd::cpu {

namespace {

// Geometry of one convolution, in elements.
struct ConvGeom {
  int64_t N, T, H, W, Ci;        // input
  int64_t To, Ho, Wo, Co;        // output
  int64_t kT, kH, kW;            // kernel
  int64_t st, sh, sw, pt, ph, pw, dt, dh, dw;
  int64_t P() const { return To * Ho * Wo; }
  int64_t K() const { return kT * kH * kW * Ci; }
  int64_t x_sample() const { return T * H * W * Ci; }
  // A 1x1x1 kernel with unit stride and no padding: col is x itself.
  bool pointwise() const {
    return kT == 1 && kH == 1 && kW == 1 && st == 1 && sh == 1 && sw == 1 && pt == 0 && ph == 0 &&
           pw == 0;
  }
};

ConvGeom make_geom(const Tensor& x, const Tensor& y, const Window3d& win) {
  ConvGeom g{};
  g.N = x.size(0), g.T = x.size(1), g.H = x.size(2), g.W = x.size(3), g.Ci = x.size(4);
  g.To = y.size(1), g.Ho = y.size(2), g.Wo = y.size(3), g.Co = y.size(4);
  g.kT = win.kernel[0], g.kH = win.kernel[1], g.kW = win.kernel[2];
  g.st = win.stride[0], g.sh = win.stride[1], g.sw = win.stride[2];
  g.pt = win.padding[0], g.ph = win.padding[1], g.pw = win.padding[2];
  g.dt = win.dilation[0], g.dh = win.dilation[1], g.dw = win.dilation[2];
  return g;
}

// Output rows per block: the column buffer holds about 1M elements (4 MiB of
// f32), which measured best among 0.5M, 1M and 2M (docs/ENGINE.md, CPU convolution),
// but at least 128 rows so that the products keep a useful height.
int64_t block_rows(const ConvGeom& g) {
  return std::max<int64_t>(1, std::min<int64_t>(g.P(), std::max<int64_t>(128, (int64_t(1) << 20) / g.K())));
}

// Runs f(begin, end) over [0, n) split in two halves on two threads (this one
// and one more) when the machine has two cores or more. The halves must not
// write to the same memory, so results do not depend on the split.
template <class F>
void parallel2(int64_t n, int64_t min_split, F f) {
  static const bool two = std::thread::hardware_concurrency() >= 2;
  if (!two || n < min_split) {
    f(int64_t(0), n);
    return;
  }
  const int64_t mid = n / 2;
  std::thread other([&] { f(mid, n); });
  f(int64_t(0), mid);
  other.join();
}

// Calls f(row, tap_offset_in_col, x_offset_or_-1) for every (output row, tap)
// of rows [p0, p1) of one sample, in row-major order; x offsets are relative to
// the sample and -1 marks a tap in the padding.
template <class F>
void for_each_tap(const ConvGeom& g, int64_t p0, int64_t p1, F f) {
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t to = p / (g.Ho * g.Wo), ho = (p / g.Wo) % g.Ho, wo = p % g.Wo;
    int64_t col = 0;
    for (int64_t kt = 0; kt < g.kT; ++kt) {
      const int64_t t = to * g.st - g.pt + kt * g.dt;
      for (int64_t kh = 0; kh < g.kH; ++kh) {
        const int64_t h = ho * g.sh - g.ph + kh * g.dh;
        for (int64_t kw = 0; kw < g.kW; ++kw, col += g.Ci) {
          const int64_t w = wo * g.sw - g.pw + kw * g.dw;
          const bool in = t >= 0 && t < g.T && h >= 0 && h < g.H && w >= 0 && w < g.W;
          f(p - p0, col, in ? ((t * g.H + h) * g.W + w) * g.Ci : int64_t(-1));
        }
      }
    }
  }
}

// col[r, :] for rows [p0, p1) of sample xs.
template <class T>
void vol2col(const ConvGeom& g, const T* xs, int64_t p0, int64_t p1, T* col) {
  const int64_t K = g.K(), Ci = g.Ci;
  parallel2(p1 - p0, 64, [&](int64_t r0, int64_t r1) {
    for_each_tap(g, p0 + r0, p0 + r1, [&](int64_t r, int64_t c, int64_t xo) {
      T* dst = col + (r + r0) * K + c;
      if (xo < 0)
        std::fill(dst, dst + Ci, T(0));
      else
        std::memcpy(dst, xs + xo, size_t(Ci) * sizeof(T));
    });
  });
}

// dxs += scatter of col rows [p0, p1), in row-major order.
// Two threads take the two halves of the channels, so every dx element still
// sums its contributions in row-major order.
template <class T>
void col2vol_add(const ConvGeom& g, const T* col, int64_t p0, int64_t p1, T* dxs) {
  const int64_t K = g.K();
  parallel2(g.Ci, 16, [&](int64_t c0, int64_t c1) {
    for_each_tap(g, p0, p1, [&](int64_t r, int64_t c, int64_t xo) {
      if (xo < 0) return;
      const T* src = col + r * K + c;
      T* dst = dxs + xo;
      for (int64_t i = c0; i < c1; ++i) dst[i] += src[i];
    });
  });
}

template <class T>
void forward_typed(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  const ConvGeom g = make_geom(x, y, win);
  const int64_t P = g.P(), K = g.K(), B = block_rows(g);
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* wp = static_cast<const T*>(w.data_ptr());
  T* yp = static_cast<T*>(y.data_ptr());
  if (g.pointwise()) {  // y[N*P, Co] = x[N*P, Ci] @ w^T
    gemm_rows<T>(false, true, g.N * P, g.Co, K, T(1), xp, K, wp, K, T(0), yp, g.Co);
    return;
  }
  std::vector<T> col(size_t(B * K));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t p0 = 0; p0 < P; p0 += B) {
      const int64_t p1 = std::min(P, p0 + B);
      vol2col(g, xp + n * g.x_sample(), p0, p1, col.data());
      gemm_rows<T>(false, true, p1 - p0, g.Co, K, T(1), col.data(), K, wp, K, T(0),
                   yp + (n * P + p0) * g.Co, g.Co);
    }
}

template <class T>
void backward_data_typed(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  const ConvGeom g = make_geom(dx, dy, win);
  const int64_t P = g.P(), K = g.K(), B = block_rows(g);
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  const T* wp = static_cast<const T*>(w.data_ptr());
  T* dxp = static_cast<T*>(dx.data_ptr());
  if (g.pointwise()) {  // dx[N*P, Ci] = dy[N*P, Co] @ w
    gemm_rows<T>(false, false, g.N * P, K, g.Co, T(1), dyp, g.Co, wp, K, T(0), dxp, K);
    return;
  }
  std::fill(dxp, dxp + dx.numel(), T(0));
  std::vector<T> dcol(size_t(B * K));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t p0 = 0; p0 < P; p0 += B) {
      const int64_t p1 = std::min(P, p0 + B);
      gemm_rows<T>(false, false, p1 - p0, K, g.Co, T(1), dyp + (n * P + p0) * g.Co, g.Co, wp, K,
                   T(0), dcol.data(), K);
      col2vol_add(g, dcol.data(), p0, p1, dxp + n * g.x_sample());
    }
}

template <class T>
void backward_weight_typed(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  const ConvGeom g = make_geom(x, dy, win);
  const int64_t P = g.P(), K = g.K(), B = block_rows(g);
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  T* dwp = static_cast<T*>(dw.data_ptr());
  if (g.pointwise()) {  // dw[Co, Ci] = dy[N*P, Co]^T @ x[N*P, Ci]
    gemm_rows<T>(true, false, g.Co, K, g.N * P, T(1), dyp, g.Co, xp, K, T(0), dwp, K);
    return;
  }
  std::vector<T> col(size_t(B * K));
  T beta = T(0);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t p0 = 0; p0 < P; p0 += B) {
      const int64_t p1 = std::min(P, p0 + B);
      vol2col(g, xp + n * g.x_sample(), p0, p1, col.data());
      gemm_rows<T>(true, false, g.Co, K, p1 - p0, T(1), dyp + (n * P + p0) * g.Co, g.Co,
                   col.data(), K, beta, dwp, K);
      beta = T(1);
    }
  if (beta == T(0)) std::fill(dwp, dwp + dw.numel(), T(0));  // empty batch
}

}  // namespace

void conv3d_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  check_float_dtype(x, "conv3d");
  if (x.dtype() == DType::F32)
    forward_typed<float>(x, w, win, y);
  else
    forward_typed<double>(x, w, win, y);
}

void conv3d_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  check_float_dtype(dy, "conv3d_backward_data");
  if (dy.dtype() == DType::F32)
    backward_data_typed<float>(dy, w, win, dx);
  else
    backward_data_typed<double>(dy, w, win, dx);
}

void conv3d_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  check_float_dtype(dy, "conv3d_backward_weight");
  if (dy.dtype() == DType::F32)
    backward_weight_typed<float>(x, dy, win, dw);
  else
    backward_weight_typed<double>(x, dy, win, dw);
}

}  // namespace vd::cpu
