// layers/optim/lbfgs.h: limited-memory BFGS for a smooth function of a flat
// vector, full batch: the two-loop recursion over the last `history` pairs
// (Nocedal & Wright, Algorithm 7.4) with the initial Hessian scaled by
// s'y / y'y, and a backtracking line search on the Armijo condition. Used to
// fit linear heads on cached features (the way scikit-learn's
// LogisticRegression and CLIP's linear probes fit them). Stops when the
// largest gradient entry is below `gradient_tolerance`, when a step changes
// the value by less than `value_tolerance` relatively, when the line search
// fails, or after `max_iterations`. Not an Optimizer (layers/optim/
// optimizer.h): it needs the whole function, not one gradient per step.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace vd::optim {

struct LbfgsOptions {
  int max_iterations = 1000;
  int history = 10;
  double gradient_tolerance = 1e-4;  // max |g_i| (scikit-learn's tol)
  double value_tolerance = 1e-10;    // |f_old - f_new| / max(|f_old|, |f_new|, 1)
  int max_line_search = 30;          // halvings of the step
};

struct LbfgsResult {
  int iterations = 0;    // accepted steps
  int evaluations = 0;   // calls of f (full passes over the data)
  double value = 0;      // f at the end
  double gradient_max = 0;
  bool converged = false;
  std::string reason;    // why it stopped
};

// f(x, g) returns the value at x and writes the gradient into g (g has x's
// size). x is updated in place. after_iteration (may be empty) sees the
// iteration count, the value and the accepted step length.
LbfgsResult lbfgs_minimize(const std::function<double(const std::vector<double>& x, std::vector<double>& g)>& f,
                           std::vector<double>& x, const LbfgsOptions& options = {},
                           const std::function<void(int iteration, double value, double step)>& after_iteration = {});

}  // namespace vd::optim
