// Direct f32 3-D convolution, channels-last, for narrow products (8 or 16
// channels): forward, backward-data (stride 1) and backward-weight without a
// column buffer. Not the general path (conv3d_vol2col.cpp: vol2col + gemm, which
// takes every case this file declines), not f64, and not the reference
// (core/cpu/conv3d_reference.cpp).
//
// Each sample is first copied into a zero-padded buffer xp [Tp, Hp, Wp, Ci]
// (Tp = T + 2 pt, ...), small enough to stay in cache, so that no tap needs a
// bounds check. Along a kernel row (kt, kh fixed) the kW taps of one output
// position read kW * Ci consecutive floats of xp, so
//   forward:  y[to, ho, wo, :] = sum over (kt, kh) and l < kW*Ci of
//             xp[to*st + kt, ho*sh + kh, wo*sw*Ci + l] * wt[kt, kh, l, :]
// with wt [kT, kH, kW*Ci, Co] the kernel transposed. The work is done in
// register tiles of R output positions x Co channels (Co / 8 = 1 or 2 AVX vectors):
// one weight vector is loaded per l and used R times. Backward-data with
// stride 1 is the same product on dy padded by k - 1 - p with the kernel
// flipped and its channels swapped. Backward-weight tiles R values of l x Co
// channels and sums over all output positions of a sample.
//
// Threads: samples are split in two halves (parallel2); backward-weight sums
// the second half into the first afterwards. Loops run in a fixed order, so
// results repeat bit for bit.
#include "core/cpu/fast/conv3d_direct.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/cpu/parallel.h"

namespace vd::cpu {

namespace {

bool g_enabled = true;

bool cpu_has_avx2_fma() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));  // unaligned loads and stores

// One direct product over a padded sample: xp [Tp, Hp, Wp, Ci] (input, or dy
// for backward-data), taps wt [kT, kH, kW*Ci, Co], output [To, Ho, Wo, Co].
struct Narrow {
  int64_t Tp, Hp, Wp, Ci, Co;
  int64_t kT, kH, kW, st, sh, sw;
  int64_t To, Ho, Wo;
  int64_t L() const { return kW * Ci; }                 // floats of one kernel row
  int64_t row(int64_t t, int64_t h) const { return (t * Hp + h) * Wp * Ci; }  // xp offset
};

// Registers: R * CV accumulators plus CV weight vectors, within 16 ymm.
template <int CV>
constexpr int kMaxRows = CV == 1 ? 8 : 6;

// y[r, :] for R output positions along w; x0 = xp at (to*st, ho*sh, wo0*sw*Ci).
template <int R, int CV>
__attribute__((target("avx2,fma"))) inline void forward_tile(const Narrow& g, const float* x0, const float* wt,
                                                             float* y) {
  v8 acc[R][CV];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < CV; ++c) acc[r][c] = v8{};
  const int64_t L = g.L(), step = g.sw * g.Ci;
  for (int64_t kt = 0; kt < g.kT; ++kt)
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      const float* xr = x0 + g.row(kt, kh);
      const float* wr = wt + (kt * g.kH + kh) * L * g.Co;
      for (int64_t l = 0; l < L; ++l) {
        v8 w[CV];
        for (int c = 0; c < CV; ++c) w[c] = *reinterpret_cast<const v8u*>(wr + l * g.Co + 8 * c);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const float xv = xr[r * step + l];
          for (int c = 0; c < CV; ++c) acc[r][c] += xv * w[c];
        }
      }
    }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < CV; ++c) *reinterpret_cast<v8u*>(y + r * g.Co + 8 * c) = acc[r][c];
}

// y [To, Ho, Wo, Co] of one padded sample xp.
template <int CV>
__attribute__((target("avx2,fma"))) void forward_sample(const Narrow& g, const float* xp, const float* wt,
                                                        float* y) {
  constexpr int RM = kMaxRows<CV>;
  for (int64_t to = 0; to < g.To; ++to)
    for (int64_t ho = 0; ho < g.Ho; ++ho) {
      const float* xr = xp + g.row(to * g.st, ho * g.sh);
      float* yr = y + (to * g.Ho + ho) * g.Wo * g.Co;
      int64_t wo = 0;
      for (; wo + RM <= g.Wo; wo += RM) forward_tile<RM, CV>(g, xr + wo * g.sw * g.Ci, wt, yr + wo * g.Co);
      if constexpr (RM > 2)
        for (; wo + 2 <= g.Wo; wo += 2) forward_tile<2, CV>(g, xr + wo * g.sw * g.Ci, wt, yr + wo * g.Co);
      for (; wo < g.Wo; ++wo) forward_tile<1, CV>(g, xr + wo * g.sw * g.Ci, wt, yr + wo * g.Co);
    }
}

// acc (R rows of dwt [kT, kH, kW*Ci, Co] starting at row l0 of kernel row
// (kt, kh)) += sum over the output positions of one sample of
// xp[to*st + kt, ho*sh + kh, wo*sw*Ci + l0 + r] * dy[to, ho, wo, :].
template <int R, int CV>
__attribute__((target("avx2,fma"))) inline void weight_tile(const Narrow& g, const float* xp, const float* dy,
                                                            int64_t kt, int64_t kh, int64_t l0, float* dwt) {
  v8 acc[R][CV];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < CV; ++c) acc[r][c] = *reinterpret_cast<const v8u*>(dwt + r * g.Co + 8 * c);
  const int64_t step = g.sw * g.Ci;
  for (int64_t to = 0; to < g.To; ++to)
    for (int64_t ho = 0; ho < g.Ho; ++ho) {
      const float* xr = xp + g.row(to * g.st + kt, ho * g.sh + kh) + l0;
      const float* d = dy + (to * g.Ho + ho) * g.Wo * g.Co;
      for (int64_t wo = 0; wo < g.Wo; ++wo, xr += step, d += g.Co) {
        v8 dv[CV];
        for (int c = 0; c < CV; ++c) dv[c] = *reinterpret_cast<const v8u*>(d + 8 * c);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const float xv = xr[r];
          for (int c = 0; c < CV; ++c) acc[r][c] += xv * dv[c];
        }
      }
    }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < CV; ++c) *reinterpret_cast<v8u*>(dwt + r * g.Co + 8 * c) = acc[r][c];
}

// dwt += the weight gradient of one padded sample xp and its dy.
template <int CV>
__attribute__((target("avx2,fma"))) void weight_sample(const Narrow& g, const float* xp, const float* dy,
                                                       float* dwt) {
  constexpr int RM = kMaxRows<CV>;
  const int64_t L = g.L();
  for (int64_t kt = 0; kt < g.kT; ++kt)
    for (int64_t kh = 0; kh < g.kH; ++kh) {
      float* dr = dwt + (kt * g.kH + kh) * L * g.Co;
      int64_t l = 0;
      for (; l + RM <= L; l += RM) weight_tile<RM, CV>(g, xp, dy, kt, kh, l, dr + l * g.Co);
      if constexpr (RM > 4)
        for (; l + 4 <= L; l += 4) weight_tile<4, CV>(g, xp, dy, kt, kh, l, dr + l * g.Co);
      for (; l + 2 <= L; l += 2) weight_tile<2, CV>(g, xp, dy, kt, kh, l, dr + l * g.Co);
      for (; l < L; ++l) weight_tile<1, CV>(g, xp, dy, kt, kh, l, dr + l * g.Co);
    }
}

void forward_sample_any(const Narrow& g, const float* xp, const float* wt, float* y) {
  switch (g.Co / 8) {
    case 1: return forward_sample<1>(g, xp, wt, y);
    default: return forward_sample<2>(g, xp, wt, y);
  }
}

void weight_sample_any(const Narrow& g, const float* xp, const float* dy, float* dwt) {
  switch (g.Co / 8) {
    case 1: return weight_sample<1>(g, xp, dy, dwt);
    default: return weight_sample<2>(g, xp, dy, dwt);
  }
}

// out [T + 2 pt, H + 2 ph, W + 2 pw, C] = sample x [T, H, W, C] with zero
// borders. The borders are zeroed when out is first sized; later samples of
// the same call overwrite only the inside.
void pad_sample(const float* x, int64_t T, int64_t H, int64_t W, int64_t C, int64_t pt, int64_t ph, int64_t pw,
                std::vector<float>& out) {
  const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw;
  const size_t size = size_t((T + 2 * pt) * Hp * Wp * C);
  if (out.size() != size) out.assign(size, 0.f);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      std::memcpy(out.data() + (((t + pt) * Hp + h + ph) * Wp + pw) * C, x + ((t * H + h) * W) * C,
                  size_t(W * C) * sizeof(float));
}

// 8 or 16 channels: one or two AVX vectors. A trial with 32 (layer3 of the
// CPU-sized encoder, whose weights outgrow L1) ran 2-3x slower than gemm
// (docs/CPU_PERFORMANCE.md, "Direct kernels for narrow layers").
bool narrow(int64_t c) { return c == 8 || c == 16; }

// The checks every direct pass shares: f32, the CPU, unit dilation, a kernel
// larger than 1x1x1, and `c` (the product's channels) narrow.
bool applies(const Tensor& t, const Window3d& win, int64_t c) {
  if (!g_enabled || t.dtype() != DType::F32 || !cpu_has_avx2_fma() || !narrow(c)) return false;
  if (win.dilation[0] != 1 || win.dilation[1] != 1 || win.dilation[2] != 1) return false;
  return win.kernel[0] * win.kernel[1] * win.kernel[2] > 1;
}

// The product of conv(x, w) for input x [N, T, H, W, Ci] and output y.
Narrow forward_geometry(const Tensor& x, const Tensor& y, const Window3d& win) {
  const auto &k = win.kernel, &s = win.stride, &p = win.padding;
  return Narrow{x.size(1) + 2 * p[0], x.size(2) + 2 * p[1], x.size(3) + 2 * p[2], x.size(4), y.size(4),
                k[0], k[1], k[2], s[0], s[1], s[2], y.size(1), y.size(2), y.size(3)};
}

}  // namespace

void set_conv3d_direct_enabled(bool enabled) { g_enabled = enabled; }

// x: [N, T, H, W, Ci], w: [Co, kT, kH, kW, Ci], y: [N, To, Ho, Wo, Co].
bool conv3d_direct_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  if (!applies(x, win, y.size(4))) return false;
  const Narrow g = forward_geometry(x, y, win);
  const int64_t K = w.numel() / g.Co, N = x.size(0);
  // wt [K, Co] = w^T.
  std::vector<float> wt(size_t(K * g.Co));
  const float* wp = w.data<float>();
  for (int64_t o = 0; o < g.Co; ++o)
    for (int64_t k = 0; k < K; ++k) wt[size_t(k * g.Co + o)] = wp[o * K + k];
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  const int64_t xs = x.numel() / std::max<int64_t>(1, N), ys = y.numel() / std::max<int64_t>(1, N);
  const auto& p = win.padding;
  parallel2(N, 2, [&](int64_t n0, int64_t n1) {
    std::vector<float> pad;
    for (int64_t n = n0; n < n1; ++n) {
      pad_sample(xp + n * xs, x.size(1), x.size(2), x.size(3), g.Ci, p[0], p[1], p[2], pad);
      forward_sample_any(g, pad.data(), wt.data(), yp + n * ys);
    }
  });
  return true;
}

// dy: [N, To, Ho, Wo, Co], w: [Co, kT, kH, kW, Ci], dx: [N, T, H, W, Ci].
bool conv3d_direct_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  if (!applies(dy, win, dx.size(4))) return false;
  const auto &k = win.kernel, &s = win.stride, &p = win.padding;
  for (int i = 0; i < 3; ++i)
    if (s[i] != 1 || p[i] >= k[i]) return false;
  const int64_t Co = dy.size(4), Ci = dx.size(4), N = dy.size(0);
  // dy padded by q = k - 1 - p on each side, convolved with wf [kT, kH, kW, Co, Ci],
  // wf[a, b, c, o, i] = w[o, kT-1-a, kH-1-b, kW-1-c, i].
  const int64_t q0 = k[0] - 1 - p[0], q1 = k[1] - 1 - p[1], q2 = k[2] - 1 - p[2];
  const Narrow g{dy.size(1) + 2 * q0, dy.size(2) + 2 * q1, dy.size(3) + 2 * q2, Co, Ci, k[0], k[1], k[2],
                 1, 1, 1, dx.size(1), dx.size(2), dx.size(3)};
  std::vector<float> wf(size_t(w.numel()));
  const float* wp = w.data<float>();
  for (int64_t a = 0; a < k[0]; ++a)
    for (int64_t b = 0; b < k[1]; ++b)
      for (int64_t c = 0; c < k[2]; ++c)
        for (int64_t o = 0; o < Co; ++o)
          for (int64_t i = 0; i < Ci; ++i)
            wf[size_t((((a * k[1] + b) * k[2] + c) * Co + o) * Ci + i)] =
                wp[(((o * k[0] + (k[0] - 1 - a)) * k[1] + (k[1] - 1 - b)) * k[2] + (k[2] - 1 - c)) * Ci + i];
  const float* dyp = dy.data<float>();
  float* dxp = dx.data<float>();
  const int64_t ds = dy.numel() / std::max<int64_t>(1, N), xs = dx.numel() / std::max<int64_t>(1, N);
  parallel2(N, 2, [&](int64_t n0, int64_t n1) {
    std::vector<float> pad;
    for (int64_t n = n0; n < n1; ++n) {
      pad_sample(dyp + n * ds, dy.size(1), dy.size(2), dy.size(3), Co, q0, q1, q2, pad);
      forward_sample_any(g, pad.data(), wf.data(), dxp + n * xs);
    }
  });
  return true;
}

// x: [N, T, H, W, Ci], dy: [N, To, Ho, Wo, Co], dw: [Co, kT, kH, kW, Ci].
bool conv3d_direct_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  if (!applies(x, win, dy.size(4))) return false;
  const Narrow g = forward_geometry(x, dy, win);
  const int64_t K = dw.numel() / g.Co, N = x.size(0);
  const float* xp = x.data<float>();
  const float* dyp = dy.data<float>();
  const int64_t xs = x.numel() / std::max<int64_t>(1, N), ds = dy.numel() / std::max<int64_t>(1, N);
  const auto& p = win.padding;
  // dwt [K, Co] per half (the second stays empty when one thread runs all
  // samples); the second half's is added to the first's after both.
  std::vector<float> dwt[2];
  parallel2(N, 2, [&](int64_t n0, int64_t n1) {
    std::vector<float>& acc = dwt[n0 > 0 ? 1 : 0];
    acc.assign(size_t(K * g.Co), 0.f);
    std::vector<float> pad;
    for (int64_t n = n0; n < n1; ++n) {
      pad_sample(xp + n * xs, x.size(1), x.size(2), x.size(3), g.Ci, p[0], p[1], p[2], pad);
      weight_sample_any(g, pad.data(), dyp + n * ds, acc.data());
    }
  });
  float* dwp = dw.data<float>();
  for (int64_t o = 0; o < g.Co; ++o)
    for (int64_t k = 0; k < K; ++k) {
      float v = dwt[0][size_t(k * g.Co + o)];
      if (!dwt[1].empty()) v += dwt[1][size_t(k * g.Co + o)];
      dwp[o * K + k] = v;
    }
  return true;
}

}  // namespace vd::cpu
