// Tests of layers/: Module names, order, counts, errors, modes, moves and
// printing; Linear/BatchNorm/pool forward values against plain loops; init
// statistics. Optimizers and checkpoints have their own test files.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/random.h"
#include "layers/layers.h"

using namespace vd;
using namespace vd::nn;

namespace {

// A torchvision-like block: conv1 = Sequential(Conv3d, BN, ReLU), conv2 likewise.
struct Block : Module {
  std::shared_ptr<Sequential> conv1, conv2;
  explicit Block(int64_t c) : Module("Block") {
    auto conv = [&](int64_t ci) {
      return std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
          std::make_shared<Conv3d>(Conv3dOptions(ci, c, {3, 3, 3}).padding({1, 1, 1}).bias(false)),
          std::make_shared<BatchNorm3d>(c), std::make_shared<ReLU>(true)});
    };
    conv1 = register_module("conv1", conv(c));
    conv2 = register_module("conv2", conv(c));
  }
  Tensor forward(const Tensor& x) override { return (*conv2)((*conv1)(x)); }
};

struct TinyNet : Module {
  std::shared_ptr<Sequential> stem, layer1;
  std::shared_ptr<Linear> fc;
  TinyNet() : Module("TinyNet") {
    stem = register_module("stem", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Conv3d>(Conv3dOptions(3, 4, {3, 7, 7}).stride({1, 2, 2}).padding({1, 3, 3}).bias(false)),
        std::make_shared<BatchNorm3d>(4), std::make_shared<ReLU>(true)}));
    layer1 = register_module("layer1", std::make_shared<Sequential>());
    layer1->push_back(std::make_shared<Block>(4));
    fc = register_module("fc", std::make_shared<Linear>(4, 5));
  }
};

std::vector<std::string> names_of(const NamedTensors& v) {
  std::vector<std::string> out;
  for (const auto& [n, t] : v) out.push_back(n);
  return out;
}

using vd::testing::error_of;

}  // namespace

TEST(LayersModule, DottedNamesInTorchOrder) {
  TinyNet net;
  std::vector<std::string> expected = {
      "stem.0.weight", "stem.1.weight", "stem.1.bias", "stem.1.running_mean", "stem.1.running_var",
      "stem.1.num_batches_tracked", "layer1.0.conv1.0.weight", "layer1.0.conv1.1.weight",
      "layer1.0.conv1.1.bias", "layer1.0.conv1.1.running_mean", "layer1.0.conv1.1.running_var",
      "layer1.0.conv1.1.num_batches_tracked", "layer1.0.conv2.0.weight", "layer1.0.conv2.1.weight",
      "layer1.0.conv2.1.bias", "layer1.0.conv2.1.running_mean", "layer1.0.conv2.1.running_var",
      "layer1.0.conv2.1.num_batches_tracked", "fc.weight", "fc.bias"};
  EXPECT_EQ(names_of(net.state_dict()), expected);
  std::vector<std::string> params;
  for (const auto& n : expected)
    if (n.find("running") == std::string::npos && n.find("num_batches") == std::string::npos)
      params.push_back(n);
  EXPECT_EQ(names_of(net.named_parameters()), params);
  EXPECT_EQ(net.named_buffers().size(), 9u);
  EXPECT_EQ(net.named_tensor("stem.0.weight").shape(), (Shape{4, 3, 7, 7, 3}));  // [Cout,kT,kH,kW,Cin]
  EXPECT_EQ(net.named_tensor("stem.1.num_batches_tracked").dim(), 0);
  EXPECT_EQ(net.named_tensor("stem.1.num_batches_tracked").dtype(), DType::F64);
  auto children = net.named_children();
  ASSERT_EQ(children.size(), 3u);
  EXPECT_EQ(children[1].first, "layer1");
  auto modules = net.named_modules();
  EXPECT_EQ(modules[0].first, "");
  EXPECT_EQ(modules[3].first, "stem.1");
}

TEST(LayersModule, ParameterCounts) {
  EXPECT_EQ(Linear(10, 5).parameter_count(), 55);
  EXPECT_EQ(Linear(LinearOptions(10, 5).bias(false)).parameter_count(), 50);
  EXPECT_EQ(Conv3d(Conv3dOptions(3, 8, {3, 3, 3}).bias(false)).parameter_count(), 8 * 27 * 3);
  EXPECT_EQ(Conv3d(Conv3dOptions(3, 8, {1, 3, 3})).parameter_count(), 8 * 9 * 3 + 8);
  EXPECT_EQ(BatchNorm3d(8).parameter_count(), 16);  // buffers are not parameters
  TinyNet net;
  int64_t expected = 4 * 3 * 49 * 3 + 8 + 2 * (4 * 27 * 4 + 8) + 4 * 5 + 5;
  EXPECT_EQ(net.parameter_count(), expected);
}

TEST(LayersModule, RegistrationAndLookupErrors) {
  Module m("Custom");
  m.register_parameter("w", Tensor::zeros({2}));
  EXPECT_NE(error_of([&] { m.register_buffer("w", Tensor::zeros({2})); }).find("already taken"),
            std::string::npos);
  EXPECT_NE(error_of([&] { m.register_parameter("a.b", Tensor::zeros({2})); }).find("'a.b'"),
            std::string::npos);
  std::string e = error_of([&] { m.named_tensor("nope"); });
  EXPECT_NE(e.find("'nope'"), std::string::npos) << e;
  EXPECT_NE(e.find("'w'"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { m.child("x"); }).find("no child module named 'x'"), std::string::npos);
  EXPECT_NE(error_of([&] { m.forward(Tensor::zeros({1})); }).find("Custom"), std::string::npos);
  e = error_of([] { AdaptiveAvgPool3d({2, 1, 1}); });
  EXPECT_NE(e.find("(2, 1, 1)"), std::string::npos) << e;
  Linear l(3, 2);
  e = error_of([&] { l(Tensor::zeros({4, 5})); });
  EXPECT_NE(e.find("[4, 5]"), std::string::npos) << e;
  EXPECT_NE(e.find("3]"), std::string::npos) << e;
  Conv3d c(Conv3dOptions(3, 4, {3, 3, 3}));
  e = error_of([&] { c(Tensor::zeros({1, 3, 4, 4, 4})); });
  EXPECT_NE(e.find("[1, 3, 4, 4, 4]"), std::string::npos) << e;
  BatchNorm3d bn(4);
  e = error_of([&] { bn(Tensor::zeros({2, 4})); });
  EXPECT_NE(e.find("[2, 4]"), std::string::npos) << e;
  EXPECT_THROW(Conv3d(Conv3dOptions(3, 4, {0, 3, 3})), Error);
  EXPECT_THROW(MaxPool3d(Pool3dOptions({3, 3, 3}).padding({2, 0, 0})), Error);
}

TEST(LayersModule, LoadStateDictNamesEveryProblem) {
  TinyNet a, b;
  NamedTensors sd = a.state_dict();
  sd.erase(sd.begin());                                            // missing stem.0.weight
  sd.emplace_back("extra.weight", Tensor::zeros({1}));             // unexpected
  for (auto& [n, t] : sd)
    if (n == "fc.bias") t = Tensor::zeros({7});                    // shape mismatch
  std::string e = error_of([&] { b.load_state_dict(sd); });
  EXPECT_NE(e.find("missing key(s): 'stem.0.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("unexpected key(s): 'extra.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("fc.bias: expected [5], got [7]"), std::string::npos) << e;
  // A full, matching state loads bit for bit.
  b.load_state_dict(a.state_dict());
  for (const auto& [n, t] : a.state_dict()) EXPECT_EQ(t.to_vector(), b.named_tensor(n).to_vector()) << n;
  // Non-strict skips missing/unexpected but not mismatches.
  NamedTensors partial{{"fc.weight", Tensor::zeros({5, 4})}, {"zzz", Tensor::zeros({1})}};
  b.load_state_dict(partial, false);
  EXPECT_EQ(b.fc->weight.to_vector(), std::vector<double>(20, 0.0));
}

TEST(LayersModule, TrainEvalZeroGradAndMoves) {
  TinyNet net;
  EXPECT_TRUE(net.is_training());
  net.eval();
  for (auto& [n, m] : net.named_modules()) EXPECT_FALSE(m->is_training()) << n;
  net.train();
  EXPECT_TRUE(net.layer1->child("0")->is_training());

  Tensor w = net.fc->weight;  // a handle held elsewhere
  w.set_grad(Tensor::ones({5, 4}));
  net.zero_grad();
  EXPECT_FALSE(net.fc->weight.grad().defined());

  std::vector<double> before = w.to_vector();
  net.to(DType::F64);
  EXPECT_EQ(w.dtype(), DType::F64);  // the handle sees the move
  EXPECT_TRUE(w.requires_grad());
  EXPECT_EQ(w.to_vector(), before);
  EXPECT_EQ(net.named_tensor("stem.1.running_var").dtype(), DType::F64);
  net.to(Device::cpu());  // same device: a no-op
  EXPECT_EQ(w.to_vector(), before);
}

TEST(LayersModule, PrintsLikePyTorch) {
  Sequential s{std::make_shared<Conv3d>(Conv3dOptions(3, 64, {3, 7, 7}).stride({1, 2, 2}).padding({1, 3, 3}).bias(false)),
               std::make_shared<BatchNorm3d>(64), std::make_shared<ReLU>(true),
               std::make_shared<AdaptiveAvgPool3d>(), std::make_shared<Flatten>(),
               std::make_shared<Linear>(64, 10)};
  std::string expected =
      "Sequential(\n"
      "  (0): Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)\n"
      "  (1): BatchNorm3d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
      "  (2): ReLU(inplace=True)\n"
      "  (3): AdaptiveAvgPool3d(output_size=(1, 1, 1))\n"
      "  (4): Flatten(start_dim=1, end_dim=-1)\n"
      "  (5): Linear(in_features=64, out_features=10, bias=True)\n"
      ")";
  EXPECT_EQ(s.str(), expected);
  TinyNet net;
  std::string t = net.str();
  EXPECT_NE(t.find("  (layer1): Sequential(\n    (0): Block(\n      (conv1): Sequential(\n"), std::string::npos) << t;
}

TEST(LayersInit, FansUseChannelsLastLayout) {
  init::Fans f = init::fans({8, 3, 5, 7, 4});  // [Cout, kT, kH, kW, Cin]
  EXPECT_EQ(f.fan_in, 4 * 105);
  EXPECT_EQ(f.fan_out, 8 * 105);
  f = init::fans({10, 6});  // Linear [out, in]
  EXPECT_EQ(f.fan_in, 6);
  EXPECT_EQ(f.fan_out, 10);
  EXPECT_THROW(init::fans({3}), Error);
}

static void moments(const Tensor& t, double& mean, double& sd, double& maxabs) {
  std::vector<double> v = t.to_vector();
  double s = 0, s2 = 0;
  maxabs = 0;
  for (double x : v) s += x, maxabs = std::max(maxabs, std::abs(x));
  mean = s / double(v.size());
  for (double x : v) s2 += (x - mean) * (x - mean);
  sd = std::sqrt(s2 / double(v.size() - 1));
}

TEST(LayersInit, VideoResNetAndTorchDefaultStatistics) {
  Generator gen(7);
  Sequential s{std::make_shared<Conv3d>(Conv3dOptions(16, 64, {3, 3, 3}).bias(false), &gen),
               std::make_shared<BatchNorm3d>(64), std::make_shared<Linear>(512, 40, &gen)};
  init::video_resnet_(s, gen);
  double mean, sd, maxabs;
  moments(s.named_tensor("0.weight"), mean, sd, maxabs);  // 27648 values
  double expect = std::sqrt(2.0 / (64 * 27));              // fan_out = Cout * kT * kH * kW
  EXPECT_NEAR(sd / expect, 1.0, 0.02);
  EXPECT_NEAR(mean / expect, 0.0, 0.02);
  EXPECT_EQ(s.named_tensor("1.weight").to_vector(), std::vector<double>(64, 1.0));
  EXPECT_EQ(s.named_tensor("1.bias").to_vector(), std::vector<double>(64, 0.0));
  moments(s.named_tensor("2.weight"), mean, sd, maxabs);
  EXPECT_NEAR(sd, 0.01, 0.0003);
  EXPECT_EQ(s.named_tensor("2.bias").to_vector(), std::vector<double>(40, 0.0));

  // torch's default Linear: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias, sd = bound / sqrt(3).
  Linear l(256, 300, &gen);
  double bound = 1.0 / 16.0;
  moments(l.weight, mean, sd, maxabs);
  EXPECT_LE(maxabs, bound);
  EXPECT_NEAR(sd / (bound / std::sqrt(3.0)), 1.0, 0.02);
  moments(l.bias, mean, sd, maxabs);
  EXPECT_LE(maxabs, bound);
  EXPECT_GT(maxabs, 0.8 * bound);
  // Same generator state, same draws.
  Generator g1(3), g2(3);
  EXPECT_EQ(Linear(4, 3, &g1).weight.to_vector(), Linear(4, 3, &g2).weight.to_vector());
}

TEST(LayersForward, LinearMatchesLoops) {
  Generator gen(1);
  Linear l(3, 2, &gen);
  Tensor x = Tensor::randn({4, 3}, &gen);
  std::vector<double> y = l(x).to_vector(), xv = x.to_vector(), w = l.weight.to_vector(),
                      b = l.bias.to_vector();
  for (int n = 0; n < 4; ++n)
    for (int o = 0; o < 2; ++o) {
      double r = b[o];
      for (int i = 0; i < 3; ++i) r += xv[n * 3 + i] * w[o * 3 + i];
      EXPECT_NEAR(y[n * 2 + o], r, 1e-5);
    }
  Tensor x3 = Tensor::randn({2, 2, 3}, &gen);  // leading dims are kept
  EXPECT_EQ(l(x3).shape(), (Shape{2, 2, 2}));
}

TEST(LayersForward, BatchNormTrainAndEval) {
  const int64_t M = 2 * 2 * 3 * 3, C = 3;
  Generator gen(5);
  BatchNorm3d bn(C);
  Tensor x = Tensor::randn({2, 2, 3, 3, C}, &gen, DType::F64);
  bn.to(DType::F64);
  init::uniform_(bn.weight, 0.5, 1.5, gen);
  init::uniform_(bn.bias, -0.5, 0.5, gen);
  std::vector<double> xv = x.to_vector(), g = bn.weight.to_vector(), b = bn.bias.to_vector();
  std::vector<double> mean(C, 0), var(C, 0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t c = 0; c < C; ++c) mean[c] += xv[i * C + c] / M;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t c = 0; c < C; ++c) var[c] += std::pow(xv[i * C + c] - mean[c], 2) / M;
  std::vector<double> y = bn(x).to_vector();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t c = 0; c < C; ++c)
      EXPECT_NEAR(y[i * C + c], (xv[i * C + c] - mean[c]) / std::sqrt(var[c] + 1e-5) * g[c] + b[c], 1e-10);
  std::vector<double> rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_NEAR(rm[c], 0.1 * mean[c], 1e-12);
    EXPECT_NEAR(rv[c], 0.9 + 0.1 * var[c] * M / (M - 1), 1e-12);  // unbiased in the running var
  }
  EXPECT_EQ(bn.num_batches_tracked.item(), 1.0);
  bn.eval();
  y = bn(x).to_vector();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t c = 0; c < C; ++c)
      EXPECT_NEAR(y[i * C + c], (xv[i * C + c] - rm[c]) / std::sqrt(rv[c] + 1e-5) * g[c] + b[c], 1e-10);
  EXPECT_EQ(bn.running_mean.to_vector(), rm);  // eval leaves the statistics alone
  EXPECT_EQ(bn.num_batches_tracked.item(), 1.0);
}

TEST(LayersForward, BatchNormCumulativeAveragesTheBatches) {
  // After a reset, three training batches with `cumulative` leave the plain
  // mean of their batch means and unbiased variances (PyTorch momentum=None).
  const int64_t C = 2;
  Generator gen(6);
  BatchNorm1d bn(C);
  bn.to(DType::F64);
  bn.cumulative = true;
  std::vector<double> want_mean(C, 0), want_var(C, 0);
  for (int b = 0; b < 3; ++b) {
    Tensor x = add(Tensor::randn({5, C}, &gen, DType::F64), double(b));
    std::vector<double> xv = x.to_vector();
    for (int64_t c = 0; c < C; ++c) {
      double m = 0, v = 0;
      for (int i = 0; i < 5; ++i) m += xv[i * C + c] / 5;
      for (int i = 0; i < 5; ++i) v += std::pow(xv[i * C + c] - m, 2) / 4;
      want_mean[c] += m / 3;
      want_var[c] += v / 3;
    }
    bn(x);
  }
  std::vector<double> rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_NEAR(rm[c], want_mean[c], 1e-12);
    EXPECT_NEAR(rv[c], want_var[c], 1e-12);
  }
  EXPECT_EQ(bn.num_batches_tracked.item(), 3.0);
}

TEST(LayersForward, ConvNetShapesAndPools) {
  Generator gen(2);
  Sequential net{std::make_shared<Conv3d>(Conv3dOptions(3, 6, {3, 3, 3}).stride({1, 2, 2}).padding({1, 1, 1}), &gen),
                 std::make_shared<BatchNorm3d>(6), std::make_shared<ReLU>(),
                 std::make_shared<MaxPool3d>(Pool3dOptions({1, 3, 3}).stride({1, 2, 2}).padding({0, 1, 1})),
                 std::make_shared<AvgPool3d>(Pool3dOptions({2, 1, 1}))};
  Tensor x = Tensor::randn({2, 4, 8, 8, 3}, &gen);
  Tensor y = net(x);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 2, 2, 6}));
  AdaptiveAvgPool3d gap;
  Tensor p = gap(y);
  EXPECT_EQ(p.shape(), (Shape{2, 1, 1, 1, 6}));
  std::vector<double> yv = y.to_vector(), pv = p.to_vector();
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 6; ++c) {
      double s = 0;
      for (int k = 0; k < 8; ++k) s += yv[(n * 8 + k) * 6 + c];
      EXPECT_NEAR(pv[n * 6 + c], s / 8, 1e-6);
    }
  EXPECT_EQ(Flatten()(p).shape(), (Shape{2, 6}));
  EXPECT_EQ(Identity()(p).impl_ptr(), p.impl_ptr());
}

TEST(LayersForward, WholeSmallNetworkGradcheckThroughModules) {
  Generator gen(4);
  Sequential net{std::make_shared<Conv3d>(Conv3dOptions(2, 3, {2, 2, 2}).padding({1, 1, 1}), &gen),
                 std::make_shared<BatchNorm3d>(3), std::make_shared<ReLU>(),
                 std::make_shared<AdaptiveAvgPool3d>(), std::make_shared<Flatten>(),
                 std::make_shared<Linear>(3, 2, &gen)};
  net.to(DType::F64);
  Tensor x = Tensor::randn({2, 2, 3, 3, 2}, &gen, DType::F64);
  // gradcheck perturbs its inputs in place: pass x and the module's own
  // parameter handles, so the module's forward sees every perturbation.
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : net.parameters()) inputs.push_back(p);
  auto res = autograd::gradcheck([&](const std::vector<Tensor>& in) { return net(in[0]); }, inputs);
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_GT(res.checked, 100);
}
