// The general fast path of CPU 3-D convolution (see conv3d_vol2col.h):
// forward, backward-data and backward-weight as matrix products over vol2col
// buffers, channels-last, f32 and f64. Not the reference (the plain direct
// loops of core/cpu/conv3d_reference.cpp) and not the choice between paths
// (core/cpu/conv3d.cpp).
//
// x: [N, T, H, W, Ci], w: [Co, kT, kH, kW, Ci] = row-major [Co, K] with
// K = kT*kH*kW*Ci, y: [N, To, Ho, Wo, Co] = per sample row-major [P, Co] with
// P = To*Ho*Wo. For a block of output rows the column buffer
// col[p, (kt, kh, kw, ci)] holds the input under each tap (0 in the padding),
// so that
//   forward:          y[rows]  = col @ w^T
//   backward-data:    dcol     = dy[rows] @ w, then scattered (+=) into dx
//   backward-weight:  dw      += dy[rows]^T @ col
// Blocks of rows run across sample boundaries; the samples are split in two
// halves on two threads (core/cpu/parallel.h), and within a half blocks run
// in a fixed order, so results repeat bit for bit.
#include "core/cpu/fast/conv3d_vol2col.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "core/cpu/gemm.h"
#include "core/cpu/parallel.h"

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
// f32), which measured best among 0.5M, 1M and 2M (docs/CPU_PERFORMANCE.md, Figures),
// but at least 128 rows so that the products keep a useful height. Blocks run
// across sample boundaries, so small layers still make tall products.
int64_t block_rows(const ConvGeom& g) {
  return std::max<int64_t>(128, (int64_t(1) << 20) / g.K());
}

// Calls f(r, col_offset, x_offset_or_-1, count) for every run of taps of the
// batch rows [q0, q1) (row q = n * P + p, r = q - q0), in row-major order. A
// run is a stretch of one kernel row (kt, kh fixed) whose taps are all inside
// the input, contiguous in x (unit dilation along w), or all in the padding
// (x offset -1); count is its length in elements (taps * Ci). x offsets are
// from the start of the batch.
template <class F>
void for_each_run(const ConvGeom& g, int64_t q0, int64_t q1, F f) {
  const int64_t P = g.P(), Ci = g.Ci;
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t n = q / P, p = q % P;
    const int64_t to = p / (g.Ho * g.Wo), ho = (p / g.Wo) % g.Ho, wo = p % g.Wo;
    const int64_t xs = n * g.x_sample(), w0 = wo * g.sw - g.pw;
    int64_t col = 0;
    for (int64_t kt = 0; kt < g.kT; ++kt) {
      const int64_t t = to * g.st - g.pt + kt * g.dt;
      for (int64_t kh = 0; kh < g.kH; ++kh, col += g.kW * Ci) {
        const int64_t h = ho * g.sh - g.ph + kh * g.dh;
        const bool row_in = t >= 0 && t < g.T && h >= 0 && h < g.H;
        const int64_t x_row = xs + (t * g.H + h) * g.W * Ci;
        if (g.dw != 1) {  // taps apart in x: one run each
          for (int64_t kw = 0; kw < g.kW; ++kw) {
            const int64_t w = w0 + kw * g.dw;
            f(q - q0, col + kw * Ci, row_in && w >= 0 && w < g.W ? x_row + w * Ci : int64_t(-1), Ci);
          }
          continue;
        }
        // Taps [a, b) of this kernel row fall inside the input.
        int64_t a = 0, b = 0;
        if (row_in) {
          a = std::min(g.kW, std::max<int64_t>(0, -w0));
          b = std::max(a, std::min(g.kW, g.W - w0));
        }
        if (a > 0) f(q - q0, col, int64_t(-1), a * Ci);
        if (b > a) f(q - q0, col + a * Ci, x_row + (w0 + a) * Ci, (b - a) * Ci);
        if (g.kW > b) f(q - q0, col + b * Ci, int64_t(-1), (g.kW - b) * Ci);
      }
    }
  }
}

// col[r, :] for batch rows [q0, q1) of x.
template <class T>
void vol2col(const ConvGeom& g, const T* x, int64_t q0, int64_t q1, T* col) {
  const int64_t K = g.K();
  for_each_run(g, q0, q1, [&](int64_t r, int64_t c, int64_t xo, int64_t count) {
    T* dst = col + r * K + c;
    if (xo < 0)
      std::fill(dst, dst + count, T(0));
    else
      std::memcpy(dst, x + xo, size_t(count) * sizeof(T));
  });
}

// dx += scatter of the col rows of batch rows [q0, q1), in row-major order.
template <class T>
void col2vol_add(const ConvGeom& g, const T* col, int64_t q0, int64_t q1, T* dx) {
  const int64_t K = g.K();
  for_each_run(g, q0, q1, [&](int64_t r, int64_t c, int64_t xo, int64_t count) {
    if (xo < 0) return;
    const T* src = col + r * K + c;
    T* dst = dx + xo;
    for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
  });
}

// Runs f(q0, q1, buffer) over the blocks of batch rows of samples [n0, n1),
// in order, with one column buffer of up to block_rows * K elements.
template <class T, class F>
void for_each_block(const ConvGeom& g, int64_t n0, int64_t n1, F f) {
  const int64_t P = g.P(), B = block_rows(g), end = n1 * P;
  // Left uninitialised: vol2col and the products write every element they read.
  std::unique_ptr<T[]> col(new T[size_t(std::max<int64_t>(0, std::min(B, end - n0 * P)) * g.K())]);
  for (int64_t q0 = n0 * P; q0 < end; q0 += B) f(q0, std::min(end, q0 + B), col.get());
}

// Samples are split in two halves on two threads (parallel2): each half
// writes its own rows of y and its own samples of dx; backward-weight sums
// the second half's dw into the first's after both finish. Blocks run in a
// fixed order within a half, so results repeat bit for bit.
template <class T>
void forward_typed(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  const ConvGeom g = make_geom(x, y, win);
  const int64_t P = g.P(), K = g.K();
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* wp = static_cast<const T*>(w.data_ptr());
  T* yp = static_cast<T*>(y.data_ptr());
  if (g.pointwise()) {  // y[N*P, Co] = x[N*P, Ci] @ w^T
    gemm_rows<T>(false, true, g.N * P, g.Co, K, T(1), xp, K, wp, K, T(0), yp, g.Co);
    return;
  }
  parallel2(g.N, 2, [&](int64_t n0, int64_t n1) {
    for_each_block<T>(g, n0, n1, [&](int64_t q0, int64_t q1, T* col) {
      vol2col(g, xp, q0, q1, col);
      gemm_rows<T>(false, true, q1 - q0, g.Co, K, T(1), col, K, wp, K, T(0), yp + q0 * g.Co, g.Co);
    });
  });
}

template <class T>
void backward_data_typed(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  const ConvGeom g = make_geom(dx, dy, win);
  const int64_t P = g.P(), K = g.K();
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  const T* wp = static_cast<const T*>(w.data_ptr());
  T* dxp = static_cast<T*>(dx.data_ptr());
  if (g.pointwise()) {  // dx[N*P, Ci] = dy[N*P, Co] @ w
    gemm_rows<T>(false, false, g.N * P, K, g.Co, T(1), dyp, g.Co, wp, K, T(0), dxp, K);
    return;
  }
  parallel2(g.N, 2, [&](int64_t n0, int64_t n1) {
    std::fill(dxp + n0 * g.x_sample(), dxp + n1 * g.x_sample(), T(0));
    for_each_block<T>(g, n0, n1, [&](int64_t q0, int64_t q1, T* dcol) {
      gemm_rows<T>(false, false, q1 - q0, K, g.Co, T(1), dyp + q0 * g.Co, g.Co, wp, K, T(0), dcol, K);
      col2vol_add(g, dcol, q0, q1, dxp);
    });
  });
}

template <class T>
void backward_weight_typed(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  const ConvGeom g = make_geom(x, dy, win);
  const int64_t P = g.P(), K = g.K();
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  T* dwp = static_cast<T*>(dw.data_ptr());
  if (g.pointwise()) {  // dw[Co, Ci] = dy[N*P, Co]^T @ x[N*P, Ci]
    gemm_rows<T>(true, false, g.Co, K, g.N * P, T(1), dyp, g.Co, xp, K, T(0), dwp, K);
    return;
  }
  std::vector<T> second;  // the second half's dw
  parallel2(g.N, 2, [&](int64_t n0, int64_t n1) {
    if (n0 > 0) second.resize(size_t(dw.numel()));
    T* out = n0 > 0 ? second.data() : dwp;
    T beta = T(0);
    for_each_block<T>(g, n0, n1, [&](int64_t q0, int64_t q1, T* col) {
      vol2col(g, xp, q0, q1, col);
      gemm_rows<T>(true, false, g.Co, K, q1 - q0, T(1), dyp + q0 * g.Co, g.Co, col, K, beta, out, K);
      beta = T(1);
    });
    if (beta == T(0)) std::fill(out, out + dw.numel(), T(0));  // no rows (empty batch)
  });
  for (size_t i = 0; i < second.size(); ++i) dwp[i] += second[i];
}

}  // namespace

void conv3d_vol2col_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  if (x.dtype() == DType::F32)
    forward_typed<float>(x, w, win, y);
  else
    forward_typed<double>(x, w, win, y);
}

void conv3d_vol2col_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  if (dy.dtype() == DType::F32)
    backward_data_typed<float>(dy, w, win, dx);
  else
    backward_data_typed<double>(dy, w, win, dx);
}

void conv3d_vol2col_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  if (dy.dtype() == DType::F32)
    backward_weight_typed<float>(x, dy, win, dw);
  else
    backward_weight_typed<double>(x, dy, win, dw);
}

}  // namespace vd::cpu
