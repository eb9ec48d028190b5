// CUDA 3-D max and average pooling, channels-last, forward and backward, with
// the CPU kernels' semantics (core/cpu/pool.cpp): max ties go to the first
// element in window order and a NaN wins; average divides by the full kernel
// (count_include_pad) or by the in-bounds count. Backward is gather-style and
// deterministic: each input element sums, in output order, the windows that
// contain it; max first records each window's winner (a workspace of
// indices), so no atomics anywhere. f32, f64 and bf16 (bf16 computes in f32).
//
// x, dx: [N, T, H, W, C] contiguous; y, dy: [N, To, Ho, Wo, C] contiguous.
#include "core/backend.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"

namespace vd::cuda {

namespace {

struct Geom {
  int64_t N, C, in[3], out[3];
  int64_t k[3], s[3], p[3], d[3];
};

Geom make_geom(const Tensor& x, const Tensor& y, const Window3d& win) {
  Geom g;
  g.N = x.size(0);
  g.C = x.size(4);
  for (int i = 0; i < 3; ++i) {
    g.in[i] = x.size(i + 1);
    g.out[i] = y.size(i + 1);
    g.k[i] = win.kernel[size_t(i)];
    g.s[i] = win.stride[size_t(i)];
    g.p[i] = win.padding[size_t(i)];
    g.d[i] = win.dilation[size_t(i)];
  }
  return g;
}

// Splits a channels-last linear index into (n, a0, a1, a2, c) over `ext`.
__device__ __forceinline__ void split(int64_t i, const Geom& g, const int64_t* ext, int64_t& n,
                                      int64_t (&a)[3], int64_t& c) {
  c = i % g.C;
  i /= g.C;
  a[2] = i % ext[2];
  i /= ext[2];
  a[1] = i % ext[1];
  i /= ext[1];
  a[0] = i % ext[0];
  n = i / ext[0];
}

__device__ __forceinline__ int64_t x_index(const Geom& g, int64_t n, int64_t t, int64_t h, int64_t w,
                                           int64_t c) {
  return (((n * g.in[0] + t) * g.in[1] + h) * g.in[2] + w) * g.C + c;
}

__device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Range [lo, hi] of outputs along axis `ax` whose windows may hold input i.
__device__ __forceinline__ void window_range(const Geom& g, int ax, int64_t i, int64_t& lo, int64_t& hi) {
  lo = floor_div(i + g.p[ax] - (g.k[ax] - 1) * g.d[ax] + g.s[ax] - 1, g.s[ax]);
  hi = floor_div(i + g.p[ax], g.s[ax]);
  lo = lo < 0 ? 0 : lo;
  hi = hi > g.out[ax] - 1 ? g.out[ax] - 1 : hi;
}

// Whether output o's window along `ax` holds input i.
__device__ __forceinline__ bool holds(const Geom& g, int ax, int64_t o, int64_t i) {
  const int64_t r = i + g.p[ax] - o * g.s[ax];
  return r >= 0 && r % g.d[ax] == 0 && r / g.d[ax] < g.k[ax];
}

// In-bounds taps of output o's window along `ax`.
__device__ __forceinline__ int64_t in_bounds(const Geom& g, int ax, int64_t o) {
  int64_t n = 0;
  for (int64_t j = 0; j < g.k[ax]; ++j) {
    const int64_t i = o * g.s[ax] - g.p[ax] + j * g.d[ax];
    n += i >= 0 && i < g.in[ax];
  }
  return n;
}

// Max over output element o's window: the winner's x index (-1 when the
// window is all padding) and value.
template <class T>
__device__ __forceinline__ int64_t window_argmax(const Geom& g, const T* x, int64_t n, const int64_t (&o)[3],
                                                 int64_t c) {
  using C = typename Acc<T>::type;
  int64_t best = -1;
  C bv = C(0);
  for (int64_t kt = 0; kt < g.k[0]; ++kt) {
    const int64_t t = o[0] * g.s[0] - g.p[0] + kt * g.d[0];
    if (t < 0 || t >= g.in[0]) continue;
    for (int64_t kh = 0; kh < g.k[1]; ++kh) {
      const int64_t h = o[1] * g.s[1] - g.p[1] + kh * g.d[1];
      if (h < 0 || h >= g.in[1]) continue;
      for (int64_t kw = 0; kw < g.k[2]; ++kw) {
        const int64_t w = o[2] * g.s[2] - g.p[2] + kw * g.d[2];
        if (w < 0 || w >= g.in[2]) continue;
        const int64_t xi = x_index(g, n, t, h, w, c);
        const C v = to_acc(x[xi]);
        if (best >= 0 && isnan(bv)) return best;
        if (best < 0 || v > bv || isnan(v)) {
          best = xi;
          bv = v;
        }
      }
    }
  }
  return best;
}

template <class T>
__global__ void max_forward(Geom g, const T* x, T* y, int64_t total) {
  using C = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t n, o[3], c;
    split(i, g, g.out, n, o, c);
    const int64_t best = window_argmax(g, x, n, o, c);
    y[i] = best < 0 ? from_acc<T>(m_neg_inf<C>()) : x[best];
  }
}

template <class T>
__global__ void max_winners(Geom g, const T* x, int64_t* win, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t n, o[3], c;
    split(i, g, g.out, n, o, c);
    win[i] = window_argmax(g, x, n, o, c);
  }
}

// Gather: dx[i] = sum over windows holding i (output order) of
// weight(o) * dy[o], where weight is 1 if o's winner is i (max) or 1/divisor (avg).
template <class T, bool IsMax>
__global__ void pool_backward(Geom g, const T* dy, const int64_t* winners, bool include_pad, T* dx,
                              int64_t total) {
  using C = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t n, a[3], c;
    split(i, g, g.in, n, a, c);
    int64_t lo[3], hi[3];
    for (int ax = 0; ax < 3; ++ax) window_range(g, ax, a[ax], lo[ax], hi[ax]);
    C acc = C(0);
    for (int64_t ot = lo[0]; ot <= hi[0]; ++ot) {
      if (!holds(g, 0, ot, a[0])) continue;
      for (int64_t oh = lo[1]; oh <= hi[1]; ++oh) {
        if (!holds(g, 1, oh, a[1])) continue;
        for (int64_t ow = lo[2]; ow <= hi[2]; ++ow) {
          if (!holds(g, 2, ow, a[2])) continue;
          const int64_t yo = (((n * g.out[0] + ot) * g.out[1] + oh) * g.out[2] + ow) * g.C + c;
          if (IsMax) {
            if (winners[yo] == i) acc += to_acc(dy[yo]);
          } else {
            const int64_t cnt = include_pad ? g.k[0] * g.k[1] * g.k[2]
                                            : in_bounds(g, 0, ot) * in_bounds(g, 1, oh) * in_bounds(g, 2, ow);
            acc += to_acc(dy[yo]) * (C(1) / C(cnt > 0 ? cnt : 1));
          }
        }
      }
    }
    dx[i] = from_acc<T>(acc);
  }
}

template <class T>
__global__ void avg_forward(Geom g, const T* x, bool include_pad, T* y, int64_t total) {
  using C = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t n, o[3], c;
    split(i, g, g.out, n, o, c);
    C acc = C(0);
    int64_t cnt = 0;
    for (int64_t kt = 0; kt < g.k[0]; ++kt) {
      const int64_t t = o[0] * g.s[0] - g.p[0] + kt * g.d[0];
      if (t < 0 || t >= g.in[0]) continue;
      for (int64_t kh = 0; kh < g.k[1]; ++kh) {
        const int64_t h = o[1] * g.s[1] - g.p[1] + kh * g.d[1];
        if (h < 0 || h >= g.in[1]) continue;
        for (int64_t kw = 0; kw < g.k[2]; ++kw) {
          const int64_t w = o[2] * g.s[2] - g.p[2] + kw * g.d[2];
          if (w < 0 || w >= g.in[2]) continue;
          acc += to_acc(x[x_index(g, n, t, h, w, c)]);
          ++cnt;
        }
      }
    }
    const int64_t div = include_pad ? g.k[0] * g.k[1] * g.k[2] : (cnt > 0 ? cnt : 1);
    y[i] = from_acc<T>(acc * (C(1) / C(div)));
  }
}

constexpr int kThreads = 256;

void check_pool(const Tensor& a, const Tensor& b, const char* op) {
  VD_CHECK(a.dim() == 5 && b.dim() == 5 && a.is_contiguous() && b.is_contiguous() &&
               a.dtype() == b.dtype(),
           op << ": expected contiguous [N, T, H, W, C] tensors of one dtype, got " << describe(a)
              << " and " << describe(b));
}

}  // namespace

void max_pool3d_forward(const Tensor& x, const Window3d& win, Tensor& y) {
  check_pool(x, y, "max_pool3d");
  const int64_t total = y.numel();
  if (total == 0) return;
  const Geom g = make_geom(x, y, win);
  by_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_forward<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
        g, static_cast<const T*>(x.data_ptr()), static_cast<T*>(y.data_ptr()), total);
  });
  VD_CUDA_LAUNCH("max_pool3d_forward");
}

void max_pool3d_backward(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dx) {
  check_pool(x, dy, "max_pool3d_backward");
  check_pool(x, dx, "max_pool3d_backward");
  if (dx.numel() == 0) return;
  const Geom g = make_geom(x, dy, win);
  const int64_t ny = dy.numel(), nx = dx.numel();
  const size_t wbytes = size_t(std::max<int64_t>(ny, 1)) * sizeof(int64_t);
  int64_t* winners = static_cast<int64_t*>(alloc(wbytes));
  by_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (ny > 0)
      max_winners<T><<<grid_for(ny, kThreads), kThreads, 0, stream()>>>(
          g, static_cast<const T*>(x.data_ptr()), winners, ny);
    pool_backward<T, true><<<grid_for(nx, kThreads), kThreads, 0, stream()>>>(
        g, static_cast<const T*>(dy.data_ptr()), winners, false, static_cast<T*>(dx.data_ptr()), nx);
  });
  release(winners, wbytes);  // stream-ordered reuse (cuda/allocator.cpp)
  VD_CUDA_LAUNCH("max_pool3d_backward");
}

void avg_pool3d_forward(const Tensor& x, const Window3d& win, bool count_include_pad, Tensor& y) {
  check_pool(x, y, "avg_pool3d");
  const int64_t total = y.numel();
  if (total == 0) return;
  const Geom g = make_geom(x, y, win);
  by_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_forward<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
        g, static_cast<const T*>(x.data_ptr()), count_include_pad, static_cast<T*>(y.data_ptr()), total);
  });
  VD_CUDA_LAUNCH("avg_pool3d_forward");
}

void avg_pool3d_backward(const Tensor& dy, const Window3d& win, bool count_include_pad, Tensor& dx) {
  check_pool(dx, dy, "avg_pool3d_backward");
  const int64_t nx = dx.numel();
  if (nx == 0) return;
  const Geom g = make_geom(dx, dy, win);
  by_dtype(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    pool_backward<T, false><<<grid_for(nx, kThreads), kThreads, 0, stream()>>>(
        g, static_cast<const T*>(dy.data_ptr()), nullptr, count_include_pad,
        static_cast<T*>(dx.data_ptr()), nx);
  });
  VD_CUDA_LAUNCH("avg_pool3d_backward");
}

}  // namespace vd::cuda
