// Differentiable elementwise ops: forward, and beside it the backward as raw
// ops on the incoming gradient g. Broadcast gradients are reduced to each
// input's shape by the engine (ops::sum_to), so backwards return full-size ones.
// Each backward captures only what it reads, and only for the inputs that can
// ask for a gradient (add, sub and the scalar shifts capture nothing; relu,
// exp, sqrt, rsqrt their output; log, abs, square, pow_scalar their input).
#include "autograd/functions.h"
#include "core/ops.h"

namespace vd {

using ops::binary;
using ops::unary;
using Grads = std::vector<Tensor>;

static Tensor mul_raw(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }

// t without history when `keep`, else nothing: what a backward captures.
static Tensor saved_if(bool keep, const Tensor& t) { return keep ? t.detach() : Tensor(); }
static bool wants_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::Add, a, b);
  autograd::record("add", {a, b}, out, [](const Tensor& g, const std::vector<bool>&) {
    return Grads{g, g};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::Sub, a, b);
  autograd::record("sub", {a, b}, out, [](const Tensor& g, const std::vector<bool>& needs) {
    return Grads{g, needs[1] ? unary(UnaryOp::Neg, g) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::Mul, a, b);
  // d/da = g * b (b kept only if a can want it), d/db = g * a
  Tensor sa = saved_if(wants_grad(b), a), sb = saved_if(wants_grad(a), b);
  autograd::record("mul", {a, b}, out, [sa, sb](const Tensor& g, const std::vector<bool>& needs) {
    return Grads{needs[0] ? mul_raw(g, sb) : Tensor(), needs[1] ? mul_raw(g, sa) : Tensor()};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::Div, a, b);
  Tensor sb = b.detach(), sout = saved_if(wants_grad(b), out);
  autograd::record("div", {a, b}, out, [sb, sout](const Tensor& g, const std::vector<bool>& needs) {
    Tensor ga = binary(BinaryOp::Div, g, sb);  // g / b
    // d(a/b)/db = -(a/b) / b
    Tensor gb = needs[1] ? unary(UnaryOp::Neg, mul_raw(ga, sout)) : Tensor();
    return Grads{needs[0] ? ga : Tensor(), gb};
  });
  return out;
}

// Gradient mask of max/min: 1 where `a` wins strictly, 1/2 on ties.
static Tensor win_mask(const Tensor& a, const Tensor& b) {
  Tensor strict = binary(BinaryOp::Gt, a, b);
  Tensor tie = unary(UnaryOp::MulScalar, binary(BinaryOp::Eq, a, b), 0.5);
  return binary(BinaryOp::Add, strict, tie);
}

static Tensor extremum(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  Tensor out = binary(op, a, b);
  Tensor sa = a.detach(), sb = b.detach();
  const bool is_max = op == BinaryOp::Maximum;
  autograd::record(name, {a, b}, out, [sa, sb, is_max](const Tensor& g, const std::vector<bool>&) {
    Tensor ma = is_max ? win_mask(sa, sb) : win_mask(sb, sa);
    Tensor mb = is_max ? win_mask(sb, sa) : win_mask(sa, sb);
    return Grads{mul_raw(g, ma), mul_raw(g, mb)};
  });
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Maximum, "maximum", a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::Minimum, "minimum", a, b); }

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::Pow, a, b);
  Tensor sa = a.detach(), sb = saved_if(wants_grad(a), b), sout = saved_if(wants_grad(b), out);
  autograd::record("pow", {a, b}, out, [sa, sb, sout](const Tensor& g, const std::vector<bool>& needs) {
    Tensor ga, gb;
    if (needs[0]) {  // b * a^(b-1)
      Tensor bm1 = unary(UnaryOp::AddScalar, sb, -1.0);
      ga = mul_raw(g, mul_raw(sb, binary(BinaryOp::Pow, sa, bm1)));
    }
    if (needs[1]) gb = mul_raw(g, mul_raw(sout, unary(UnaryOp::Log, sa)));  // a^b * ln a
    return Grads{ga, gb};
  });
  return out;
}

// --- unary ops and scalar variants --------------------------------------------------

// What a one-input op's backward reads besides g (the others arrive undefined).
enum Saves { kNothing = 0, kInput = 1, kOutput = 2, kBoth = 3 };

// Records a one-input op whose gradient is local(g, x, out), capturing only
// the tensors `saves` names.
template <class Local>
static Tensor unary_op(const char* name, UnaryOp op, const Tensor& a, double s, Saves saves, Local local) {
  Tensor out = unary(op, a, s);
  Tensor sa = saved_if(saves & kInput, a), sout = saved_if(saves & kOutput, out);
  autograd::record(name, {a}, out, [sa, sout, local](const Tensor& g, const std::vector<bool>&) {
    return Grads{local(g, sa, sout)};
  });
  return out;
}

Tensor add(const Tensor& a, double s) {
  return unary_op("add_scalar", UnaryOp::AddScalar, a, s, kNothing,
                  [](const Tensor& g, const Tensor&, const Tensor&) { return g; });
}

Tensor mul(const Tensor& a, double s) {
  return unary_op("mul_scalar", UnaryOp::MulScalar, a, s, kNothing, [s](const Tensor& g, const Tensor&, const Tensor&) {
    return unary(UnaryOp::MulScalar, g, s);
  });
}

Tensor pow(const Tensor& a, double s) {
  return unary_op("pow_scalar", UnaryOp::PowScalar, a, s, kInput, [s](const Tensor& g, const Tensor& x, const Tensor&) {
    Tensor d = unary(UnaryOp::MulScalar, unary(UnaryOp::PowScalar, x, s - 1.0), s);
    return mul_raw(g, d);
  });
}

Tensor rsub(double s, const Tensor& a) {
  return unary_op("rsub_scalar", UnaryOp::RsubScalar, a, s, kNothing,
                  [](const Tensor& g, const Tensor&, const Tensor&) { return unary(UnaryOp::Neg, g); });
}

Tensor rdiv(double s, const Tensor& a) {
  // d(s/x)/dx = -(s/x) / x
  return unary_op("rdiv_scalar", UnaryOp::RdivScalar, a, s, kBoth, [](const Tensor& g, const Tensor& x, const Tensor& y) {
    return unary(UnaryOp::Neg, binary(BinaryOp::Div, mul_raw(g, y), x));
  });
}

Tensor neg(const Tensor& a) {
  return unary_op("neg", UnaryOp::Neg, a, 0, kNothing,
                  [](const Tensor& g, const Tensor&, const Tensor&) { return unary(UnaryOp::Neg, g); });
}

Tensor exp(const Tensor& a) {
  return unary_op("exp", UnaryOp::Exp, a, 0, kOutput,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return mul_raw(g, y); });
}

Tensor log(const Tensor& a) {
  return unary_op("log", UnaryOp::Log, a, 0, kInput, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return binary(BinaryOp::Div, g, x);
  });
}

Tensor sqrt(const Tensor& a) {
  return unary_op("sqrt", UnaryOp::Sqrt, a, 0, kOutput, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return unary(UnaryOp::MulScalar, binary(BinaryOp::Div, g, y), 0.5);
  });
}

Tensor rsqrt(const Tensor& a) {
  // d(x^-1/2)/dx = -1/2 * y^3
  return unary_op("rsqrt", UnaryOp::Rsqrt, a, 0, kOutput, [](const Tensor& g, const Tensor&, const Tensor& y) {
    Tensor y3 = mul_raw(y, unary(UnaryOp::Square, y));
    return unary(UnaryOp::MulScalar, mul_raw(g, y3), -0.5);
  });
}

Tensor relu(const Tensor& a) {
  // y > 0 exactly where x > 0, so the mask comes from the output, which the
  // next op usually keeps anyway, and the input can be freed
  return unary_op("relu", UnaryOp::Relu, a, 0, kOutput, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return binary(BinaryOp::ReluGrad, g, y);
  });
}

Tensor abs(const Tensor& a) {
  return unary_op("abs", UnaryOp::Abs, a, 0, kInput, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return mul_raw(g, unary(UnaryOp::Sign, x));
  });
}

Tensor square(const Tensor& a) {
  return unary_op("square", UnaryOp::Square, a, 0, kInput, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return unary(UnaryOp::MulScalar, mul_raw(g, x), 2.0);
  });
}

// --- operators -------------------------------------------------------------------------

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double s) { return add(a, s); }
Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
Tensor operator+(double s, const Tensor& a) { return add(a, s); }
Tensor operator-(double s, const Tensor& a) { return rsub(s, a); }
Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
Tensor operator/(double s, const Tensor& a) { return rdiv(s, a); }

}  // namespace vd
