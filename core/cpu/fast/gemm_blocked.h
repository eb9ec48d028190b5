// core/cpu/fast/gemm_blocked.h: the project's own blocked CPU matrix product
// (Goto/BLIS panels, AVX2 + FMA when present), the fallback that gemm_rows
// (core/cpu/gemm.h) calls when the build has no OpenBLAS; exposed so tests
// and benchmarks can call it directly. Not threaded and not the reference
// (tests/test_cpu_gemm.cpp compares it with plain f64 loops).
#pragma once
#include <cstdint>

namespace vd::cpu {

// c[m x n] = alpha * A @ B + beta * c with A(i,p) = a[i*sa_i + p*sa_p] and
// B(p,j) = b[p*sb_p + j*sb_j]; c is row-major and contiguous.
template <class T>
void gemm_blocked(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t sa_i, int64_t sa_p,
                  const T* b, int64_t sb_p, int64_t sb_j, T beta, T* c);

}  // namespace vd::cpu
