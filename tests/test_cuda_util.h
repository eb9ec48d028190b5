// Helpers shared by the CUDA parity tests (tests/test_cuda_*.cpp): the skip
// when no GPU is present, host/GPU copies of random inputs, bf16 rounding of
// a CPU reference, and an elementwise closeness check that reports the worst
// element. Not a test by itself.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/backend.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/tensor.h"

#define VD_SKIP_WITHOUT_GPU()                                                                  \
  do {                                                                                         \
    if (!::vd::cuda::is_available())                                                          \
      GTEST_SKIP() << "no CUDA device (vd::cuda::is_available() is false): GPU parity skipped"; \
  } while (0)

namespace vd::cudatest {

inline Device gpu() { return Device::cuda(0); }

// Random normal values on the CPU in f32 (seeded per test).
inline Tensor randn(const Shape& s, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  Tensor t = Tensor::randn(s, &g);
  return scale == 1.0 ? t : ops::unary(UnaryOp::MulScalar, t, scale);
}

inline Tensor to_gpu(const Tensor& t) { return ops::to_device(t, gpu()); }
inline Tensor to_cpu(const Tensor& t) { return ops::to_device(t, Device::cpu()); }

// The values a bf16 tensor would hold, as f32 on the CPU.
inline Tensor bf16_round(const Tensor& t) {
  return ops::to_dtype(ops::to_dtype(t, DType::BF16), DType::F32);
}

// |got - want| <= atol + rtol |want| everywhere; got may live on the GPU.
inline ::testing::AssertionResult close(const Tensor& got, const Tensor& want, double rtol, double atol) {
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shapes differ: " << describe(got) << " vs " << describe(want);
  const std::vector<double> a = got.to_vector(), b = want.to_vector();
  size_t worst = 0, bad = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const double tol = atol + rtol * std::fabs(b[i]);
    const double err = std::fabs(a[i] - b[i]);
    const bool ok = err <= tol || (std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i];
    if (!ok) ++bad;
    const double excess = std::isnan(err) ? 1e300 : err - tol;
    if (!ok && excess > worst_excess) {
      worst_excess = excess;
      worst = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << a.size() << " elements differ (rtol " << rtol
                                       << ", atol " << atol << "); worst at " << worst << ": got "
                                       << a[worst] << ", want " << b[worst];
}

// Bitwise equality of two tensors' values (as f64 on the host).
inline bool same_bits(const Tensor& a, const Tensor& b) { return a.to_vector() == b.to_vector(); }

}  // namespace vd::cudatest
