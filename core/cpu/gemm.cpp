// CPU matrix product c = alpha * op(a) @ op(b) + beta * c over a batch,
// large products split over two threads (core/cpu/parallel.h).
// Calls OpenBLAS when the build found it (VD_OPENBLAS), else the project's own
// blocked kernel (core/cpu/fast/gemm_blocked.cpp, also exported for tests and
// benchmarks).
#include <algorithm>
#include <vector>

#include "core/backend.h"
#include "core/cpu/gemm.h"
#include "core/cpu/fast/gemm_blocked.h"
#include "core/cpu/parallel.h"

#ifdef VD_OPENBLAS
#include <cblas.h>
#endif

namespace vd::cpu {

// One thread's product. OpenBLAS is held to one thread of its own: the CPU
// backend's parallelism is parallel2 (core/cpu/parallel.h), and OpenBLAS's
// idle threads spinning in sched_yield beside it cost up to 1.7x on the
// 2-core development machine (docs/CPU_PERFORMANCE.md, Method: Threads).
template <class T>
static void gemm_serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* pa,
                        int64_t lda, const T* pb, int64_t ldb, T beta, T* pc, int64_t ldc) {
#ifdef VD_OPENBLAS
  static const bool one_thread = (openblas_set_num_threads(1), true);
  (void)one_thread;
  const auto TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same<T, float>::value)
    cblas_sgemm(CblasRowMajor, TA, TB, int(m), int(n), int(k), alpha, pa, int(lda), pb, int(ldb),
                beta, pc, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, TA, TB, int(m), int(n), int(k), alpha, pa, int(lda), pb, int(ldb),
                beta, pc, int(ldc));
#else
  if (ldc == n) {
    gemm_blocked<T>(m, n, k, alpha, pa, ta ? 1 : lda, ta ? lda : 1, pb, tb ? 1 : ldb, tb ? ldb : 1,
                    beta, pc);
  } else {  // rows of c are strided: compute densely, then write back
    std::vector<T> tmp(size_t(m * n));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) tmp[size_t(i * n + j)] = pc[i * ldc + j];
    gemm_blocked<T>(m, n, k, alpha, pa, ta ? 1 : lda, ta ? lda : 1, pb, tb ? 1 : ldb, tb ? ldb : 1,
                    beta, tmp.data());
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) pc[i * ldc + j] = tmp[size_t(i * n + j)];
  }
#endif
}

template <class T>
void gemm_rows(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* pa,
               int64_t lda, const T* pb, int64_t ldb, T beta, T* pc, int64_t ldc) {
  // Products of 2M multiply-adds or more split the larger of m and n in two
  // halves on two threads (each half's elements are summed as they would be
  // whole); smaller ones, or calls from inside a split, run here.
  if (double(m) * double(n) * double(k) < double(1 << 21)) {
    gemm_serial<T>(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
  } else if (m >= n) {
    parallel2(m, 2, [&](int64_t i0, int64_t i1) {
      gemm_serial<T>(ta, tb, i1 - i0, n, k, alpha, pa + (ta ? i0 : i0 * lda), lda, pb, ldb, beta,
                     pc + i0 * ldc, ldc);
    });
  } else {
    parallel2(n, 2, [&](int64_t j0, int64_t j1) {
      gemm_serial<T>(ta, tb, m, j1 - j0, k, alpha, pa, lda, pb + (tb ? j0 * ldb : j0), ldb, beta,
                     pc + j0, ldc);
    });
  }
}

template void gemm_rows<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                               const float*, int64_t, float, float*, int64_t);
template void gemm_rows<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                int64_t, const double*, int64_t, double, double*, int64_t);

template <class T>
static void gemm_typed(const Tensor& a, bool ta, const Tensor& b, bool tb, Tensor& c, T alpha,
                       T beta) {
  const int64_t batch = c.size(0), m = c.size(1), n = c.size(2);
  const int64_t k = a.size(ta ? 1 : 2);
  const int64_t lda = a.size(2), ldb = b.size(2);
  for (int64_t s = 0; s < batch; ++s) {
    const T* pa = static_cast<const T*>(a.data_ptr()) + s * a.size(1) * a.size(2);
    const T* pb = static_cast<const T*>(b.data_ptr()) + s * b.size(1) * b.size(2);
    T* pc = static_cast<T*>(c.data_ptr()) + s * m * n;
    gemm_rows<T>(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, n);
  }
}

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  VD_CHECK(a.dtype() == DType::F32 || a.dtype() == DType::F64,
           "gemm: the CPU computes in f32 or f64, got " << describe(a));
  if (a.dtype() == DType::F32)
    gemm_typed<float>(a, trans_a, b, trans_b, c, float(alpha), float(beta));
  else
    gemm_typed<double>(a, trans_a, b, trans_b, c, alpha, beta);
}

}  // namespace vd::cpu
