// Helpers shared by the CPU batch-norm kernels (core/cpu/batch_norm.cpp and
// its fused twin core/cpu/batch_norm_act.cpp): [C] parameters read as
// doubles, [C] results stored back, and the per-channel sums in their fixed
// order (two halves of the rows, each in row order, the second added to the
// first), so that both files reduce bit for bit alike. Private to core/cpu/.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/cpu/parallel.h"
#include "core/tensor.h"

namespace vd::cpu::bn {

// A [C] vector as doubles; `fallback` when t is undefined.
inline std::vector<double> channel_values(const Tensor& t, int64_t C, double fallback) {
  if (!t.defined()) return std::vector<double>(size_t(C), fallback);
  return t.to_vector();
}

inline void store_channels(Tensor& t, const std::vector<double>& v) {
  if (!t.defined()) return;
  for (size_t c = 0; c < v.size(); ++c) {
    if (t.dtype() == DType::F32)
      t.data<float>()[int64_t(c) * t.strides()[0]] = float(v[c]);
    else
      t.data<double>()[int64_t(c) * t.strides()[0]] = v[c];
  }
}

// Rows below this stay on one thread.
constexpr int64_t kMinSplit = 4096;

// Per-channel sums [C]: f(m0, m1, acc) adds the terms of rows [m0, m1) into
// acc[c]. The rows are split in two halves; the result is the first half's
// sums plus the second's.
template <class F>
std::vector<double> channel_sums(int64_t M, int64_t C, F f) {
  std::vector<double> half[2] = {std::vector<double>(size_t(C), 0.0), std::vector<double>(size_t(C), 0.0)};
  parallel2(M, kMinSplit, [&](int64_t m0, int64_t m1) { f(m0, m1, half[m0 > 0 ? 1 : 0].data()); });
  for (size_t c = 0; c < size_t(C); ++c) half[0][c] += half[1][c];
  return half[0];
}

// dx of batch norm over [M, C] rows, from g(i), the gradient at element i
// of its output (dy itself, or the fused kernel's ReLU-masked dy), and the
// sums sdy = sum g, sdyx = sum g * xhat:
// training: dx = gamma * invstd * (g - sdy / M - xhat * sdyx / M);
// eval:     dx = gamma * invstd * g.
template <class T, class G>
void write_dx(int64_t M, int64_t C, const T* xp, G g, const std::vector<double>& mu, const std::vector<double>& is,
              const std::vector<double>& ga, const std::vector<double>& sdy, const std::vector<double>& sdyx,
              bool training, T* dxp) {
  const double inv_m = 1.0 / double(std::max<int64_t>(1, M));
  parallel2(M, kMinSplit, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t c = 0; c < C; ++c) {
        const size_t u = size_t(c);
        const double k = ga[u] * is[u], gi = double(g(m * C + c));
        if (!training) {
          dxp[m * C + c] = T(k * gi);
          continue;
        }
        const double xhat = (double(xp[m * C + c]) - mu[u]) * is[u];
        dxp[m * C + c] = T(k * (gi - sdy[u] * inv_m - xhat * sdyx[u] * inv_m));
      }
  });
}

}  // namespace vd::cpu::bn
