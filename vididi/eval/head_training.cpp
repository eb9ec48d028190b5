// vididi/eval/head_training.cpp: the epoch schedule (plateau or cosine), the
// head, its losses and its training loop on cached features (see
// head_training.h).
#include "vididi/eval/head_training.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "core/random.h"
#include "layers/basic.h"
#include "core/ops.h"
#include "layers/optim/adamw.h"
#include "layers/optim/lbfgs.h"
#include "layers/optim/schedule.h"
#include "layers/optim/sgd.h"
#include "layers/sequential.h"
#include "vididi/eval/finetune.h"

namespace vd::eval {

void validate(const HeadTrainOptions& o, const char* who) {
  VD_CHECK(o.epochs >= 1 && o.batch >= 1 && o.lr > 0 && o.patience >= 1 && o.tolerance >= 0 && o.decays >= 0,
           who << ": expected epochs, batch, patience >= 1, lr > 0, tolerance, decays >= 0, got epochs " << o.epochs
               << ", batch " << o.batch << ", patience " << o.patience << ", lr " << o.lr);
  VD_CHECK(o.solver == "lbfgs" || o.solver == "minibatch",
           who << ": expected solver lbfgs or minibatch, got '" << o.solver << "'");
  VD_CHECK(o.schedule == "plateau" || o.schedule == "cosine",
           who << ": expected schedule plateau or cosine, got '" << o.schedule << "'");
  VD_CHECK(o.optimizer == "adamw" || o.optimizer == "sgd",
           who << ": expected optimizer adamw or sgd, got '" << o.optimizer << "'");
  VD_CHECK(o.dropout >= 0 && o.dropout < 1, who << ": expected 0 <= dropout < 1, got " << o.dropout);
}

EpochSchedule::EpochSchedule(const HeadTrainOptions& o, int64_t steps_per_epoch) : o_(o), per_epoch_(steps_per_epoch) {
  validate(o, "EpochSchedule");
}

double EpochSchedule::lr(int64_t step) const {
  if (o_.schedule == "plateau") return o_.lr * scale_;
  return optim::WarmupCosine(o_.lr, 0.0, 0, per_epoch_ * o_.epochs)(step);
}

bool EpochSchedule::end_epoch(double loss) {
  ++epochs_;
  if (o_.schedule == "cosine") {
    if (epochs_ >= o_.epochs) reason_ = "fixed schedule: " + std::to_string(o_.epochs) + " epochs, cosine";
    return epochs_ < o_.epochs;
  }
  if (loss < best_ - o_.tolerance) best_ = loss, bad_ = 0;
  else ++bad_;
  if (bad_ >= o_.patience) {
    if (decays_ < o_.decays) {
      ++decays_, scale_ /= 10, bad_ = 0;
    } else {
      std::ostringstream os;
      os << "converged: the training loss improved by less than " << o_.tolerance << " for " << o_.patience
         << " epochs after " << o_.decays << " learning-rate decays";
      reason_ = os.str();
      return false;
    }
  }
  if (epochs_ >= o_.epochs) {
    reason_ = "max epochs (" + std::to_string(o_.epochs) + ") reached before the loss stopped improving";
    return false;
  }
  return true;
}

std::shared_ptr<nn::Module> make_head(int64_t in, int64_t hidden, int64_t classes, Generator& gen) {
  auto seq = std::make_shared<nn::Sequential>();
  if (hidden > 0) {
    seq->push_back(std::make_shared<nn::Linear>(in, hidden, &gen));
    seq->push_back(std::make_shared<nn::ReLU>());
    seq->push_back(std::make_shared<nn::Linear>(hidden, classes, &gen));
  } else {
    seq->push_back(std::make_shared<nn::Linear>(in, classes, &gen));
  }
  return seq;
}

Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y) {
  VD_CHECK(z.shape() == y.shape(), "binary_cross_entropy_with_logits: logits " << describe(z) << " and targets "
                                                                               << describe(y) << " differ in shape");
  return mean(relu(z) - z * y + log(1.0 + exp(-abs(z))));
}

Tensor head_loss(const Tensor& logits, const HeadTargets& y, const std::vector<int64_t>& rows) {
  if (!y.multi_label()) {
    std::vector<int64_t> l;
    for (int64_t r : rows) l.push_back(y.labels[size_t(r)]);
    return cross_entropy(logits, l);
  }
  std::vector<float> t;
  for (int64_t r : rows) t.insert(t.end(), y.multi_hot.begin() + r * y.classes, y.multi_hot.begin() + (r + 1) * y.classes);
  return binary_cross_entropy_with_logits(logits, Tensor::from_vector(t, logits.shape(), logits.device()));
}

namespace {
int64_t correct_top1(const std::vector<double>& z, int64_t K, const HeadTargets& y, const std::vector<int64_t>& rows) {
  int64_t correct = 0;
  for (size_t j = 0; j < rows.size(); ++j) {
    const double* zj = z.data() + j * size_t(K);
    if (std::max_element(zj, zj + K) - zj == y.labels[size_t(rows[j])]) ++correct;
  }
  return correct;
}

// Full-batch L-BFGS on the head's flattened parameters.
HeadTrainResult train_head_lbfgs(nn::Module& head, const std::vector<float>& x, int64_t D, const HeadTargets& y,
                                 const HeadTrainOptions& o, const std::function<void(const EpochStats&)>& on_epoch) {
  const int64_t N = y.size(), K = y.classes, chunk = 16384;
  nn::NamedTensors params = head.named_parameters();
  std::vector<double> w;
  for (auto& [name, p] : params)
    for (double v : p.to_vector()) w.push_back(v);
  // The features in chunks on the device, built once.
  std::vector<Tensor> xs;
  std::vector<std::vector<int64_t>> rows;
  for (int64_t b0 = 0; b0 < N; b0 += chunk) {
    const int64_t B = std::min(chunk, N - b0);
    xs.push_back(Tensor::from_vector(std::vector<float>(x.begin() + b0 * D, x.begin() + (b0 + B) * D), {B, D}, o.device));
    rows.emplace_back();
    for (int64_t i = b0; i < b0 + B; ++i) rows.back().push_back(i);
  }
  double last_loss = 0, last_acc = NAN;
  auto f = [&](const std::vector<double>& v, std::vector<double>& g) {
    size_t at = 0;
    double penalty = 0;
    {
      autograd::NoGradGuard no_grad;
      for (auto& [name, p] : params) {
        std::vector<double> part(v.begin() + long(at), v.begin() + long(at + size_t(p.numel())));
        if (p.dim() >= 2)
          for (double u : part) penalty += 0.5 * o.weight_decay * u * u;
        Tensor src = Tensor::from_vector(part, p.shape(), p.device());
        ops::copy_(p, src);
        p.zero_grad();
        at += size_t(p.numel());
      }
    }
    double loss = 0;
    int64_t correct = 0;
    for (size_t c = 0; c < xs.size(); ++c) {
      Tensor logits = head.forward(xs[c]);
      Tensor l = head_loss(logits, y, rows[c]) * (double(rows[c].size()) / double(N));
      loss += l.item();
      l.backward();
      if (!y.multi_label()) correct += correct_top1(logits.to_vector(), K, y, rows[c]);
    }
    at = 0;
    for (auto& [name, p] : params) {
      const std::vector<double> gp = p.grad().to_vector();
      for (size_t i = 0; i < gp.size(); ++i) g[at + i] = gp[i] + (p.dim() >= 2 ? o.weight_decay * v[at + i] : 0.0);
      at += gp.size();
    }
    last_loss = loss;
    last_acc = y.multi_label() ? NAN : double(correct) / double(N);
    return loss + penalty;
  };
  optim::LbfgsOptions lo;
  lo.max_iterations = o.epochs;
  HeadTrainResult r;
  head.train();
  const optim::LbfgsResult lr = optim::lbfgs_minimize(f, w, lo, [&](int it, double, double step) {
    EpochStats st;
    st.epoch = it - 1;
    st.loss = last_loss;
    st.lr = step;
    st.train_accuracy = last_acc;
    r.epochs.push_back(st);
    if (on_epoch) on_epoch(st);
  });
  std::vector<double> g(w.size());
  f(w, g);  // the parameters hold the solution
  for (auto& [name, p] : params) p.zero_grad();
  r.passes = lr.evaluations + 1;
  std::ostringstream os;
  os << (lr.converged ? "converged" : "stopped") << " (L-BFGS: " << lr.reason << ", " << lr.iterations
     << " iterations, " << lr.evaluations << " passes, max |gradient| " << lr.gradient_max << ")";
  r.stop_reason = os.str();
  head.eval();
  return r;
}
}  // namespace

HeadTrainResult train_head(nn::Module& head, const std::vector<float>& x, int64_t D, const HeadTargets& y,
                           const HeadTrainOptions& o, const std::function<void(const EpochStats&)>& on_epoch) {
  validate(o, "train_head");
  const int64_t N = y.size(), K = y.classes;
  VD_CHECK(N >= 1 && D >= 1 && int64_t(x.size()) == N * D,
           "train_head: expected features [" << N << ", " << D << "], got " << x.size() << " values");
  if (o.solver == "lbfgs") return train_head_lbfgs(head, x, D, y, o, on_epoch);
  std::unique_ptr<optim::Optimizer> opt;
  if (o.optimizer == "adamw")
    opt = std::make_unique<optim::AdamW>(head.named_parameters(), optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  else
    opt = std::make_unique<optim::SGD>(head.named_parameters(),
                                       optim::SGDOptions(o.lr).momentum(0.9).weight_decay(o.weight_decay));
  const int64_t per_epoch = (N + o.batch - 1) / o.batch;
  EpochSchedule sched(o, per_epoch);
  Generator gen(o.seed);
  std::vector<int64_t> order(static_cast<size_t>(N));
  HeadTrainResult r;
  int64_t step = 0;
  head.train();
  for (bool more = true; more;) {
    for (int64_t i = 0; i < N; ++i) order[size_t(i)] = i;
    for (int64_t i = N - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(gen.randint(i + 1))]);
    double loss_sum = 0, correct = 0;
    EpochStats st;
    st.epoch = sched.epochs_done();
    st.lr = sched.lr(step);
    for (int64_t b0 = 0; b0 < N; b0 += o.batch) {
      const int64_t B = std::min<int64_t>(o.batch, N - b0);
      std::vector<float> xb(static_cast<size_t>(B * D));
      std::vector<int64_t> rows(order.begin() + b0, order.begin() + b0 + B);
      for (int64_t j = 0; j < B; ++j) std::copy_n(x.begin() + rows[size_t(j)] * D, D, xb.begin() + j * D);
      Tensor xt = Tensor::from_vector(xb, {B, D}, o.device);
      opt->set_lr(sched.lr(step));
      opt->zero_grad();
      Tensor logits = head.forward(dropout(xt, o.dropout, gen));
      Tensor loss = head_loss(logits, y, rows);
      const double l = loss.item();
      VD_CHECK(std::isfinite(l), "train_head: the loss is " << l << " at epoch " << st.epoch << "; hint: lower --lr");
      loss.backward();
      opt->step();
      loss_sum += l * double(B);
      if (!y.multi_label()) correct += double(correct_top1(logits.to_vector(), K, y, rows));
      ++step;
    }
    st.loss = loss_sum / double(N);
    st.train_accuracy = y.multi_label() ? NAN : correct / double(N);
    r.epochs.push_back(st);
    ++r.passes;
    more = sched.end_epoch(st.loss);
    if (on_epoch) on_epoch(st);
  }
  r.stop_reason = sched.stop_reason();
  head.eval();
  return r;
}

std::vector<float> head_logits(nn::Module& head, const std::vector<float>& x, int64_t D, Device device) {
  head.eval();
  autograd::NoGradGuard no_grad;
  const int64_t N = int64_t(x.size()) / D;
  std::vector<float> out;
  for (int64_t b0 = 0; b0 < N; b0 += 1024) {
    const int64_t B = std::min<int64_t>(1024, N - b0);
    std::vector<float> xb(x.begin() + b0 * D, x.begin() + (b0 + B) * D);
    for (double v : head.forward(Tensor::from_vector(xb, {B, D}, device)).to_vector()) out.push_back(float(v));
  }
  return out;
}

Standardizer Standardizer::fit(const std::vector<float>& x, int64_t D) {
  const int64_t N = int64_t(x.size()) / D;
  VD_CHECK(N >= 1, "Standardizer::fit: expected at least one row of " << D << " values, got " << x.size());
  Standardizer s;
  s.mean.assign(size_t(D), 0.0), s.sd.assign(size_t(D), 0.0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) s.mean[size_t(d)] += x[size_t(i * D + d)];
  for (auto& m : s.mean) m /= double(N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) {
      const double v = x[size_t(i * D + d)] - s.mean[size_t(d)];
      s.sd[size_t(d)] += v * v;
    }
  for (auto& v : s.sd) v = std::sqrt(v / double(N)) + 1e-6;
  return s;
}

void Standardizer::apply(std::vector<float>& x) const {
  const size_t D = mean.size();
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((x[i] - mean[i % D]) / sd[i % D]);
}

}  // namespace vd::eval
