// vididi/eval/stats.cpp: seed statistics (see stats.h).
#include "vididi/eval/stats.h"

#include <cmath>
#include <cstdio>

#include "core/errors.h"

namespace vd::eval {

double student_t_central(double t, int df) {
  VD_CHECK(df >= 1, "student_t_central: expected df >= 1, got " << df);
  const double pi = std::acos(-1.0), th = std::atan(std::fabs(t) / std::sqrt(double(df)));
  const double c2 = std::cos(th) * std::cos(th);
  // Terms of the series in cos^2; odd df start from theta, even df from sin(theta).
  double sum = 1, term = 1;
  if (df % 2 == 1) {
    if (df == 1) return 2 * th / pi;
    for (int k = 2; k <= df - 3; k += 2) sum += (term *= c2 * double(k) / double(k + 1));
    return 2 / pi * (th + std::sin(th) * std::cos(th) * sum);
  }
  for (int k = 1; k <= df - 3; k += 2) sum += (term *= c2 * double(k) / double(k + 1));
  return std::sin(th) * sum;
}

double student_t_quantile(double level, int df) {
  VD_CHECK(level > 0 && level < 1, "student_t_quantile: expected a level in (0, 1), got " << level);
  double lo = 0, hi = 1;
  while (student_t_central(hi, df) < level) hi *= 2;
  for (int i = 0; i < 200; ++i) {  // bisection to the last bit
    const double mid = 0.5 * (lo + hi);
    (student_t_central(mid, df) < level ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Summary summarize(const std::vector<double>& x, double level) {
  Summary s;
  s.n = x.size();
  if (s.n == 0) return s;
  for (double v : x) s.mean += v / double(s.n);
  s.lo = s.hi = s.mean;
  if (s.n < 2) return s;
  double ss = 0;
  for (double v : x) ss += (v - s.mean) * (v - s.mean);
  s.sd = std::sqrt(ss / double(s.n - 1));
  const double half = student_t_quantile(level, int(s.n) - 1) * s.sd / std::sqrt(double(s.n));
  s.lo = s.mean - half, s.hi = s.mean + half;
  return s;
}

Summary paired_difference(const std::vector<double>& a, const std::vector<double>& b, double level) {
  VD_CHECK(a.size() == b.size(), "paired_difference: expected results of the same seeds, got " << a.size()
                                     << " and " << b.size() << " values");
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return summarize(d, level);
}

std::string Summary::str(int digits) const {
  char buf[160];
  if (n < 2)
    std::snprintf(buf, sizeof buf, "%.*f (n = %zu, no interval)", digits, mean, n);
  else
    std::snprintf(buf, sizeof buf, "%.*f ± %.*f [%.*f, %.*f] (n = %zu)", digits, mean, digits, sd, digits, lo,
                  digits, hi, n);
  return buf;
}

}  // namespace vd::eval
