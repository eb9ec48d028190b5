// Matrix products on the GPU through cuBLAS (cublasGemmStridedBatchedEx).
// Our tensors are row-major; cuBLAS is column-major, so C = op(A) op(B) is
// computed as C^T = op(B)^T op(A)^T by swapping the operands. The compute type
// follows the precision setting (core/precision.h): f32 tensors use plain
// FP32 (no TF32) under fp32 and TF32 tensor cores under tf32/bf16; bf16
// tensors accumulate in f32; f64 in f64. Not the convolution (cuda/conv3d.cpp).
#include <climits>

#include "core/backend.h"
#include "core/precision.h"
#include "cuda/check.h"
#include "cuda/context.h"

namespace vd::cuda {

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  VD_CHECK(a.dim() == 3 && b.dim() == 3 && c.dim() == 3 && a.is_contiguous() &&
               b.is_contiguous() && c.is_contiguous(),
           "gemm: expected contiguous 3-D a, b, c, got " << describe(a) << ", " << describe(b)
                                                         << ", " << describe(c));
  VD_CHECK(a.dtype() == b.dtype() && a.dtype() == c.dtype(),
           "gemm: dtypes differ: " << describe(a) << ", " << describe(b) << ", " << describe(c));
  const int64_t batch = c.size(0), m = c.size(1), n = c.size(2);
  const int64_t k = trans_a ? a.size(1) : a.size(2);
  VD_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && batch <= INT_MAX,
           "gemm: sizes over 2^31 are not supported by this cuBLAS call: " << describe(a) << " @ "
                                                                          << describe(b));
  if (batch == 0 || m == 0 || n == 0) return;
  // Row-major X [r, s] is column-major X^T with leading dimension s.
  const int lda = int(a.size(2)), ldb = int(b.size(2)), ldc = int(n);
  const cublasOperation_t opa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t opb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const long long sa = a.size(1) * a.size(2), sb = b.size(1) * b.size(2), sc = m * n;

  cudaDataType_t dt = CUDA_R_32F;
  cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
  float alpha_f = float(alpha), beta_f = float(beta);
  const void* pa = &alpha_f;
  const void* pb = &beta_f;
  switch (a.dtype()) {
    case DType::F32:
      ct = precision() == Precision::FP32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
      break;
    case DType::BF16:
      dt = CUDA_R_16BF;
      break;
    case DType::F64:
      dt = CUDA_R_64F;
      ct = CUBLAS_COMPUTE_64F;
      pa = &alpha;
      pb = &beta;
      break;
  }
  DeviceContext& ctx = context();
  // Under fp32 the handle must not pick TF32 on its own either.
  VD_CUBLAS_CHECK(cublasSetMathMode(
      ctx.cublas, ct == CUBLAS_COMPUTE_32F_FAST_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  VD_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      ctx.cublas, opb, opa, int(n), int(m), int(k), pa, b.data_ptr(), dt, ldb, sb, a.data_ptr(), dt,
      lda, sa, pb, c.data_ptr(), dt, ldc, sc, int(batch), ct, CUBLAS_GEMM_DEFAULT));
}

}  // namespace vd::cuda
