// Shared helpers of the tests/test_models_*.cpp files: golden fill of an
// encoder's parameters (tests/golden/golden_io.h rule, PyTorch layout, then
// permuted to ours), the golden input clip, and relative errors against golden
// entries. Test support only.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>

#include "core/ops.h"
#include "layers/module.h"
#include <map>
#include <memory>

#include "core/random.h"
#include "tests/golden/golden_io.h"
#include "vididi/models/encoder.h"

namespace vd::models::testing {

// The full-width encoder `name` with torchvision's 400-class head, built once
// per test binary and shared by the test files (building one draws tens of
// millions of initial values). Tests rely on its structure only, or refill
// every value (golden_fill) and set dtype and mode themselves.
inline Encoder& shared_full_model(const std::string& name) {
  static std::map<std::string, std::shared_ptr<Encoder>> cache;
  std::shared_ptr<Encoder>& m = cache[name];
  if (!m) {
    Generator gen(7);
    EncoderOptions opt;
    opt.num_classes = 400;
    opt.gen = &gen;
    m = make_encoder(name, opt);
  }
  return *m;
}

// A tensor given in PyTorch layout (values row-major over torch_shape), in ours.
inline Tensor from_torch_values(const std::vector<double>& values, const Shape& torch_shape,
                                DType dtype) {
  Tensor t = Tensor::from_vector(values, torch_shape);
  return ops::to_dtype(from_torch_layout(t), dtype);
}

// Every parameter and buffer of m by the deterministic golden fill rule.
inline void golden_fill(nn::Module& m) {
  for (auto& [name, t] : m.state_dict()) {
    Shape ts = torch_shape(t.shape());
    std::vector<double> v = golden::fill_param(name, ts);
    Tensor src = from_torch_values(v, ts, t.dtype());
    Tensor dst = t;
    ops::copy_(dst, src);
  }
}

// fill('input', [N, C, T, H, W], uniform, bound 1) as a channels-last clip.
inline Tensor golden_input(const Shape& ncthw, DType dtype) {
  return from_torch_values(golden::fill("input", ncthw, golden::FillKind::Uniform, 1.0), ncthw,
                           dtype);
}

inline Shape entry_shape(const golden::Entry& e) {
  Shape s;
  for (double v : e.values) s.push_back(int64_t(std::llround(v)));
  return s;
}

// max |ours - ref| / max |ref| (the tensor's scale), ours converted to torch layout.
// Shapes must agree; returns +inf when they do not.
inline double rel_error(const Tensor& ours, const golden::Entry& ref) {
  Tensor t = to_torch_layout(ours);
  if (Shape(ref.shape) != t.shape()) return INFINITY;
  std::vector<double> a = t.to_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(a[i] - ref.values[i]));
    scale = std::max(scale, std::fabs(ref.values[i]));
  }
  return diff / std::max(scale, 1e-30);
}

}  // namespace vd::models::testing
