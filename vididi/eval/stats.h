// vididi/eval/stats.h: what a result over several seeds is: mean, sample
// standard deviation and a two-sided confidence interval of the mean from
// Student's t, and the same for paired differences (method minus baseline,
// seed by seed). Used by `vididi demo` and `vididi experiment`.
// Not here: running the seeds, tables and plots of the results.
#pragma once
#include <string>
#include <vector>

namespace vd::eval {

struct Summary {
  size_t n = 0;
  double mean = 0, sd = 0;  // sd: sample standard deviation (n - 1); 0 when n < 2
  double lo = 0, hi = 0;    // confidence interval of the mean; = mean when n < 2
  // "25.5 ± 7.5 [18.0, 33.0] (n = 3)"; `digits` after the point.
  std::string str(int digits = 1) const;
};

// P(|T| <= t) for Student's t with `df` >= 1 degrees of freedom (exact
// finite series for integer df, Abramowitz & Stegun 26.7.3 and 26.7.4).
double student_t_central(double t, int df);
// The t with P(|T| <= t) = level (two-sided), e.g. 12.706 for df 1, 0.95.
double student_t_quantile(double level, int df);

// Mean, sd and the `level` interval of the mean: mean ± t * sd / sqrt(n).
Summary summarize(const std::vector<double>& x, double level = 0.95);
// The same over a[i] - b[i] (paired by seed); a and b must have one size.
Summary paired_difference(const std::vector<double>& a, const std::vector<double>& b, double level = 0.95);

}  // namespace vd::eval
