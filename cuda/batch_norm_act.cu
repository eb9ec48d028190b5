// CUDA fused batch norm + residual add + ReLU over the last (channel) axis,
// the twin of core/cpu/batch_norm_act.cpp. f32 and bf16 x (f64 too, for
// parity tests), NDHWC flattened to [M, C], f32 statistics and parameters
// (f64 for f64 x), computed in f32 (f64). Each step rounds to x's dtype
// where the unfused kernels round (the apply's output, the sum), so the
// fused results equal batch_norm_apply -> add -> relu on the GPU too, bf16
// included, and with the same column sums the gradients equal those of
// relu -> add -> batch_norm_backward.
//   forward:  one elementwise kernel, y = max(0, T(T(x * scale + shift) + r)).
//   backward: two passes over the tensor: the column sums of g and g * xhat
//             (g = y > 0 ? dy : 0; cuda/batch_norm_common.cuh, fixed order,
//             no atomics) with a tiny in-order [C] finish, then one
//             elementwise kernel writing dx and dr = g.
// Not the statistics (batch_norm_stats, cuda/batch_norm.cu).
//
// x, r, y, dy, dx, dr: [M, C] contiguous; mean, invstd, gamma, beta, dgamma,
// dbeta: [C] (gamma/beta, r, dx, dr may be undefined).
#include "cuda/batch_norm_common.cuh"

namespace vd::cuda {

namespace {

template <class T>
__global__ void act_forward_kernel(const T* x, const T* r, int64_t n, int64_t C,
                                   Vec<typename Acc<T>::type> mean, Vec<typename Acc<T>::type> invstd,
                                   Vec<typename Acc<T>::type> gamma, Vec<typename Acc<T>::type> beta,
                                   T* y) {
  using A = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % C;
    const A scale = invstd.at(c) * gamma.at(c);
    const A shift = beta.at(c) - mean.at(c) * scale;
    T v = from_acc<T>(to_acc(x[i]) * scale + shift);     // batch_norm_apply
    if (r) v = from_acc<T>(to_acc(v) + to_acc(r[i]));    // add
    const A z = to_acc(v);
    y[i] = from_acc<T>(z > A(0) ? z : A(0));             // relu
  }
}

// g = y > 0 ? dy : 0; dr = g; training: dx = gamma invstd (g - sdy/M - xhat sdyx/M);
// eval: dx = gamma invstd g (the formulas of batch_norm.cu's dx_kernel).
template <class T>
__global__ void act_dx_kernel(const T* x, const T* y, const T* dy, int64_t n, int64_t C,
                              Vec<typename Acc<T>::type> mean, Vec<typename Acc<T>::type> invstd,
                              Vec<typename Acc<T>::type> gamma, const typename Acc<T>::type* sdy,
                              const typename Acc<T>::type* sdyx, typename Acc<T>::type inv_m,
                              bool training, T* dx, T* dr) {
  using A = typename Acc<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % C;
    const A g = to_acc(y[i]) > A(0) ? to_acc(dy[i]) : A(0);
    if (dr) dr[i] = from_acc<T>(g);
    if (!dx) continue;
    const A is = invstd.at(c), k = gamma.at(c) * is;
    if (!training) {
      dx[i] = from_acc<T>(k * g);
      continue;
    }
    const A xhat = (to_acc(x[i]) - mean.at(c)) * is;
    dx[i] = from_acc<T>(k * (g - sdy[c] * inv_m - xhat * sdyx[c] * inv_m));
  }
}

void check_like(const Tensor& t, const Tensor& x, const char* what, const char* op) {
  VD_CHECK(t.dtype() == x.dtype() && t.is_contiguous() && t.numel() == x.numel() && t.is_cuda(),
           op << " (CUDA): " << what << " " << describe(t) << " must match x " << describe(x)
              << " (dtype, element count, contiguous, on the GPU)");
}

template <class T>
void forward_typed(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                   const Tensor& beta, const Tensor& residual, Tensor& y) {
  using A = typename Acc<T>::type;
  const Rows r = rows_of(x);
  const int64_t n = x.numel();
  if (n == 0) return;
  act_forward_kernel<T><<<grid_for(n, 256), 256, 0, stream()>>>(
      static_cast<const T*>(x.data_ptr()),
      residual.defined() ? static_cast<const T*>(residual.data_ptr()) : nullptr, n, r.C,
      vec<A>(mean, r.C, A(0), "mean", x), vec<A>(invstd, r.C, A(1), "invstd", x),
      vec<A>(gamma, r.C, A(1), "gamma", x), vec<A>(beta, r.C, A(0), "beta", x),
      static_cast<T*>(y.data_ptr()));
  VD_CUDA_LAUNCH("batch_norm_act_forward");
}

template <class T>
void backward_typed(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& mean,
                    const Tensor& invstd, const Tensor& gamma, bool training, Tensor& dx,
                    Tensor& dgamma, Tensor& dbeta, Tensor& dresidual) {
  using A = typename Acc<T>::type;
  const Rows r = rows_of(x);
  if (r.C == 0) return;
  const Vec<A> vm = vec<A>(mean, r.C, A(0), "mean", x), vi = vec<A>(invstd, r.C, A(1), "invstd", x),
               vg = vec<A>(gamma, r.C, A(1), "gamma", x);
  Scratch part(size_t(2 * r.S * r.C) * sizeof(A)), sums(size_t(2 * r.C) * sizeof(A));
  cudaStream_t st = stream();
  const dim3 grid(unsigned(ceil_div(r.C, 32)), unsigned(r.S)), block(32, 8);
  A* p0 = part.as<A>();
  A* p1 = part.as<A>() + r.S * r.C;
  A* sdy = sums.as<A>();
  A* sdyx = sums.as<A>() + r.C;
  const T* xp = static_cast<const T*>(x.data_ptr());
  const T* yp = static_cast<const T*>(y.data_ptr());
  const T* dyp = static_cast<const T*>(dy.data_ptr());
  // Pass 1: the column sums of the masked gradient (the same chunks and tree as batch_norm_backward).
  column_partials<T, kBwd><<<grid, block, 0, st>>>(xp, dyp, yp, r.M, r.C, r.chunk, vm, vi, p0, p1);
  column_finish<A><<<grid_for(r.C, 256), 256, 0, st>>>(p0, p1, r.S, r.C, sdy, sdyx);
  if (dbeta.defined())
    store_vec<A><<<grid_for(r.C, 256), 256, 0, st>>>(sdy, r.C, vec<A>(dbeta, r.C, A(0), "dbeta", x));
  if (dgamma.defined())
    store_vec<A><<<grid_for(r.C, 256), 256, 0, st>>>(sdyx, r.C, vec<A>(dgamma, r.C, A(0), "dgamma", x));
  // Pass 2: dx and dr, elementwise.
  const bool want_dx = dx.defined() && dx.numel() > 0, want_dr = dresidual.defined() && dresidual.numel() > 0;
  if (want_dx) check_like(dx, x, "dx", "batch_norm_act_backward");
  if (want_dr) check_like(dresidual, x, "dresidual", "batch_norm_act_backward");
  if (want_dx || want_dr)
    act_dx_kernel<T><<<grid_for(x.numel(), 256), 256, 0, st>>>(
        xp, yp, dyp, x.numel(), r.C, vm, vi, vg, sdy, sdyx, A(1) / A(std::max<int64_t>(1, r.M)),
        training, want_dx ? static_cast<T*>(dx.data_ptr()) : nullptr,
        want_dr ? static_cast<T*>(dresidual.data_ptr()) : nullptr);
  VD_CUDA_LAUNCH("batch_norm_act_backward");
}

}  // namespace

void batch_norm_act_forward(const Tensor& x, const Tensor& mean, const Tensor& invstd,
                            const Tensor& gamma, const Tensor& beta, const Tensor& residual,
                            Tensor& y) {
  check_like(y, x, "y", "batch_norm_act_forward");
  if (residual.defined()) check_like(residual, x, "residual", "batch_norm_act_forward");
  by_dtype(x.dtype(), [&](auto tag) {
    forward_typed<decltype(tag)>(x, mean, invstd, gamma, beta, residual, y);
  });
}

void batch_norm_act_backward(const Tensor& dy, const Tensor& y, const Tensor& x,
                             const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                             bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                             Tensor& dresidual) {
  check_like(dy, x, "dy", "batch_norm_act_backward");
  check_like(y, x, "y", "batch_norm_act_backward");
  by_dtype(x.dtype(), [&](auto tag) {
    backward_typed<decltype(tag)>(dy, y, x, mean, invstd, gamma, training, dx, dgamma, dbeta, dresidual);
  });
}

}  // namespace vd::cuda
