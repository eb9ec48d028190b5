// The CPU kernels compute in f32 or f64 only: the shared check with the hint.
// Private to core/cpu/ (the window, batch-norm and softmax kernels).
#pragma once
#include "core/tensor.h"

namespace vd::cpu {

inline void check_float_dtype(const Tensor& t, const char* op) {
  VD_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64,
           op << ": the CPU computes in f32 or f64, got " << describe(t)
              << "; hint: bf16 is a GPU type, cast with .to(DType::F32)");
}

}  // namespace vd::cpu
