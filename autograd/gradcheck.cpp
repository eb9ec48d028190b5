// Finite-difference gradient checks (see gradcheck.h).
#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/random.h"

namespace vd::autograd {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Offset (in elements, from data_ptr) of the i-th element in row-major order.
static int64_t element_offset(const Tensor& t, int64_t i) {
  int64_t off = 0;
  for (int d = t.dim() - 1; d >= 0; --d) {
    off += (i % t.shape()[size_t(d)]) * t.strides()[size_t(d)];
    i /= t.shape()[size_t(d)];
  }
  return off;
}

static void check_inputs(const std::vector<Tensor>& inputs) {
  for (const Tensor& t : inputs)
    VD_CHECK(t.dtype() == DType::F64 && t.device().is_cpu() && t.is_leaf(),
             "gradcheck: inputs must be f64 CPU leaves, got " << describe(t));
}

// The scalar under test, sum(f(x) * r), evaluated without a tape.
static double loss_value(const Fn& f, const std::vector<Tensor>& xs, const Tensor& r) {
  NoGradGuard guard;
  return (f(xs) * r).sum().item();
}

// Draws the fixed weighting r of f's output, then runs the tape on
// sum(f(x) * r) so that every input holds its analytic gradient. Returns r.
static Tensor analytic_gradients(const Fn& f, const std::vector<Tensor>& inputs, Generator& gen) {
  Tensor r;
  {
    NoGradGuard guard;
    r = Tensor::randn(f(inputs).shape(), &gen, DType::F64);
  }
  for (Tensor t : inputs) {
    t.zero_grad();
    t.requires_grad_(true);
  }
  (f(inputs) * r).sum().backward();
  return r;
}

GradcheckResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  check_inputs(inputs);
  Generator gen(12345);
  Tensor r = analytic_gradients(f, inputs, gen);

  GradcheckResult res;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    Tensor g = x.grad().defined() ? x.grad() : Tensor::zeros(x.shape(), DType::F64);
    std::vector<double> analytic = g.to_vector();
    double* p = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double& v = p[element_offset(x, i)];
      const double saved = v;
      const double l0 = loss_value(f, inputs, r);
      v = saved + opt.eps;
      const double lp = loss_value(f, inputs, r);
      v = saved - opt.eps;
      const double lm = loss_value(f, inputs, r);
      v = saved;
      const double numeric = (lp - lm) / (2 * opt.eps);
      const double right = (lp - l0) / opt.eps, left = (l0 - lm) / opt.eps;
      if (std::abs(right - left) > opt.kink_tolerance * std::max(1.0, std::abs(numeric))) {
        ++res.skipped_kinks;
        continue;
      }
      ++res.checked;
      const double a = analytic[size_t(i)], err = std::abs(a - numeric);
      res.max_abs_error = std::max(res.max_abs_error, err);
      res.max_rel_error = std::max(res.max_rel_error, err / std::max(1e-12, std::abs(numeric)));
      if (res.ok && err > opt.atol + opt.rtol * std::abs(numeric)) {
        res.ok = false;
        std::ostringstream os;
        os << "input " << k << " " << describe(x) << " element " << i << ": analytic " << a
           << " vs numeric " << numeric << " (abs error " << err << ")";
        res.message = os.str();
      }
    }
  }
  return res;
}

GradcheckResult directional_gradcheck(const Fn& f, const std::vector<Tensor>& inputs, uint64_t seed,
                                      double eps, double rtol) {
  check_inputs(inputs);
  Generator gen(seed);
  std::vector<Tensor> dirs;
  for (const Tensor& x : inputs) dirs.push_back(Tensor::randn(x.shape(), &gen, DType::F64));
  Tensor r = analytic_gradients(f, inputs, gen);
  double analytic = 0;
  for (size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k].grad().defined())
      analytic += ops::reduce(ReduceOp::Sum, ops::binary(BinaryOp::Mul, inputs[k].grad(), dirs[k]), {}, false).item();

  auto shifted = [&](double s) {
    std::vector<Tensor> xs;
    for (size_t k = 0; k < inputs.size(); ++k)
      xs.push_back(ops::binary(BinaryOp::Add, inputs[k], ops::unary(UnaryOp::MulScalar, dirs[k], s)));
    return loss_value(f, xs, r);
  };
  const double numeric = (shifted(eps) - shifted(-eps)) / (2 * eps);
  GradcheckResult res;
  res.checked = 1;
  res.max_abs_error = std::abs(analytic - numeric);
  res.max_rel_error = res.max_abs_error / std::max(1e-12, std::abs(numeric));
  res.ok = res.max_rel_error <= rtol;
  std::ostringstream os;
  os << "directional derivative: analytic " << analytic << " vs numeric " << numeric;
  res.message = os.str();
  return res;
}

}  // namespace vd::autograd
