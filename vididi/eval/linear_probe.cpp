// vididi/eval/linear_probe.cpp: standardisation, the linear classifier's
// training loop on cached clip features, and top-1 scoring.
#include "vididi/eval/linear_probe.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "core/random.h"
#include "layers/basic.h"
#include "layers/optim/adamw.h"
#include "layers/optim/schedule.h"
#include "layers/optim/sgd.h"

namespace vd::eval {

namespace {
int64_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

int64_t class_count(const VideoFeatures& a, const VideoFeatures& b) {
  int64_t k = int64_t(std::max(a.class_names.size(), b.class_names.size()));
  for (int l : a.labels) k = std::max<int64_t>(k, l + 1);
  for (int l : b.labels) k = std::max<int64_t>(k, l + 1);
  return k;
}
}  // namespace

Top1 top1_from_logits(const std::vector<float>& logits, int64_t videos, int64_t clips,
                      int64_t classes, const std::vector<int>& labels) {
  VD_CHECK(int64_t(logits.size()) == videos * clips * classes && int64_t(labels.size()) == videos && videos > 0,
           "top1_from_logits: expected logits [" << videos << ", " << clips << ", " << classes
                                                 << "] and " << videos << " labels, got " << logits.size()
                                                 << " values and " << labels.size() << " labels");
  Top1 t;
  std::vector<float> mean(static_cast<size_t>(classes));
  for (int64_t v = 0; v < videos; ++v) {
    std::fill(mean.begin(), mean.end(), 0.f);
    for (int64_t c = 0; c < clips; ++c) {
      const float* l = logits.data() + (v * clips + c) * classes;
      if (argmax(l, classes) == labels[v]) t.clip += 1;
      for (int64_t k = 0; k < classes; ++k) mean[k] += l[k] / float(clips);
    }
    if (argmax(mean.data(), classes) == labels[v]) t.video += 1;
  }
  t.clip /= double(videos * clips);
  t.video /= double(videos);
  return t;
}

LinearProbeResult linear_probe(const VideoFeatures& train, const VideoFeatures& test,
                               const LinearProbeOptions& o) {
  train.validate("linear_probe (train)");
  test.validate("linear_probe (test)");
  VD_CHECK(train.dim == test.dim, "linear_probe: train features have dim " << train.dim << ", test "
                                      << test.dim << "; hint: extract both with the same encoder");
  VD_CHECK(train.videos > 0 && test.videos > 0, "linear_probe: expected train and test videos, got "
                                                     << train.videos << " and " << test.videos);
  VD_CHECK(o.epochs >= 1 && o.batch >= 1 && o.lr > 0,
           "linear_probe: expected epochs >= 1, batch >= 1, lr > 0, got " << o.epochs << ", " << o.batch << ", " << o.lr);
  VD_CHECK(o.optimizer == "adamw" || o.optimizer == "sgd",
           "linear_probe: expected optimizer adamw or sgd, got '" << o.optimizer << "'");
  const int64_t D = train.dim, K = class_count(train, test), N = train.videos * train.clips;

  // Per-dimension standardisation with the train set's statistics.
  std::vector<double> mu(static_cast<size_t>(D), 0.0), sd(size_t(D), 0.0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) mu[d] += train.data[size_t(i * D + d)];
  for (auto& m : mu) m /= double(N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) {
      double x = train.data[size_t(i * D + d)] - mu[d];
      sd[d] += x * x;
    }
  for (auto& s : sd) s = std::sqrt(s / double(N)) + 1e-6;
  auto standardised = [&](const VideoFeatures& f) {
    std::vector<float> x(f.data.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = float((f.data[i] - mu[i % D]) / sd[i % D]);
    return x;
  };
  const std::vector<float> xtr = standardised(train), xte = standardised(test);

  Generator gen(o.seed);
  nn::Linear head(D, K, &gen);
  head.to(o.device);
  std::unique_ptr<optim::Optimizer> opt;
  if (o.optimizer == "adamw")
    opt = std::make_unique<optim::AdamW>(head.named_parameters(), optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  else
    opt = std::make_unique<optim::SGD>(head.named_parameters(), optim::SGDOptions(o.lr).momentum(0.9).weight_decay(o.weight_decay));
  const int64_t steps_per_epoch = (N + o.batch - 1) / o.batch;
  optim::WarmupCosine lr(o.lr, 0.0, 0, steps_per_epoch * o.epochs);

  LinearProbeResult r;
  r.train_samples = N;
  r.test_videos = test.videos;
  r.classes = K;
  std::vector<int64_t> order(static_cast<size_t>(N));
  int64_t step = 0;
  head.train();
  for (int e = 0; e < o.epochs; ++e) {
    for (int64_t i = 0; i < N; ++i) order[size_t(i)] = i;
    for (int64_t i = N - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(gen.randint(i + 1))]);
    double loss_sum = 0;
    for (int64_t b0 = 0; b0 < N; b0 += o.batch) {
      const int64_t B = std::min<int64_t>(o.batch, N - b0);
      std::vector<float> xb(static_cast<size_t>(B * D));
      std::vector<int64_t> yb(static_cast<size_t>(B));
      for (int64_t j = 0; j < B; ++j) {
        const int64_t i = order[size_t(b0 + j)];
        std::copy_n(xtr.begin() + i * D, D, xb.begin() + j * D);
        yb[size_t(j)] = train.labels[size_t(i / train.clips)];
      }
      Tensor x = Tensor::from_vector(xb, {B, D}, o.device);
      opt->set_lr(lr(step));
      opt->zero_grad();
      Tensor loss = cross_entropy(head.forward(x), yb);
      loss.backward();
      opt->step();
      loss_sum += loss.item() * double(B);
      ++step;
    }
    r.epoch_loss.push_back(loss_sum / double(N));
    if (o.on_epoch) o.on_epoch(e, r.epoch_loss.back());
  }

  head.eval();
  autograd::NoGradGuard no_grad;
  const int64_t M = test.videos * test.clips;
  std::vector<float> logits;
  logits.reserve(size_t(M * K));
  for (int64_t b0 = 0; b0 < M; b0 += 1024) {
    const int64_t B = std::min<int64_t>(1024, M - b0);
    std::vector<float> xb(xte.begin() + b0 * D, xte.begin() + (b0 + B) * D);
    std::vector<double> y = head.forward(Tensor::from_vector(xb, {B, D}, o.device)).to_vector();
    for (double v : y) logits.push_back(float(v));
  }
  r.top1 = top1_from_logits(logits, test.videos, test.clips, K, test.labels);
  return r;
}

}  // namespace vd::eval
