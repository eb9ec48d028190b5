// Gradient checking: compares the tape's gradients with central finite
// differences computed in f64. Used by the tests of every differentiable op.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vd::autograd {

struct GradcheckOptions {
  double eps = 1e-6;       // finite-difference step
  double atol = 1e-7;      // pass when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  // Elements whose numeric derivative changes by more than this between the
  // one-sided differences sit on a kink (relu, max ties, abs at 0): skipped.
  double kink_tolerance = 1e-3;
  GradcheckOptions& set_eps(double v) { eps = v; return *this; }
  GradcheckOptions& set_atol(double v) { atol = v; return *this; }
  GradcheckOptions& set_rtol(double v) { rtol = v; return *this; }
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0, max_rel_error = 0;
  int64_t checked = 0, skipped_kinks = 0;
  std::string message;  // first failure: input, element, both values
};

// f maps the f64 inputs (which have requires_grad set) to any tensor; the
// scalar checked is sum(f(x) * r) for a fixed random r, so every output
// element matters. Inputs must be f64 leaves on the CPU.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opt = {});

// One random direction v over all inputs: compares <grad, v> with
// (L(x + eps v) - L(x - eps v)) / 2eps. For whole networks.
GradcheckResult directional_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                      const std::vector<Tensor>& inputs, uint64_t seed = 1,
                                      double eps = 1e-6, double rtol = 1e-6);

}  // namespace vd::autograd
