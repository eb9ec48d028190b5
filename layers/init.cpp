// Initialisation schemes (see init.h). Values are drawn on the host in f64,
// row-major over the tensor, then cast and copied to its device.
#include "layers/init.h"

#include <cmath>

#include "autograd/node.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/basic.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"

namespace vd::nn::init {

Fans fans(const Shape& s) {
  VD_CHECK(s.size() >= 2, "init fans: expected a weight of rank >= 2 ([out, ..., in]), got "
                              << shape_str(s) << "; hint: biases and BN use constant_ or uniform_");
  int64_t receptive = 1;
  for (size_t i = 1; i + 1 < s.size(); ++i) receptive *= s[i];
  return {s.back() * receptive, s.front() * receptive};
}

// Writes host values (row-major over t's shape) into t.
static void write_host(Tensor& t, const std::vector<double>& v) {
  autograd::NoGradGuard guard;
  Tensor host = Tensor::from_vector(v, t.shape());
  ops::copy_(t, ops::to_device(host, t.device()));
}

void constant_(Tensor& t, double value) {
  autograd::NoGradGuard guard;
  ops::fill_(t, value);
}
void zeros_(Tensor& t) { constant_(t, 0.0); }
void ones_(Tensor& t) { constant_(t, 1.0); }

void normal_(Tensor& t, double mean, double std, Generator& gen) {
  std::vector<double> v(size_t(t.numel()));
  for (double& x : v) x = mean + std * gen.normal();
  write_host(t, v);
}

void uniform_(Tensor& t, double lo, double hi, Generator& gen) {
  std::vector<double> v(size_t(t.numel()));
  for (double& x : v) x = lo + (hi - lo) * gen.uniform();
  write_host(t, v);
}

static double fan_of(const Tensor& t, FanMode mode) {
  Fans f = fans(t.shape());
  return double(mode == FanMode::FanIn ? f.fan_in : f.fan_out);
}

void kaiming_normal_(Tensor& t, FanMode mode, Generator& gen) {
  normal_(t, 0.0, std::sqrt(2.0 / fan_of(t, mode)), gen);
}

void kaiming_uniform_(Tensor& t, double a, FanMode mode, Generator& gen) {
  double b = std::sqrt(6.0 / ((1.0 + a * a) * fan_of(t, mode)));
  uniform_(t, -b, b, gen);
}

void torch_default_(Tensor& weight, Tensor& bias, Generator& gen) {
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::FanIn, gen);
  if (bias.defined()) {
    double b = 1.0 / std::sqrt(double(fans(weight.shape()).fan_in));
    uniform_(bias, -b, b, gen);
  }
}

void video_resnet_(Module& m, Generator& gen) {
  m.apply([&](Module& mod) {
    if (auto* c = dynamic_cast<Conv3d*>(&mod)) {
      kaiming_normal_(c->weight, FanMode::FanOut, gen);
      if (c->bias.defined()) zeros_(c->bias);
    } else if (auto* bn = dynamic_cast<BatchNormBase*>(&mod)) {
      ones_(bn->weight);
      zeros_(bn->bias);
    } else if (auto* l = dynamic_cast<Linear*>(&mod)) {
      normal_(l->weight, 0.0, 0.01, gen);
      if (l->bias.defined()) zeros_(l->bias);
    }
  });
}

}  // namespace vd::nn::init
