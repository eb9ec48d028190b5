// The project's own CPU matrix product, gemm_blocked (gemm_blocked.h): what
// gemm_rows calls when the build has no OpenBLAS. Not threaded (gemm_rows
// splits large products in two), not the OpenBLAS path.
//
// c[m x n] = alpha * A @ B + beta * c in the Goto/BLIS arrangement:
//   for each block of NC columns of B and KC of the shared dimension:
//     pack B[pc.., jc..] into panels of NR columns   Bp [panels][KC][NR]
//     for each block of MC rows of A:
//       pack alpha * A[ic.., pc..] into panels of MR rows   Ap [panels][KC][MR]
//       for every (MR x NR) tile of c: c_tile += Ap panel @ Bp panel
// Packing makes every tile's inner loop read two contiguous streams whatever
// A's and B's strides (so transposes cost nothing extra) and zero-pads the
// edges. A tile keeps its MR x NR sums in vector registers (6 x 16 floats or
// 6 x 8 doubles: 12 AVX registers). The code is written once with GCC vector
// types and compiled twice (target_clones): for AVX2 + FMA, chosen at run
// time when the CPU has them, and for the baseline x86-64 (SSE2).
// Each element of c sums over the shared dimension in order, KC terms at a time,
// so results repeat bit for bit.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/cpu/fast/gemm_blocked.h"

namespace vd::cpu {

namespace {

template <class T>
struct Tile;
template <>
struct Tile<float> {
  typedef float V __attribute__((vector_size(32)));
  static constexpr int L = 8, MR = 6, NR = 16;  // lanes per vector, tile rows, tile columns
};
template <>
struct Tile<double> {
  typedef double V __attribute__((vector_size(32)));
  static constexpr int L = 4, MR = 6, NR = 8;
};

constexpr int64_t KC = 256, MC = 72, NC = 2048;  // block sizes (MC a multiple of MR)

// Packs rows [q0, q0 + nq) x shared indices [p0, p0 + kc) of an operand X
// (element (q, p) at x[q*s_q + p*s_p]) into panels of W: out[panel][p][w] =
// scale * X(q0 + panel*W + w, p0 + p), zero past nq. A packs with W = MR,
// q = its rows; B with W = NR, q = its columns.
template <int W, class T>
__attribute__((always_inline)) inline void pack(const T* x, int64_t s_q, int64_t s_p, T scale, int64_t q0,
                                                int64_t nq, int64_t p0, int64_t kc, T* out) {
  for (int64_t qp = 0; qp < nq; qp += W, out += kc * W) {
    const int64_t width = std::min<int64_t>(W, nq - qp);
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = x + (q0 + qp) * s_q + (p0 + p) * s_p;
      T* dst = out + p * W;
      for (int64_t w = 0; w < width; ++w) dst[w] = scale * src[w * s_q];
      for (int64_t w = width; w < W; ++w) dst[w] = T(0);
    }
  }
}

// c[mr x nr] (row stride ldc) += Ap panel [kc][MR] @ Bp panel [kc][NR].
template <class T>
__attribute__((always_inline)) inline void tile(int64_t kc, const T* ap, const T* bp, T* c, int64_t ldc, int64_t mr,
                                                int64_t nr) {
  typedef typename Tile<T>::V V;
  constexpr int L = Tile<T>::L, MR = Tile<T>::MR, NR = Tile<T>::NR, NV = NR / L;
  V acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = V{};
  for (int64_t p = 0; p < kc; ++p, ap += MR, bp += NR) {
    V bv[NV];
    for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], bp + v * L, sizeof(V));
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] += ap[i] * bv[v];
  }
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) {
        V cv;
        std::memcpy(&cv, c + i * ldc + v * L, sizeof(V));
        cv += acc[i][v];
        std::memcpy(c + i * ldc + v * L, &cv, sizeof(V));
      }
    return;
  }
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] += acc[i][j / L][j % L];
}

template <class T>
__attribute__((always_inline)) inline void blocked(int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                                                   int64_t sa_i, int64_t sa_p, const T* b, int64_t sb_p,
                                                   int64_t sb_j, T beta, T* c) {
  constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
  if (beta == T(0))
    std::fill(c, c + m * n, T(0));
  else if (beta != T(1))
    for (int64_t i = 0; i < m * n; ++i) c[i] *= beta;
  if (m == 0 || n == 0 || k == 0 || alpha == T(0)) return;
  std::vector<T> bp(size_t(KC * ((std::min(NC, n) + NR - 1) / NR * NR)));
  std::vector<T> ap(size_t(KC * MC));
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = std::min(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      pack<NR>(b, sb_j, sb_p, T(1), jc, nc, pc, kc, bp.data());
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = std::min(MC, m - ic);
        pack<MR>(a, sa_i, sa_p, alpha, ic, mc, pc, kc, ap.data());
        for (int64_t jr = 0; jr < nc; jr += NR)
          for (int64_t ir = 0; ir < mc; ir += MR)
            tile(kc, ap.data() + ir * kc, bp.data() + jr * kc, c + (ic + ir) * n + jc + jr, n,
                 std::min<int64_t>(MR, mc - ir), std::min<int64_t>(NR, nc - jr));
      }
    }
  }
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) void blocked_f32(
    int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t sa_i, int64_t sa_p, const float* b,
    int64_t sb_p, int64_t sb_j, float beta, float* c) {
  blocked<float>(m, n, k, alpha, a, sa_i, sa_p, b, sb_p, sb_j, beta, c);
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) void blocked_f64(
    int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t sa_i, int64_t sa_p, const double* b,
    int64_t sb_p, int64_t sb_j, double beta, double* c) {
  blocked<double>(m, n, k, alpha, a, sa_i, sa_p, b, sb_p, sb_j, beta, c);
}

}  // namespace

template <class T>
void gemm_blocked(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t sa_i, int64_t sa_p, const T* b,
                  int64_t sb_p, int64_t sb_j, T beta, T* c) {
  if constexpr (std::is_same<T, float>::value)
    blocked_f32(m, n, k, alpha, a, sa_i, sa_p, b, sb_p, sb_j, beta, c);
  else
    blocked_f64(m, n, k, alpha, a, sa_i, sa_p, b, sb_p, sb_j, beta, c);
}

template void gemm_blocked<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*,
                                  int64_t, int64_t, float, float*);
template void gemm_blocked<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t,
                                   const double*, int64_t, int64_t, double, double*);

}  // namespace vd::cpu
