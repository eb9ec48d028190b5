// Tests of the fused optimizer step (Optimizer::enable_fused, layers/optim/flat.h,
// core/cpu/optim.cpp, cuda/optim.cu) against the tensor-expression rules:
// SGD (momentum, dampening, nesterov, decay), LARS (exclude groups, zero
// norms) and AdamW over several groups and steps, bit for bit on the CPU (the
// CPU kernel mirrors the reference's f32 arithmetic operation by operation);
// parameters that get no gradient in a step are skipped; the flat buffers are
// the module's storage; state_dict round trips between fused and unfused
// optimizers; the bf16 working copy equals to_dtype(master, BF16) after every
// step; data parallel averages through GradBuckets; the trainer with
// fused_optimizer = on (equal losses, resume of a plain checkpoint); CUDA
// against the CPU (skipped without a device).
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/optim/adamw.h"
#include "layers/optim/lars.h"
#include "layers/optim/sgd.h"
#include "data/synthetic.h"
#include "dist/grad_buckets.h"
#include "vididi/train_loop.h"
#include "tests/test_cuda_util.h"
#include "tests/test_dist_fake.h"
#include "tests/test_dist_grad_util.h"

using namespace vd;
using namespace vd::optim;

namespace {

// Shapes of the parameters: conv-like, matrix, biases, a scalar, an empty one.
const std::vector<Shape> kShapes = {{4, 3, 3, 2}, {5, 7}, {7}, {3}, {}, {0}, {6, 2}, {2}};

struct Params {
  NamedTensors named;
  std::vector<Tensor> dir;  // per parameter: the gradient that backward will deliver
};

// Parameters p<k> with seeded values (p6 all zeros: zero norm) on `device`,
// and per step a gradient direction (p6's gradient is zero: zero d norm).
Params make_params(uint64_t seed, Device device) {
  Generator gen(seed);
  Params out;
  for (size_t k = 0; k < kShapes.size(); ++k) {
    Tensor t = k == 6 ? Tensor::zeros(kShapes[k]) : Tensor::randn(kShapes[k], &gen);
    out.named.emplace_back("p" + std::to_string(k), ops::to_device(t, device).requires_grad_());
  }
  return out;
}

Tensor direction(size_t k, int step, Device device) {
  Generator gen(1000 + 17 * step + k);
  Tensor d = k == 6 ? Tensor::zeros(kShapes[k]) : Tensor::randn(kShapes[k], &gen);
  return ops::to_device(d, device);
}

// Three groups: decayed, excluded (biases), and one with other options/lr.
std::vector<ParamGroup> groups_of(const NamedTensors& p, const std::map<std::string, double>& third) {
  ParamGroup a = make_group(NamedTensors{p[0], p[1], p[6]}, 0.1, 0.05, false);
  ParamGroup b = make_group(NamedTensors{p[2], p[3], p[4], p[5]}, 0.1, 0.0, true);
  ParamGroup c = make_group(NamedTensors{p[7]}, 0.03, 0.2, false);
  c.options = third;
  return {a, b, c};
}

using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroup>)>;

// One step: zero_grad, a backward that reaches every parameter but `skip`
// (loss = sum_k sum(p_k * dir_k): gradient dir_k), lr change, step.
void run_step(Optimizer& opt, const NamedTensors& p, int step, int skip, Device device) {
  opt.zero_grad();
  Tensor loss;
  for (size_t k = 0; k < p.size(); ++k) {
    if (int(k) == skip || p[k].second.numel() == 0) continue;
    Tensor term = sum(p[k].second * direction(k, step, device));
    loss = loss.defined() ? loss + term : term;
  }
  loss.backward();
  opt.set_lr(0.1 / (1 + step));
  opt.step();
}

std::vector<double> values(const Tensor& t) { return ops::to_device(t, Device::cpu()).to_vector(); }

void expect_bitwise(const NamedTensors& a, const NamedTensors& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].first, b[k].first) << what;
    EXPECT_EQ(values(a[k].second), values(b[k].second)) << what << ": " << a[k].first;
  }
}

// Reference and fused optimizers on identical parameters, `steps` steps
// (parameter 3 gets no gradient at step 1, parameter 0 none at step 2):
// parameters and state equal bit for bit after every step.
void check_against_reference(const Factory& make, const std::map<std::string, double>& third,
                             int steps = 4) {
  Params ref = make_params(7, Device::cpu()), fus = make_params(7, Device::cpu());
  auto r = make(groups_of(ref.named, third));
  auto f = make(groups_of(fus.named, third));
  f->enable_fused(true);
  ASSERT_TRUE(f->fused());
  for (int s = 0; s < steps; ++s) {
    const int skip = s == 1 ? 3 : s == 2 ? 0 : -1;
    run_step(*r, ref.named, s, skip, Device::cpu());
    run_step(*f, fus.named, s, skip, Device::cpu());
    expect_bitwise(ref.named, fus.named, "parameters after step " + std::to_string(s));
    expect_bitwise(r->state_dict(), f->state_dict(), "state after step " + std::to_string(s));
  }
}

Factory sgd(double momentum, double dampening, bool nesterov) {
  return [=](std::vector<ParamGroup> g) {
    return std::make_unique<SGD>(
        g, SGDOptions(0.1).momentum(momentum).dampening(dampening).nesterov(nesterov));
  };
}
Factory lars() {
  return [](std::vector<ParamGroup> g) {
    return std::make_unique<LARS>(g, LARSOptions(0.1).momentum(0.9).eta(0.02));
  };
}
Factory adamw() {
  return [](std::vector<ParamGroup> g) {
    return std::make_unique<AdamW>(g, AdamWOptions(0.1).betas(0.9, 0.99).eps(1e-6));
  };
}

}  // namespace

TEST(FusedOptim, SgdMomentumDampeningMatchesReferenceBitwise) {
  check_against_reference(sgd(0.9, 0.1, false), {{"momentum", 0.5}, {"dampening", 0.0}});
}

TEST(FusedOptim, SgdNesterovAndPlainMatchReferenceBitwise) {
  check_against_reference(sgd(0.9, 0.0, true), {{"nesterov", 0.0}, {"momentum", 0.0}});
}

TEST(FusedOptim, LarsMatchesReferenceBitwise) {
  check_against_reference(lars(), {{"momentum", 0.0}, {"eta", 0.5}});
}

TEST(FusedOptim, AdamWMatchesReferenceBitwise) {
  check_against_reference(adamw(), {{"beta1", 0.5}, {"eps", 1e-3}});
}

// The module's tensors are views into the flat buffer: what the optimizer
// writes, the module sees, and a write through the module lands in the buffer.
TEST(FusedOptim, ParametersAreViewsOfTheFlatBuffer) {
  Params p = make_params(3, Device::cpu());
  const std::vector<double> before = values(p.named[1].second);
  SGD opt(groups_of(p.named, {}), SGDOptions(0.1).momentum(0.9));
  opt.enable_fused();
  FlatParams& f = *opt.flat();
  EXPECT_EQ(values(p.named[1].second), before) << "flattening keeps the values";
  for (size_t k = 0; k < p.named.size(); ++k) EXPECT_TRUE(p.named[k].second.same_storage(f.params()));
  Tensor w = p.named[1].second;
  ops::fill_(w, 2.5);
  EXPECT_EQ(values(ops::narrow(f.params(), 0, f.offset(1), w.numel())), std::vector<double>(35, 2.5));
  run_step(opt, p.named, 0, -1, Device::cpu());
  EXPECT_TRUE(p.named[1].second.grad().same_storage(f.grads())) << "gradients are views too";
  EXPECT_NE(values(w), std::vector<double>(35, 2.5)) << "the step updated the module's tensor";
}

// A parameter that backward does not reach is skipped (values and state
// unchanged), as in the reference; a gradient set from outside is used.
TEST(FusedOptim, ParametersWithoutGradientAreSkipped) {
  Params p = make_params(5, Device::cpu());
  SGD opt(groups_of(p.named, {}), SGDOptions(0.1).momentum(0.9).weight_decay(0.1));
  opt.enable_fused();
  run_step(opt, p.named, 0, -1, Device::cpu());
  const std::vector<double> p0 = values(p.named[0].second);
  const NamedTensors state = opt.state_dict();
  const std::vector<double> buf0 = values(state[2].second);  // p0.momentum_buffer
  ASSERT_EQ(state[2].first, "p0.momentum_buffer");
  run_step(opt, p.named, 1, 0, Device::cpu());  // p0 not reached
  EXPECT_EQ(values(p.named[0].second), p0);
  EXPECT_EQ(values(opt.state_dict()[2].second), buf0);
  EXPECT_EQ(opt.state_dict()[1].second.item(), 1.0) << "p0.step counts updates only";
  // An outside gradient (set_grad) counts as a gradient this step.
  opt.zero_grad();
  Tensor g = Tensor::full(p.named[0].second.shape(), 0.5);
  Tensor p0t = p.named[0].second;
  p0t.set_grad(g);
  opt.step();
  EXPECT_NE(values(p.named[0].second), p0);
  EXPECT_EQ(opt.state_dict()[1].second.item(), 2.0);
  // Tensor::zero_grad drops the view: the next step sees no gradient.
  p0t.zero_grad();
  const std::vector<double> p0b = values(p0t);
  opt.step();
  EXPECT_EQ(values(p0t), p0b);
}

// state_dict names and values are the same fused or not: checkpoints move both ways.
TEST(FusedOptim, StateDictRoundTripsBetweenFusedAndUnfused) {
  Params a = make_params(9, Device::cpu()), b = make_params(9, Device::cpu()),
         c = make_params(9, Device::cpu());
  auto plain = lars()(groups_of(a.named, {}));
  for (int s = 0; s < 2; ++s) run_step(*plain, a.named, s, -1, Device::cpu());
  // Into a fused optimizer, enabled before and after loading.
  auto f1 = lars()(groups_of(b.named, {}));
  f1->enable_fused();
  for (size_t k = 0; k < a.named.size(); ++k) ops::copy_(b.named[k].second, a.named[k].second);
  f1->load_state_dict(plain->state_dict());
  auto f2 = lars()(groups_of(c.named, {}));
  for (size_t k = 0; k < a.named.size(); ++k) ops::copy_(c.named[k].second, a.named[k].second);
  f2->load_state_dict(plain->state_dict());
  f2->enable_fused();
  expect_bitwise(plain->state_dict(), f1->state_dict(), "loaded after enable_fused");
  expect_bitwise(plain->state_dict(), f2->state_dict(), "loaded before enable_fused");
  for (int s = 2; s < 4; ++s) {
    run_step(*plain, a.named, s, -1, Device::cpu());
    run_step(*f1, b.named, s, -1, Device::cpu());
    run_step(*f2, c.named, s, -1, Device::cpu());
  }
  expect_bitwise(a.named, b.named, "continued from the checkpoint (fused after)");
  expect_bitwise(a.named, c.named, "continued from the checkpoint (fused before)");
  // And back: the fused state into an unfused optimizer.
  Params d = make_params(9, Device::cpu());
  auto back = lars()(groups_of(d.named, {}));
  back->load_state_dict(f1->state_dict());
  expect_bitwise(back->state_dict(), plain->state_dict(), "fused -> unfused");
}

// The working copy holds to_dtype(master, BF16) after every step (and at enable).
TEST(FusedOptim, WorkingCopyEqualsBf16OfMasterAfterEachStep) {
  Params p = make_params(11, Device::cpu());
  auto opt = adamw()(groups_of(p.named, {}));
  opt->enable_fused(true);
  auto check = [&](const std::string& when) {
    size_t k = 0;
    for (size_t g = 0; g < opt->param_groups().size(); ++g)
      for (size_t i = 0; i < opt->param_groups()[g].params.size(); ++i, ++k) {
        const Tensor& master = opt->param_groups()[g].params[i].second;
        const Tensor w = opt->working_copy(g, i);
        ASSERT_TRUE(w.defined());
        EXPECT_EQ(w.dtype(), DType::BF16);
        EXPECT_EQ(w.shape(), master.shape());
        EXPECT_EQ(values(w), values(ops::to_dtype(master, DType::BF16))) << when << " " << k;
      }
  };
  check("at enable_fused");
  for (int s = 0; s < 3; ++s) {
    run_step(*opt, p.named, s, s == 1 ? 7 : -1, Device::cpu());
    check("after step " + std::to_string(s));
  }
  auto none = adamw()(groups_of(make_params(11, Device::cpu()).named, {}));
  none->enable_fused(false);
  EXPECT_FALSE(none->working_copy(0, 0).defined());
}

TEST(FusedOptim, ErrorsNameTheProblem) {
  Generator gen(1);
  NamedTensors f64{{"w", Tensor::randn({3}, &gen, DType::F64).requires_grad_()}};
  SGD s(f64, SGDOptions(0.1));
  try {
    s.enable_fused();
    FAIL() << "f64 parameters accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fused_optimizer = off"), std::string::npos) << e.what();
  }
  Params p = make_params(1, Device::cpu());
  SGD twice(p.named, SGDOptions(0.1));
  EXPECT_TRUE(twice.has_fused_rule());
  twice.enable_fused();
  EXPECT_THROW(twice.enable_fused(), Error);
}

// Data parallel (two fake ranks, small buckets): the averages that
// GradBuckets::finish() writes back into the flat gradient views are used,
// including a parameter that one rank does not reach (a zero average on
// the other: a gradient on both, as in the plain step); both ranks end
// equal to the plain step bit for bit.
TEST(FusedOptim, GradBucketsAveragesFeedTheFusedStep) {
  vd::testing::FakeWorld world(2);
  world.run([&](dist::Communicator& comm, int r) {
    for (bool fused : {false, true}) {
      Params p = make_params(17, Device::cpu());
      SGD opt(groups_of(p.named, {}), SGDOptions(0.1).momentum(0.9));
      if (fused) opt.enable_fused();
      dist::GradBuckets gb(vd::testing::borrow(comm), p.named, 64);
      for (int s = 0; s < 3; ++s) {
        opt.zero_grad();
        Tensor loss;
        for (size_t k = 0; k < p.named.size(); ++k) {
          if (p.named[k].second.numel() == 0 || (k == 1 && r == 1)) continue;  // p1: rank 0 only
          Tensor term = sum(p.named[k].second * (direction(k, s, Device::cpu()) * double(r + 1)));
          loss = loss.defined() ? loss + term : term;
        }
        gb.backward(loss);
        opt.step();
      }
      static std::vector<std::vector<double>> plain[2];
      if (!fused)
        for (const auto& [n, t] : p.named) plain[r].push_back(values(t));
      else
        for (size_t k = 0; k < p.named.size(); ++k)
          EXPECT_EQ(values(p.named[k].second), plain[r][k]) << "rank " << r << " " << p.named[k].first;
    }
  });
}

// The trainer with fused_optimizer = on (on the CPU: the CPU reference
// kernels) gives the plain step's losses bit for bit, and a checkpoint of a
// plain run resumes in a fused one (same state names and values).
TEST(FusedOptim, TrainerFusedEqualsPlainAndResumesAPlainCheckpoint) {
  using namespace vd::vididi;
  data::SyntheticConfig sc;
  sc.height = sc.width = 32;
  sc.frames = 16;
  sc.videos_per_class = 1;
  sc.seed = 3;
  auto src = std::make_shared<data::SyntheticDynamics>(sc);
  TrainConfig c;
  c.model.encoder = "r3d_18";
  c.model.width_divisor = 8;
  c.model.blocks = "1,1,1,1";
  c.projector_dim = 64;
  c.clip.frames = 4;
  c.clip.crop = 32;
  c.batch = 4;
  c.steps = 4;
  c.warmup_steps = 1;
  c.workers = 2;
  c.device = "cpu";
  c.quiet = true;
  c.optimizer = "lars";
  c.lr = 0.2;
  const std::string dir = ::testing::TempDir() + "fusedopt_trainer";
  auto run = [&](const std::string& fused, int64_t stop_after, const std::string& resume) {
    TrainConfig k = c;
    k.fused_optimizer = fused;
    k.out = dir;
    k.overwrite = resume.empty();
    k.stop_after = stop_after;
    k.resume = resume;
    Trainer t(k, k.total_steps(src->size()));
    return train(t, src);
  };
  const TrainResult plain = run("off", 0, "");
  const TrainResult fused = run("on", 0, "");
  ASSERT_EQ(plain.records.size(), 4u);
  ASSERT_EQ(fused.records.size(), 4u);
  for (size_t s = 0; s < 4; ++s) EXPECT_EQ(plain.records[s].loss, fused.records[s].loss) << "step " << s;
  const TrainResult first = run("off", 2, "");
  const TrainResult second = run("on", 0, "auto");
  ASSERT_EQ(second.first_step, 2);
  ASSERT_EQ(second.records.size(), 2u);
  for (size_t s = 0; s < 2; ++s)
    EXPECT_EQ(second.records[s].loss, plain.records[s + 2].loss) << "resumed step " << s + 2;
  std::system(("rm -rf " + dir).c_str());
}

// CUDA against the CPU fused step (itself bitwise equal to the reference):
// SGD and AdamW bit for bit (same f32 operations, _rn intrinsics); LARS to
// 1e-6 relative, since its f64 norm sums are added in another order (the f32
// norms may then differ in the last bit, and so the trust ratio).
TEST(FusedOptim, CudaMatchesCpu) {
  VD_SKIP_WITHOUT_GPU();
  const std::map<std::string, double> third{{"momentum", 0.5}};
  for (auto& [name, make, tol] : std::vector<std::tuple<std::string, Factory, double>>{
           {"sgd", sgd(0.9, 0.0, true), 0.0}, {"lars", lars(), 1e-6}, {"adamw", adamw(), 0.0}}) {
    Params cpu = make_params(13, Device::cpu()), gpu = make_params(13, cudatest::gpu());
    auto c = make(groups_of(cpu.named, name == "adamw" ? std::map<std::string, double>{} : third));
    auto g = make(groups_of(gpu.named, name == "adamw" ? std::map<std::string, double>{} : third));
    c->enable_fused(true);
    g->enable_fused(true);
    for (int s = 0; s < 4; ++s) {
      const int skip = s == 1 ? 3 : -1;
      run_step(*c, cpu.named, s, skip, Device::cpu());
      run_step(*g, gpu.named, s, skip, cudatest::gpu());
    }
    for (size_t k = 0; k < cpu.named.size(); ++k) {
      const std::vector<double> a = values(cpu.named[k].second), b = values(gpu.named[k].second);
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i)
        EXPECT_NEAR(a[i], b[i], tol * (1 + std::abs(a[i]))) << name << " p" << k << "[" << i << "]";
      EXPECT_EQ(values(g->working_copy(0, 0)), values(ops::to_dtype(gpu.named[0].second, DType::BF16)))
          << name;
    }
  }
}
