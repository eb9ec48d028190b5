// The CPU reference of 3-D convolution (see conv3d_reference.h): one loop nest
// over every multiply of the convolution, shared by the three passes, which
// differ only in which two tensors they multiply and where the product goes:
//   forward:          y[yi]  += x[xi]  * w[wi]
//   backward-data:    dx[xi] += dy[yi] * w[wi]
//   backward-weight:  dw[wi] += dy[yi] * x[xi]
// Sums are kept in double whatever the dtype and rounded once at the end, so
// the f32 reference is as exact as the f64 one up to that rounding. Single
// threaded, no blocking, no vector code: the fast paths are in core/cpu/fast/.
#include "core/cpu/conv3d_reference.h"

#include <vector>

#include "core/cpu/dtype_check.h"

namespace vd::cpu {

namespace {

// The sizes of one convolution, read from x [N, T, H, W, Ci] (or dx) and
// y [N, To, Ho, Wo, Co] (or dy), and the row-major index of an element of
// each of the three tensors.
struct Geometry {
  int64_t N, T, H, W, Ci, To, Ho, Wo, Co;
  Window3d win;

  Geometry(const Tensor& x, const Tensor& y, const Window3d& w)
      : N(x.size(0)), T(x.size(1)), H(x.size(2)), W(x.size(3)), Ci(x.size(4)),
        To(y.size(1)), Ho(y.size(2)), Wo(y.size(3)), Co(y.size(4)), win(w) {}

  int64_t x_index(int64_t n, int64_t t, int64_t h, int64_t w, int64_t i) const {
    return (((n * T + t) * H + h) * W + w) * Ci + i;
  }
  int64_t y_index(int64_t n, int64_t to, int64_t ho, int64_t wo, int64_t o) const {
    return (((n * To + to) * Ho + ho) * Wo + wo) * Co + o;
  }
  int64_t w_index(int64_t o, int64_t kt, int64_t kh, int64_t kw, int64_t i) const {
    return (((o * win.kernel[0] + kt) * win.kernel[1] + kh) * win.kernel[2] + kw) * Ci + i;
  }

  // Calls f(x index, y index, w index) for every multiply x * w that the
  // forward adds into y, in row-major order of (n, to, ho, wo, o, kt, kh, kw, i).
  // Taps in the padding are skipped (they multiply zeros).
  template <class F>
  void for_each_product(F f) const {
    const auto &k = win.kernel, &s = win.stride, &p = win.padding, &d = win.dilation;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t to = 0; to < To; ++to)
        for (int64_t ho = 0; ho < Ho; ++ho)
          for (int64_t wo = 0; wo < Wo; ++wo)
            for (int64_t o = 0; o < Co; ++o)
              for (int64_t kt = 0; kt < k[0]; ++kt)
                for (int64_t kh = 0; kh < k[1]; ++kh)
                  for (int64_t kw = 0; kw < k[2]; ++kw) {
                    // the input position under this tap
                    const int64_t t = to * s[0] - p[0] + kt * d[0];
                    const int64_t h = ho * s[1] - p[1] + kh * d[1];
                    const int64_t w = wo * s[2] - p[2] + kw * d[2];
                    if (t < 0 || t >= T || h < 0 || h >= H || w < 0 || w >= W) continue;
                    for (int64_t i = 0; i < Ci; ++i)
                      f(x_index(n, t, h, w, i), y_index(n, to, ho, wo, o), w_index(o, kt, kh, kw, i));
                  }
  }
};

// The checks every pass shares: the sizes that Geometry reads from `big`
// ([N, T, H, W, Cin]) and `small` ([N, To, Ho, Wo, Cout]) must agree with
// each other, with the kernel w and with the window.
void check(const char* op, const Tensor& big, const Tensor& small, const Tensor& w, const Window3d& win) {
  check_float_dtype(big, op);
  for (const Tensor* t : {&big, &small, &w})
    VD_CHECK(t->dim() == 5 && t->is_contiguous() && !t->is_cuda() && t->dtype() == big.dtype(),
             op << ": expected contiguous 5-d CPU tensors of one dtype, got " << describe(big) << ", "
                << describe(small) << " and " << describe(w));
  const bool ok = small.size(0) == big.size(0) && w.size(4) == big.size(4) && small.size(4) == w.size(0) &&
                  w.size(1) == win.kernel[0] && w.size(2) == win.kernel[1] && w.size(3) == win.kernel[2] &&
                  small.size(1) == win.out_size(0, big.size(1)) && small.size(2) == win.out_size(1, big.size(2)) &&
                  small.size(3) == win.out_size(2, big.size(3));
  VD_CHECK(ok, op << ": expected x [N, T, H, W, Cin], w [Cout, kT, kH, kW, Cin] and y [N, To, Ho, Wo, Cout] of "
                  << win.str() << ", got x " << describe(big) << ", w " << describe(w) << ", y "
                  << describe(small));
}

// Runs `body(sums)` over a zeroed double buffer of out's size, then writes the
// sums into out (rounded to out's dtype).
template <class T, class Body>
void accumulate_into(Tensor& out, Body body) {
  std::vector<double> sums(size_t(out.numel()), 0.0);
  body(sums);
  T* o = static_cast<T*>(out.data_ptr());
  for (size_t i = 0; i < sums.size(); ++i) o[i] = T(sums[i]);
}

template <class T>
void forward_typed(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* wp = static_cast<const T*>(w.data_ptr());
  accumulate_into<T>(y, [&](std::vector<double>& ys) {
    Geometry(x, y, win).for_each_product([&](int64_t xi, int64_t yi, int64_t wi) {
      ys[size_t(yi)] += double(xp[xi]) * double(wp[wi]);
    });
  });
}

template <class T>
void backward_data_typed(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  const T* wp = static_cast<const T*>(w.data_ptr());
  accumulate_into<T>(dx, [&](std::vector<double>& dxs) {
    Geometry(dx, dy, win).for_each_product([&](int64_t xi, int64_t yi, int64_t wi) {
      dxs[size_t(xi)] += double(dyp[yi]) * double(wp[wi]);
    });
  });
}

template <class T>
void backward_weight_typed(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  accumulate_into<T>(dw, [&](std::vector<double>& dws) {
    Geometry(x, dy, win).for_each_product([&](int64_t xi, int64_t yi, int64_t wi) {
      dws[size_t(wi)] += double(dyp[yi]) * double(xp[xi]);
    });
  });
}

}  // namespace

void conv3d_reference_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  check("conv3d_reference_forward", x, y, w, win);
  if (x.dtype() == DType::F32)
    forward_typed<float>(x, w, win, y);
  else
    forward_typed<double>(x, w, win, y);
}

void conv3d_reference_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  check("conv3d_reference_backward_data", dx, dy, w, win);
  if (dy.dtype() == DType::F32)
    backward_data_typed<float>(dy, w, win, dx);
  else
    backward_data_typed<double>(dy, w, win, dx);
}

void conv3d_reference_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  check("conv3d_reference_backward_weight", x, dy, dw, win);
  if (dy.dtype() == DType::F32)
    backward_weight_typed<float>(x, dy, win, dw);
  else
    backward_weight_typed<double>(x, dy, win, dw);
}

}  // namespace vd::cpu
