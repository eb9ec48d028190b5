// core/cpu/gemm.h: the pointer-level CPU matrix product that Tensor gemm and
// the conv kernels share, gemm_rows (core/cpu/gemm.cpp). Not the kernel
// itself: OpenBLAS when the build found it, else the project's own
// gemm_blocked (core/cpu/fast/gemm_blocked.h).
#pragma once
#include <cstdint>

namespace vd::cpu {

// Row-major c[m x n] (leading dim ldc) = alpha * op(a) @ op(b) + beta * c, with
// BLAS leading dims; OpenBLAS (held to one thread) when built with it, else
// gemm_blocked; products of 2M multiply-adds or more are split in two halves
// on two threads (core/cpu/parallel.h) unless called from inside a split.
template <class T>
void gemm_rows(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
               int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

}  // namespace vd::cpu
