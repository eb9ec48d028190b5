// Simple layers: Linear, ReLU, Identity, Flatten. Each forwards to the
// differentiable functions of autograd/functions.h. Initialisation schemes are
// in layers/init.h; Conv3d, batch norm, pools and Sequential have their files.
#pragma once
#include "layers/module.h"

namespace vd {
class Generator;
}

namespace vd::nn {

struct LinearOptions {
  LinearOptions(int64_t in, int64_t out) : in_features_(in), out_features_(out) {}
  LinearOptions& bias(bool on) { bias_ = on; return *this; }
  int64_t in_features_, out_features_;
  bool bias_ = true;
};

// y = x w^T + b; x: [..., in] -> [..., out]; weight [out, in], bias [out].
// Initialised as torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias,
// drawn from `gen` (the default generator when null).
class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& opt, Generator* gen = nullptr);
  Linear(int64_t in, int64_t out, Generator* gen = nullptr) : Linear(LinearOptions(in, out), gen) {}
  Tensor forward(const Tensor& x) override;
  void reset_parameters(Generator& gen);  // torch's default init again
  std::string extra_repr() const override;
  const LinearOptions options;
  Tensor weight, bias;  // bias undefined when options.bias_ is false
};

class ReLU : public Module {
 public:
  explicit ReLU(bool inplace = false) : Module("ReLU"), inplace_(inplace) {}
  Tensor forward(const Tensor& x) override;
  // `inplace` is printed for parity with torchvision; the op is never in place.
  std::string extra_repr() const override { return inplace_ ? "inplace=True" : ""; }

 private:
  bool inplace_;
};

class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

// [N, d1, d2, ...] -> [N, d1*d2*...] (from start_dim to the end).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1) : Module("Flatten"), start_dim_(start_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

 private:
  int64_t start_dim_;
};

}  // namespace vd::nn
