// train_small: a first tour of the layer and optimizer API. Trains (1) a small
// MLP on generated points and (2) a small conv3d network on generated clips of
// a moving dot whose class is the direction of motion, printing the loss as it
// falls; saves and reloads a checkpoint at the end. CPU, a few seconds.
// Not a benchmark and not the ViDiDi trainer (see the `vididi` tool for that).
#include <chrono>
#include <cstdio>

#include "autograd/functions.h"
#include "core/random.h"
#include "layers/checkpoint.h"
#include "layers/layers.h"
#include "layers/optim/adamw.h"
#include "layers/optim/schedule.h"
#include "layers/optim/sgd.h"

using namespace vd;
using namespace vd::nn;

// Points x ~ N(0, I) in 8-D, labelled by which of 4 fixed random directions
// they align with best (a piecewise-linear boundary an MLP learns quickly).
static void make_points(Generator& gen, const Tensor& dirs, int64_t n, Tensor& x,
                        std::vector<int64_t>& y) {
  x = Tensor::randn({n, 8}, &gen);
  std::vector<double> xv = x.to_vector(), dv = dirs.to_vector();
  y.assign(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    double best = -1e30;
    for (int64_t k = 0; k < 4; ++k) {
      double s = 0;
      for (int64_t j = 0; j < 8; ++j) s += xv[size_t(i * 8 + j)] * dv[size_t(k * 8 + j)];
      if (s > best) best = s, y[size_t(i)] = k;
    }
  }
}

// Clips [n, T=4, 8, 8, 1]: a 2x2 dot at a random start moving one pixel per
// frame right, left, down or up (the class), on a noisy background.
static void make_clips(Generator& gen, int64_t n, Tensor& x, std::vector<int64_t>& y) {
  const int64_t T = 4, S = 8;
  std::vector<float> v(size_t(n * T * S * S));
  y.assign(size_t(n), 0);
  const int dr[4] = {0, 0, 1, -1}, dc[4] = {1, -1, 0, 0};
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = gen.randint(4);
    y[size_t(i)] = k;
    int64_t r0 = 2 + gen.randint(3), c0 = 2 + gen.randint(3);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t r = 0; r < S; ++r)
        for (int64_t c = 0; c < S; ++c) {
          int64_t rr = r0 + dr[k] * (t - 1), cc = c0 + dc[k] * (t - 1);
          bool on = r >= rr && r < rr + 2 && c >= cc && c < cc + 2;
          v[size_t(((i * T + t) * S + r) * S + c)] = float((on ? 1.0 : 0.0) + 0.1 * gen.normal());
        }
  }
  x = Tensor::from_vector(v, {n, T, S, S, 1});
}

static double accuracy(const Tensor& logits, const std::vector<int64_t>& y) {
  std::vector<double> l = logits.to_vector();
  int64_t k = logits.size(1), hit = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    int64_t arg = 0;
    for (int64_t j = 1; j < k; ++j)
      if (l[i * size_t(k) + size_t(j)] > l[i * size_t(k) + size_t(arg)]) arg = j;
    hit += arg == y[i];
  }
  return double(hit) / double(y.size());
}

int main() {
  auto t0 = std::chrono::steady_clock::now();
  Generator gen(42);

  // --- 1. MLP, SGD with momentum -------------------------------------------------
  Sequential mlp{std::make_shared<Linear>(8, 32, &gen), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(32, 4, &gen)};
  std::printf("%s\nparameters: %lld\n", mlp.str().c_str(), (long long)mlp.parameter_count());
  Tensor dirs = Tensor::randn({4, 8}, &gen), x;
  std::vector<int64_t> y;
  optim::SGD sgd(mlp.named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  for (int step = 0; step <= 200; ++step) {
    make_points(gen, dirs, 64, x, y);
    Tensor loss = cross_entropy(mlp(x), y);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    if (step % 40 == 0) std::printf("mlp   step %3d  loss %.4f\n", step, loss.item());
  }
  make_points(gen, dirs, 1000, x, y);
  {
    autograd::NoGradGuard no_grad;
    std::printf("mlp   held-out accuracy %.3f\n\n", accuracy(mlp(x), y));
  }

  // --- 2. conv3d network, AdamW with warm-up + cosine ---------------------------
  Sequential net{
      std::make_shared<Conv3d>(Conv3dOptions(1, 8, {3, 3, 3}).padding({1, 1, 1}).bias(false), &gen),
      std::make_shared<BatchNorm3d>(8), std::make_shared<ReLU>(true),
      std::make_shared<MaxPool3d>(Pool3dOptions({1, 2, 2})), std::make_shared<AdaptiveAvgPool3d>(),
      std::make_shared<Flatten>(), std::make_shared<Linear>(8, 4, &gen)};
  init::video_resnet_(net, gen);
  std::printf("%s\nparameters: %lld\n", net.str().c_str(), (long long)net.parameter_count());
  const int steps = 150;
  optim::AdamW adamw(net.named_parameters(), optim::AdamWOptions(0.03).weight_decay(1e-4));
  optim::WarmupCosine schedule(0.03, 0.001, 10, steps);
  for (int step = 0; step <= steps; ++step) {
    make_clips(gen, 32, x, y);
    adamw.set_lr(schedule(step));
    Tensor loss = cross_entropy(net(x), y);
    adamw.zero_grad();
    loss.backward();
    adamw.step();
    if (step % 30 == 0)
      std::printf("conv  step %3d  lr %.4f  loss %.4f\n", step, schedule(step), loss.item());
  }
  net.eval();
  make_clips(gen, 500, x, y);
  double acc;
  {
    autograd::NoGradGuard no_grad;
    acc = accuracy(net(x), y);
  }
  std::printf("conv  held-out accuracy %.3f\n", acc);

  // --- 3. checkpoint round trip ---------------------------------------------------
  const char* path = "/tmp/vididi_train_small.vdck";
  CheckpointMeta meta;
  meta.step = steps;
  meta.seed = 42;
  meta.config = "example: train_small\n";
  save_checkpoint(path, net, &adamw, meta);
  Sequential copy{
      std::make_shared<Conv3d>(Conv3dOptions(1, 8, {3, 3, 3}).padding({1, 1, 1}).bias(false)),
      std::make_shared<BatchNorm3d>(8), std::make_shared<ReLU>(true),
      std::make_shared<MaxPool3d>(Pool3dOptions({1, 2, 2})), std::make_shared<AdaptiveAvgPool3d>(),
      std::make_shared<Flatten>(), std::make_shared<Linear>(8, 4)};
  CheckpointMeta back = load_checkpoint(path, copy);
  copy.eval();
  {
    autograd::NoGradGuard no_grad;
    std::printf("checkpoint %s: step %lld, reloaded accuracy %.3f\n", path, (long long)back.step,
                accuracy(copy(x), y));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("done in %.1f s\n", secs);
  return 0;
}
