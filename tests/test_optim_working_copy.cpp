// Tests of the bf16 working copy in the forward (layers/optim/flat.h,
// core/tensor.h's TensorImpl::cast, docs/OPTIMIZER.md): while it is current,
// the differentiable to_dtype(parameter, bf16) is a handle on it (no cast
// kernel) with the values of a fresh cast and the same gradient; a write into
// the parameters by any route (the parameter, a detached view of it, the
// flat buffer, load_named) makes it stale, the forward
// casts again, and the next step (or refresh_working_copy) makes the whole
// copy current again, parameters the step skipped included. CPU throughout
// (the CPU casts f32 to bf16 with the GPU's rounding); the CUDA test runs a
// bf16 Conv3d through both paths and asks for equal outputs, bit for bit
// (skipped without a device).
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/precision.h"
#include "core/profile.h"
#include "core/random.h"
#include "layers/conv.h"
#include "layers/optim/adamw.h"
#include "layers/optim/sgd.h"
#include "tests/test_cuda_util.h"

using namespace vd;
using namespace vd::optim;

namespace {

std::vector<double> values(const Tensor& t) { return ops::to_device(t, Device::cpu()).to_vector(); }

NamedTensors make_params(uint64_t seed) {
  Generator gen(seed);
  NamedTensors p;
  for (const Shape& s : std::vector<Shape>{{4, 3, 2}, {5}, {3, 3}})
    p.emplace_back("p" + std::to_string(p.size()), Tensor::randn(s, &gen).requires_grad_());
  return p;
}

std::unique_ptr<Optimizer> fused_adamw(const NamedTensors& p) {
  auto opt = std::make_unique<AdamW>(std::vector<ParamGroup>{make_group(p, 0.05, 0.01)}, AdamWOptions(0.05));
  opt->enable_fused(true);
  return opt;
}

// One step with a gradient for every parameter but `skip`.
void step(Optimizer& opt, const NamedTensors& p, int s, int skip = -1) {
  opt.zero_grad();
  Tensor loss;
  for (size_t k = 0; k < p.size(); ++k) {
    if (int(k) == skip) continue;
    Generator gen(100 + 7 * s + k);
    Tensor term = sum(p[k].second * Tensor::randn(p[k].second.shape(), &gen));
    loss = loss.defined() ? loss + term : term;
  }
  loss.backward();
  opt.step();
}

// The cast kernels one differentiable to_dtype(p, bf16) dispatches.
int64_t casts_of(const Tensor& p) {
  profile::enable(true);
  Tensor w = to_dtype(p, DType::BF16);
  const int64_t n = profile::stats().kinds[size_t(profile::Kind::Cast)].count;
  profile::enable(false);
  return n;
}

// Every parameter's forward cast reads the working copy (no kernel, its
// storage) and equals a fresh cast of the master.
void expect_current(Optimizer& opt, const NamedTensors& p, const std::string& when) {
  for (size_t i = 0; i < p.size(); ++i) {
    const Tensor w = to_dtype(p[i].second, DType::BF16);
    EXPECT_TRUE(w.same_storage(opt.working_copy(0, i))) << when << ": " << p[i].first;
    EXPECT_EQ(casts_of(p[i].second), 0) << when << ": " << p[i].first;
    EXPECT_EQ(values(w), values(ops::to_dtype(p[i].second, DType::BF16))) << when << ": " << p[i].first;
  }
}

// Every parameter's forward cast is a fresh cast again, of the new values.
void expect_stale(Optimizer& opt, const NamedTensors& p, const std::string& when) {
  for (size_t i = 0; i < p.size(); ++i) {
    const Tensor w = to_dtype(p[i].second, DType::BF16);
    EXPECT_FALSE(w.same_storage(opt.working_copy(0, i))) << when << ": " << p[i].first;
    EXPECT_EQ(casts_of(p[i].second), 1) << when << ": " << p[i].first;
  }
}

}  // namespace

TEST(WorkingCopy, ForwardReadsItWhileCurrent) {
  NamedTensors p = make_params(1);
  auto opt = fused_adamw(p);
  expect_current(*opt, p, "at enable_fused");
  for (int s = 0; s < 3; ++s) {
    step(*opt, p, s, s == 1 ? 2 : -1);
    expect_current(*opt, p, "after step " + std::to_string(s));
  }
  // Another dtype than the copy's is a plain cast.
  Tensor d = to_dtype(p[0].second, DType::F64);
  EXPECT_FALSE(d.same_storage(opt->working_copy(0, 0)));
}

// Each route by which a parameter can be written outside the step: the
// parameter itself, a detached view (another TensorImpl), the flat buffer,
// load_named (a checkpoint), a raw in-place op. The forward then casts the
// new values; the next step leaves the copy current, including parameter 2,
// which that step skips.
TEST(WorkingCopy, AnyWriteMakesItStaleAndTheNextStepRecasts) {
  using Write = std::function<void(NamedTensors&, Optimizer&)>;
  const std::vector<std::pair<std::string, Write>> writes = {
      {"copy_ into a parameter", [](NamedTensors& p, Optimizer&) { ops::copy_(p[2].second, p[2].second * 3.0); }},
      {"fill_ of a detached view", [](NamedTensors& p, Optimizer&) { Tensor v = p[2].second.detach(); ops::fill_(v, 0.7); }},
      {"the flat buffer", [](NamedTensors&, Optimizer& o) { ops::binary_(BinaryOp::Mul, o.flat()->params(), Tensor::full({}, 2.0)); }},
      {"load_named", [](NamedTensors& p, Optimizer&) {
         nn::load_named(p, make_params(9), true, "test");
       }},
  };
  for (const auto& [what, write] : writes) {
    NamedTensors p = make_params(2);
    auto opt = fused_adamw(p);
    step(*opt, p, 0);
    write(p, *opt);
    expect_stale(*opt, p, what);
    EXPECT_EQ(values(to_dtype(p[2].second, DType::BF16)), values(ops::to_dtype(p[2].second, DType::BF16))) << what;
    EXPECT_NE(values(opt->working_copy(0, 2)), values(ops::to_dtype(p[2].second, DType::BF16))) << what;
    step(*opt, p, 1, /*skip=*/2);
    expect_current(*opt, p, what + ", then a step that skips p2");
  }
  // refresh_working_copy (the trainer calls it before every step, captured
  // or not) does the same without a step.
  NamedTensors p = make_params(3);
  auto opt = fused_adamw(p);
  ops::fill_(p[1].second, -1.5);
  expect_stale(*opt, p, "before refresh");
  opt->refresh_working_copy();
  expect_current(*opt, p, "after refresh");
}

// The gradient through the working copy is the plain cast's: the same
// "to_dtype" backward (bf16 -> f32) into the master's .grad.
TEST(WorkingCopy, GradientsEqualThePlainCasts) {
  NamedTensors a = make_params(4), b = make_params(4);
  auto opt = fused_adamw(a);
  SGD plain(b, SGDOptions(0.1));
  step(*opt, a, 0);
  // b: the same values as a after that step, no working copy.
  {
    autograd::NoGradGuard ng;
    for (size_t k = 0; k < a.size(); ++k) ops::copy_(b[k].second, a[k].second);
  }
  opt->zero_grad();
  plain.zero_grad();
  for (NamedTensors* p : {&a, &b}) {
    Tensor loss;
    for (size_t k = 0; k < p->size(); ++k) {
      Generator gen(50 + k);
      const Tensor w = to_dtype(to_dtype((*p)[k].second, DType::BF16), DType::F32);
      Tensor term = sum(square(w) * Tensor::randn(w.shape(), &gen));
      loss = loss.defined() ? loss + term : term;
    }
    loss.backward();
  }
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_TRUE(to_dtype(a[k].second, DType::BF16).same_storage(opt->working_copy(0, k)));
    EXPECT_EQ(values(a[k].second.grad()), values(b[k].second.grad())) << a[k].first;
  }
}

// A bf16 Conv3d forward on the GPU through the working copy equals the one
// through a per-forward cast, bit for bit, over fused steps.
TEST(WorkingCopy, CudaConvForwardEqualsThePlainCast) {
  VD_SKIP_WITHOUT_GPU();
  PrecisionGuard bf16(Precision::BF16);
  Generator g1(5), g2(5), gx(6);
  nn::Conv3d with(nn::Conv3dOptions(3, 8, {3, 3, 3}).padding({1, 1, 1}), &g1);
  nn::Conv3d without(nn::Conv3dOptions(3, 8, {3, 3, 3}).padding({1, 1, 1}), &g2);
  with.to(cudatest::gpu());
  without.to(cudatest::gpu());
  SGD a(with.named_parameters(), SGDOptions(0.05).momentum(0.9));
  SGD b(without.named_parameters(), SGDOptions(0.05).momentum(0.9));
  a.enable_fused(true);
  b.enable_fused(false);
  const Tensor x = ops::to_dtype(ops::to_device(Tensor::randn({2, 4, 6, 6, 3}, &gx), cudatest::gpu()), DType::BF16);
  for (int s = 0; s < 3; ++s) {
    std::vector<std::vector<double>> outs;
    for (auto [m, opt] : {std::pair<nn::Conv3d*, SGD*>{&with, &a}, {&without, &b}}) {
      opt->zero_grad();
      Tensor y = m->forward(x);
      outs.push_back(values(y));
      sum(square(to_dtype(y, DType::F32))).backward();
      opt->step();
    }
    EXPECT_EQ(outs[0], outs[1]) << "step " << s;
  }
}
