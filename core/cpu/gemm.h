// The project's own blocked CPU matrix product (the fallback when OpenBLAS is
// absent), exposed so tests and benchmarks can call it directly.
#pragma once
#include <cstdint>

namespace vd::cpu {

// c[m x n] = alpha * A @ B + beta * c with A(i,p) = a[i*sa_i + p*sa_p] and
// B(p,j) = b[p*sb_p + j*sb_j]; c is row-major and contiguous.
template <class T>
void gemm_blocked(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t sa_i, int64_t sa_p,
                  const T* b, int64_t sb_p, int64_t sb_j, T beta, T* c);

// Row-major c[m x n] (leading dim ldc) = alpha * op(a) @ op(b) + beta * c, with
// BLAS leading dims; OpenBLAS (held to one thread) when built with it, else
// gemm_blocked; products of 2M multiply-adds or more are split in two halves
// on two threads (core/cpu/parallel.h) unless called from inside a split. The
// pointer-level entry that Tensor gemm and the conv kernels share.
template <class T>
void gemm_rows(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
               int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

}  // namespace vd::cpu
