// GPU checks of layers/: a module moved with to(cuda) keeps every handle valid,
// trains with SGD/AdamW/LARS on the device, and matches the same steps on the
// CPU; checkpoints save from the GPU via the host and load back onto it.
// Skipped when no CUDA device is present.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>

#include "autograd/functions.h"
#include "layers/checkpoint.h"
#include "layers/layers.h"
#include "layers/optim/adamw.h"
#include "layers/optim/lars.h"
#include "layers/optim/sgd.h"
#include "tests/test_cuda_util.h"

using namespace vd;
using namespace vd::nn;

namespace {

std::shared_ptr<Sequential> conv_net() {
  Generator gen(21);
  auto net = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      std::make_shared<Conv3d>(Conv3dOptions(3, 8, {3, 3, 3}).padding({1, 1, 1}).bias(false), &gen),
      std::make_shared<BatchNorm3d>(8), std::make_shared<ReLU>(),
      std::make_shared<MaxPool3d>(Pool3dOptions({1, 2, 2})), std::make_shared<AdaptiveAvgPool3d>(),
      std::make_shared<Flatten>(), std::make_shared<Linear>(8, 4, &gen)});
  init::video_resnet_(*net, gen);
  return net;
}

// Three steps of `opt` on fixed data; returns the final loss.
double train(Sequential& net, optim::Optimizer& opt, Device dev) {
  Tensor x = ops::to_device(cudatest::randn({4, 4, 8, 8, 3}, 5), dev);
  std::vector<int64_t> y{0, 1, 2, 3};
  double last = 0;
  for (int s = 0; s < 3; ++s) {
    Tensor loss = cross_entropy(net(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    last = loss.item();
  }
  return last;
}

void expect_close_states(const Module& a, const Module& b, double tol) {
  for (const auto& [n, t] : a.state_dict()) {
    std::vector<double> u = t.to_vector(), v = b.named_tensor(n).to_vector();
    ASSERT_EQ(u.size(), v.size()) << n;
    for (size_t i = 0; i < u.size(); ++i)
      ASSERT_NEAR(u[i], v[i], tol * (1 + std::abs(v[i]))) << n << " element " << i;
  }
}

}  // namespace

TEST(LayersCuda, ToDeviceKeepsHandlesAndOptimizersMatchCpu) {
  VD_SKIP_WITHOUT_GPU();
  for (int which = 0; which < 3; ++which) {
    auto cpu_net = conv_net(), gpu_net = conv_net();
    Tensor w = gpu_net->named_tensor("0.weight");  // handle taken before the move
    gpu_net->to(cudatest::gpu());
    EXPECT_TRUE(w.is_cuda());
    EXPECT_TRUE(w.requires_grad());
    EXPECT_TRUE(gpu_net->named_tensor("1.num_batches_tracked").is_cuda());
    std::unique_ptr<optim::Optimizer> oc, og;
    if (which == 0) {
      oc = std::make_unique<optim::SGD>(cpu_net->named_parameters(), optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-3));
      og = std::make_unique<optim::SGD>(gpu_net->named_parameters(), optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-3));
    } else if (which == 1) {
      oc = std::make_unique<optim::AdamW>(cpu_net->named_parameters(), optim::AdamWOptions(0.01));
      og = std::make_unique<optim::AdamW>(gpu_net->named_parameters(), optim::AdamWOptions(0.01));
    } else {
      oc = std::make_unique<optim::LARS>(*cpu_net, optim::LARSOptions(0.5).weight_decay(1e-4));
      og = std::make_unique<optim::LARS>(*gpu_net, optim::LARSOptions(0.5).weight_decay(1e-4));
    }
    double lc = train(*cpu_net, *oc, Device::cpu()), lg = train(*gpu_net, *og, cudatest::gpu());
    EXPECT_NEAR(lc, lg, 1e-3 * (1 + std::abs(lc))) << "optimizer " << which;
    expect_close_states(*gpu_net, *cpu_net, 2e-3);
  }
}

TEST(LayersCuda, CheckpointFromAndToTheGpu) {
  VD_SKIP_WITHOUT_GPU();
  auto a = conv_net();
  a->to(cudatest::gpu());
  optim::SGD oa(a->named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  train(*a, oa, cudatest::gpu());
  std::string path = "/tmp/vd_layers_cuda_" + std::to_string(::getpid()) + ".vdck";
  save_checkpoint(path, *a, &oa, {});
  auto b = conv_net();
  b->to(cudatest::gpu());
  optim::SGD ob(b->named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  load_checkpoint(path, *b, &ob);
  std::remove(path.c_str());
  for (const auto& [n, t] : a->state_dict()) {
    EXPECT_TRUE(b->named_tensor(n).is_cuda()) << n;
    EXPECT_EQ(t.to_vector(), b->named_tensor(n).to_vector()) << n;
  }
}
