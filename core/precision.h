// The process-wide numeric precision of GPU matrix products and convolutions:
// fp32 (FMA math, no TF32), tf32 (tensor-op math allowed on f32 tensors) or
// bf16 (activations and conv/matmul operands in bf16, f32 accumulation, f32
// master weights, f32 batch-norm statistics and losses). Only the setting
// lives here: the CUDA backend (cuda/) reads it; the CPU ignores it.
#pragma once
#include <string>

namespace vd {

enum class Precision { FP32, TF32, BF16 };

void set_precision(Precision p);
Precision precision();
// "fp32" | "tf32" | "bf16" (case-insensitive); anything else throws vd::Error.
Precision parse_precision(const std::string& s);
const char* precision_name(Precision p);

// Sets the precision for the lifetime of a scope (tests, benchmarks).
class PrecisionGuard {
 public:
  explicit PrecisionGuard(Precision p) : saved_(precision()) { set_precision(p); }
  ~PrecisionGuard() { set_precision(saved_); }
  PrecisionGuard(const PrecisionGuard&) = delete;
  PrecisionGuard& operator=(const PrecisionGuard&) = delete;

 private:
  Precision saved_;
};

}  // namespace vd
