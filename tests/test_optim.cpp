// Tests of layers/optim/: SGD, AdamW and LARS trajectories against PyTorch /
// the VICReg reference (tests/golden/optim.vdg, written by make_golden.py),
// a hand-computed AdamW step, the warm-up cosine schedule, groups and flags
// (split_decay_groups over a module and over named tensors), state
// export/import, and clip_grad_norm against a hand computation.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>

#include "core/random.h"
#include "layers/module.h"
#include "layers/optim/adamw.h"
#include "layers/optim/clip_grad.h"
#include "layers/optim/lars.h"
#include "layers/optim/schedule.h"
#include "layers/optim/sgd.h"
#include "tests/golden/golden_io.h"

using namespace vd;
using namespace vd::optim;

namespace {

const std::map<std::string, golden::Entry>& optim_golden() {
  static const auto file = golden::load("tests/golden/optim.vdg");
  return file;
}

double scalar(const std::string& name) { return golden::get(optim_golden(), name).values.at(0); }

Tensor golden_tensor(const std::string& name) {
  const golden::Entry& e = golden::get(optim_golden(), name);
  return Tensor::from_vector(e.values, e.shape);
}

// Row `step` of a [steps, ...] golden trajectory.
std::vector<double> golden_row(const std::string& name, int64_t step) {
  const golden::Entry& e = golden::get(optim_golden(), name);
  int64_t per = e.numel() / e.shape[0];
  return std::vector<double>(e.values.begin() + step * per, e.values.begin() + (step + 1) * per);
}

// A module holding w [4, 3] and b [3] (f64) at the golden start values.
struct Pair : nn::Module {
  Tensor w, b;
  Pair() : Module("Pair") {
    w = register_parameter("w", golden_tensor("start/w"));
    b = register_parameter("b", golden_tensor("start/b"));
  }
};

void expect_near(const std::vector<double>& a, const std::vector<double>& b, double tol,
                 const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << what << " element " << i;
}

// Runs the golden gradients through `opt` and compares every step.
void run_trajectory(Optimizer& opt, Pair& m, const std::string& prefix) {
  const int64_t steps = golden::get(optim_golden(), "grads/w").shape[0];
  for (int64_t s = 0; s < steps; ++s) {
    m.w.set_grad(Tensor::from_vector(golden_row("grads/w", s), {4, 3}));
    m.b.set_grad(Tensor::from_vector(golden_row("grads/b", s), {3}));
    opt.step();
    expect_near(m.w.to_vector(), golden_row(prefix + "/w", s), 1e-12, prefix + " w step " + std::to_string(s));
    expect_near(m.b.to_vector(), golden_row(prefix + "/b", s), 1e-12, prefix + " b step " + std::to_string(s));
  }
}

using vd::testing::error_of;

}  // namespace

TEST(OptimGolden, SGDMatchesTorch) {
  for (const char* c : {"momentum", "nesterov_wd", "plain_wd"}) {
    std::string p = std::string("sgd/") + c;
    Pair m;
    SGD opt(m.named_parameters(), SGDOptions(scalar(p + "/lr"))
                                      .momentum(scalar(p + "/momentum"))
                                      .nesterov(scalar(p + "/nesterov") != 0)
                                      .weight_decay(scalar(p + "/weight_decay")));
    run_trajectory(opt, m, p);
  }
}

TEST(OptimGolden, AdamWMatchesTorch) {
  for (const char* c : {"default", "strong_wd"}) {
    std::string p = std::string("adamw/") + c;
    Pair m;
    AdamW opt(m.named_parameters(), AdamWOptions(scalar(p + "/lr"))
                                        .betas(scalar(p + "/beta1"), scalar(p + "/beta2"))
                                        .eps(scalar(p + "/eps"))
                                        .weight_decay(scalar(p + "/weight_decay")));
    run_trajectory(opt, m, p);
  }
}

TEST(OptimGolden, LARSMatchesVICRegReference) {
  for (const char* c : {"vicreg", "strong_wd"}) {
    std::string p = std::string("lars/") + c;
    Pair m;
    LARS opt(m, LARSOptions(scalar(p + "/lr"))
                    .momentum(scalar(p + "/momentum"))
                    .eta(scalar(p + "/eta"))
                    .weight_decay(scalar(p + "/weight_decay")));
    ASSERT_EQ(opt.param_groups().size(), 2u);
    EXPECT_EQ(opt.param_groups()[0].params[0].first, "w");  // rank 2: decay and adaptation
    EXPECT_EQ(opt.param_groups()[1].params[0].first, "b");  // rank 1: excluded
    EXPECT_TRUE(opt.param_groups()[1].exclude);
    run_trajectory(opt, m, p);
  }
}

TEST(OptimGolden, WarmupCosineSchedule) {
  for (const char* c : {"vicreg_like", "no_warmup", "short"}) {
    std::string p = std::string("schedule/") + c;
    WarmupCosine sched(scalar(p + "/base_lr"), scalar(p + "/end_lr"),
                       int64_t(scalar(p + "/warmup_steps")), int64_t(scalar(p + "/total_steps")));
    const auto& lrs = golden::get(optim_golden(), p + "/lr").values;
    for (size_t s = 0; s < lrs.size(); ++s) EXPECT_NEAR(sched(int64_t(s)), lrs[s], 1e-14) << p << " step " << s;
  }
  // Hand values: half-way through the cosine the lr is the mean of base and final.
  WarmupCosine s(1.0, 0.2, 10, 110);
  EXPECT_DOUBLE_EQ(s(5), 0.5);
  EXPECT_NEAR(s(60), 0.6, 1e-15);
  EXPECT_DOUBLE_EQ(s(500), 0.2);
  EXPECT_THROW(WarmupCosine(1.0, 0.0, 10, 10), Error);
}

TEST(OptimHand, AdamWFirstStepAndExcludeFlag) {
  // Step 1: m_hat = g, v_hat = g^2, so p1 = p0 (1 - lr wd) - lr g / (|g| + eps).
  const double lr = 0.1, wd = 0.5, eps = 1e-8;
  std::vector<double> p0{1.0, -2.0, 0.5}, g{0.3, -0.1, 2.0};
  Tensor a = Tensor::from_vector(p0, {3}), b = Tensor::from_vector(p0, {3});
  a.requires_grad_();
  b.requires_grad_();
  std::vector<ParamGroup> groups{make_group(NamedTensors{{"a", a}}, lr, wd),
                                 make_group(NamedTensors{{"b", b}}, lr, wd, /*exclude=*/true)};
  AdamW opt(groups, AdamWOptions(lr).eps(eps));
  a.set_grad(Tensor::from_vector(g, {3}));
  b.set_grad(Tensor::from_vector(g, {3}));
  opt.step();
  std::vector<double> av = a.to_vector(), bv = b.to_vector();
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(av[i], p0[i] * (1 - lr * wd) - lr * g[i] / (std::abs(g[i]) + eps), 1e-12);
    EXPECT_NEAR(bv[i], p0[i] - lr * g[i] / (std::abs(g[i]) + eps), 1e-12);  // no decay
  }
}

TEST(OptimHand, SGDMomentumLoopsAndSkipsParamsWithoutGrad) {
  // Independent double loops over 3 steps, momentum 0.9, dampening 0.1, wd 0.01.
  Generator gen(3);
  Tensor p = Tensor::randn({5}, &gen, DType::F64).requires_grad_(), idle = Tensor::ones({2}, DType::F64).requires_grad_();
  std::vector<double> ref = p.to_vector(), buf(5, 0.0);
  SGD opt(NamedTensors{{"p", p}, {"idle", idle}},
          SGDOptions(0.05).momentum(0.9).dampening(0.1).weight_decay(0.01));
  for (int s = 0; s < 3; ++s) {
    Tensor g = Tensor::randn({5}, &gen, DType::F64);
    std::vector<double> gv = g.to_vector();
    p.set_grad(g);
    opt.step();
    for (int i = 0; i < 5; ++i) {
      double d = gv[i] + 0.01 * ref[i];
      buf[i] = s == 0 ? d : 0.9 * buf[i] + 0.9 * d;
      ref[i] -= 0.05 * buf[i];
    }
    expect_near(p.to_vector(), ref, 1e-13, "sgd step " + std::to_string(s));
  }
  EXPECT_EQ(idle.to_vector(), std::vector<double>(2, 1.0));
}

TEST(OptimState, ExportImportContinuesBitForBit) {
  auto make = [] {
    auto m = std::make_shared<Pair>();
    return m;
  };
  auto m1 = make(), m2 = make();
  AdamW o1(m1->named_parameters(), AdamWOptions(0.01));
  Generator gen(9);
  auto grads = [&](Pair& m, Generator& g) {
    m.w.set_grad(Tensor::randn({4, 3}, &g, DType::F64));
    m.b.set_grad(Tensor::randn({3}, &g, DType::F64));
  };
  for (int s = 0; s < 2; ++s) {
    grads(*m1, gen);
    o1.step();
  }
  NamedTensors st = o1.state_dict();
  std::vector<std::string> names;
  for (auto& [n, t] : st) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"step", "w.step", "w.exp_avg", "w.exp_avg_sq",
                                             "b.step", "b.exp_avg", "b.exp_avg_sq"}));
  EXPECT_EQ(st[0].second.item(), 2.0);
  m2->load_state_dict(m1->state_dict());
  AdamW o2(m2->named_parameters(), AdamWOptions(0.01));
  o2.load_state_dict(st);
  EXPECT_EQ(o2.steps_taken(), 2);
  Generator g1(11), g2(11);
  for (int s = 0; s < 3; ++s) {
    grads(*m1, g1);
    grads(*m2, g2);
    o1.step();
    o2.step();
  }
  EXPECT_EQ(m1->w.to_vector(), m2->w.to_vector());
  EXPECT_EQ(m1->b.to_vector(), m2->b.to_vector());

  // Strict import names what is wrong.
  NamedTensors bad = st;
  bad.erase(bad.begin() + 2);
  bad.emplace_back("q.mu", Tensor::zeros({1}));
  bad[1].second = Tensor::zeros({2});
  std::string e = error_of([&] { o2.load_state_dict(bad); });
  EXPECT_NE(e.find("missing key(s): 'w.exp_avg'"), std::string::npos) << e;
  EXPECT_NE(e.find("unexpected key(s): 'q.mu'"), std::string::npos) << e;
  EXPECT_NE(e.find("w.step: expected [], got [2]"), std::string::npos) << e;
}

TEST(OptimGroups, OptionsAndErrors) {
  Tensor a = Tensor::zeros({2}, DType::F64).requires_grad_();
  ParamGroup g = make_group(std::vector<Tensor>{a}, 0.1);
  g.options["momentum"] = 0.5;
  SGD opt({g}, SGDOptions(0.1).momentum(0.9));
  EXPECT_EQ(opt.param_groups()[0].option("momentum"), 0.5);  // the group's own value wins
  EXPECT_EQ(opt.param_groups()[0].option("nesterov"), 0.0);  // filled from the defaults
  EXPECT_EQ(opt.param_groups()[0].params[0].first, "param0");
  ParamGroup bad = make_group(std::vector<Tensor>{a}, 0.1);
  bad.options["betas"] = 1;
  std::string e = error_of([&] { SGD({bad}, SGDOptions(0.1)); });
  EXPECT_NE(e.find("unknown option 'betas'"), std::string::npos) << e;
  e = error_of([&] { SGD(NamedTensors{{"a", a}, {"b", a}}, SGDOptions(0.1)); });
  EXPECT_NE(e.find("appears in two groups"), std::string::npos) << e;
  EXPECT_THROW(SGD(NamedTensors{{"a", a}}, SGDOptions(0.1).nesterov(true)), Error);
  opt.set_lr(0.25);
  EXPECT_EQ(opt.param_groups()[0].lr, 0.25);
}

TEST(OptimGroups, SplitDecayGroupsByRank) {
  Tensor w = Tensor::zeros({3, 2}, DType::F64).requires_grad_(), k = Tensor::zeros({2, 1, 1, 1, 2}, DType::F64);
  Tensor b = Tensor::zeros({2}, DType::F64).requires_grad_(), s = Tensor::zeros({}, DType::F64);
  // Rank >= 2 decays; rank <= 1 goes to an excluded group without decay; order is kept.
  std::vector<ParamGroup> g = split_decay_groups(NamedTensors{{"w", w}, {"b", b}, {"k", k}, {"s", s}}, 0.5, 0.01);
  ASSERT_EQ(g.size(), 2u);
  ASSERT_EQ(g[0].params.size(), 2u);
  EXPECT_EQ(g[0].params[0].first, "w");
  EXPECT_EQ(g[0].params[1].first, "k");
  EXPECT_EQ(g[0].lr, 0.5);
  EXPECT_EQ(g[0].weight_decay, 0.01);
  EXPECT_FALSE(g[0].exclude);
  ASSERT_EQ(g[1].params.size(), 2u);
  EXPECT_EQ(g[1].params[0].first, "b");
  EXPECT_EQ(g[1].params[1].first, "s");
  EXPECT_EQ(g[1].lr, 0.5);
  EXPECT_EQ(g[1].weight_decay, 0.0);
  EXPECT_TRUE(g[1].exclude);
  // No rank <= 1 tensors: only the decayed group.
  g = split_decay_groups(NamedTensors{{"w", w}}, 0.5, 0.01);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].params[0].first, "w");
  // The Module overload splits m.named_parameters() the same way.
  Pair m;
  g = split_decay_groups(m, 0.25, 0.1);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].params[0].first, "w");
  EXPECT_EQ(g[1].params[0].first, "b");
  EXPECT_TRUE(g[1].exclude);
}

TEST(OptimClip, ClipGradNormScalesByTheGlobalNorm) {
  Tensor a = Tensor::zeros({2}, DType::F64).requires_grad_(), b = Tensor::zeros({1, 1}, DType::F64).requires_grad_();
  Tensor none = Tensor::zeros({3}, DType::F64).requires_grad_();  // no gradient: skipped
  NamedTensors params{{"a", a}, {"none", none}, {"b", b}};
  // Gradients (3, 4) and (12): global norm sqrt(9 + 16 + 144) = 13.
  a.set_grad(Tensor::from_vector(std::vector<double>{3, 4}, {2}));
  b.set_grad(Tensor::from_vector(std::vector<double>{12}, {1, 1}));
  // Below the bound nothing changes, and the norm comes back.
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 13.5), 13.0);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{3, 4}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<double>{12}));
  EXPECT_FALSE(none.grad().defined());
  // Above it every gradient is scaled by 6.5 / (13 + 1e-6), about one half.
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 6.5), 13.0);
  const double c = 6.5 / (13.0 + 1e-6);
  EXPECT_DOUBLE_EQ(a.grad().to_vector()[0], 3 * c);
  EXPECT_DOUBLE_EQ(a.grad().to_vector()[1], 4 * c);
  EXPECT_DOUBLE_EQ(b.grad().to_vector()[0], 12 * c);
  EXPECT_NEAR(clip_grad_norm(params, 100.0), 6.5, 1e-6);  // the clipped norm, just under 6.5
  // f32 gradients, summed in f64 across tensors.
  Tensor f = Tensor::zeros({2}).requires_grad_();
  f.set_grad(Tensor::from_vector(std::vector<float>{0.6f, 0.8f}, {2}));
  EXPECT_NEAR(clip_grad_norm(NamedTensors{{"f", f}}, 10.0), 1.0, 1e-6);
  // No gradients at all: norm 0. A bound <= 0 is an error that names it.
  EXPECT_EQ(clip_grad_norm(NamedTensors{{"none", none}}, 1.0), 0.0);
  std::string e = error_of([&] { clip_grad_norm(params, 0.0); });
  EXPECT_NE(e.find("max_norm > 0, got 0"), std::string::npos) << e;
}
