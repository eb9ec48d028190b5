// layers/optim/lbfgs.cpp: the L-BFGS minimiser of lbfgs.h.
#include "layers/optim/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <sstream>

#include "core/errors.h"

namespace vd::optim {

namespace {
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}
}  // namespace

LbfgsResult lbfgs_minimize(const std::function<double(const std::vector<double>&, std::vector<double>&)>& f,
                           std::vector<double>& x, const LbfgsOptions& o,
                           const std::function<void(int, double, double)>& after_iteration) {
  VD_CHECK(o.max_iterations >= 1 && o.history >= 1 && o.max_line_search >= 1 && o.gradient_tolerance >= 0,
           "lbfgs_minimize: expected max_iterations, history, max_line_search >= 1, got " << o.max_iterations << ", "
                                                                                          << o.history << ", " << o.max_line_search);
  const size_t n = x.size();
  LbfgsResult r;
  std::vector<double> g(n), d(n), xn(n), gn(n);
  double fx = f(x, g);
  ++r.evaluations;
  VD_CHECK(std::isfinite(fx), "lbfgs_minimize: the function is " << fx << " at the start");
  std::deque<std::vector<double>> S, Y;
  std::deque<double> rho;
  for (;;) {
    r.gradient_max = max_abs(g);
    if (r.gradient_max <= o.gradient_tolerance) {
      r.converged = true;
      r.reason = "gradient below tolerance";
      break;
    }
    if (r.iterations >= o.max_iterations) {
      r.reason = "max iterations (" + std::to_string(o.max_iterations) + ") reached";
      break;
    }
    // d = -H g by the two-loop recursion.
    d = g;
    std::vector<double> alpha(S.size());
    for (size_t i = S.size(); i-- > 0;) {
      alpha[i] = rho[i] * dot(S[i], d);
      for (size_t j = 0; j < n; ++j) d[j] -= alpha[i] * Y[i][j];
    }
    const double gamma = S.empty() ? 1.0 / std::max(1.0, std::sqrt(dot(g, g))) : dot(S.back(), Y.back()) / dot(Y.back(), Y.back());
    for (double& v : d) v *= gamma;
    for (size_t i = 0; i < S.size(); ++i) {
      const double beta = rho[i] * dot(Y[i], d);
      for (size_t j = 0; j < n; ++j) d[j] += (alpha[i] - beta) * S[i][j];
    }
    for (double& v : d) v = -v;
    double slope = dot(g, d);
    if (slope >= 0) {  // not a descent direction: restart from the gradient
      S.clear(), Y.clear(), rho.clear();
      for (size_t j = 0; j < n; ++j) d[j] = -g[j] / std::max(1.0, std::sqrt(dot(g, g)));
      slope = dot(g, d);
    }
    double step = 1, fn = 0;
    bool ok = false;
    for (int ls = 0; ls < o.max_line_search; ++ls, step *= 0.5) {
      for (size_t j = 0; j < n; ++j) xn[j] = x[j] + step * d[j];
      fn = f(xn, gn);
      ++r.evaluations;
      if (std::isfinite(fn) && fn <= fx + 1e-4 * step * slope) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      r.reason = "the line search found no decrease";
      r.converged = r.gradient_max < 1e-3;
      break;
    }
    std::vector<double> s(n), y(n);
    for (size_t j = 0; j < n; ++j) s[j] = xn[j] - x[j], y[j] = gn[j] - g[j];
    const double sy = dot(s, y);
    if (sy > 1e-12 * std::max(1.0, dot(y, y))) {
      S.push_back(std::move(s)), Y.push_back(std::move(y)), rho.push_back(1.0 / sy);
      if (int(S.size()) > o.history) S.pop_front(), Y.pop_front(), rho.pop_front();
    }
    const double change = std::abs(fx - fn) / std::max({std::abs(fx), std::abs(fn), 1.0});
    x.swap(xn), g.swap(gn), fx = fn;
    ++r.iterations;
    if (after_iteration) after_iteration(r.iterations, fx, step);
    if (change <= o.value_tolerance) {
      r.gradient_max = max_abs(g);
      r.converged = true;
      r.reason = "value change below tolerance";
      break;
    }
  }
  r.value = fx;
  return r;
}

}  // namespace vd::optim
