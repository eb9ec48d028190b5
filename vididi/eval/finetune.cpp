// vididi/eval/finetune.cpp: the fine-tuning loop (augmented clips -> encoder
// -> dropout -> head -> cross-entropy) and its 10-clip video top-1.
#include "vididi/eval/finetune.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/functions.h"
#include "core/random.h"
#include "data/loader.h"
#include "layers/optim/adamw.h"
#include "layers/optim/schedule.h"
#include "layers/optim/sgd.h"
#include "vididi/eval/features.h"
#include "vididi/models/encoder.h"

namespace vd::eval {

Tensor dropout(const Tensor& x, double p, Generator& gen) {
  VD_CHECK(p >= 0 && p < 1, "dropout: expected 0 <= p < 1, got " << p);
  if (p == 0) return x;
  std::vector<float> mask(size_t(x.numel()));
  const float keep = float(1.0 / (1.0 - p));
  for (auto& m : mask) m = gen.uniform() < p ? 0.f : keep;
  return mul(x, Tensor::from_vector(mask, x.shape(), x.device()));
}

namespace {
// The encoder followed by its head, so that extract_features gives logits.
class LogitsOf : public nn::Module {
 public:
  explicit LogitsOf(models::Encoder& e) : nn::Module("LogitsOf"), e_(e) {}
  Tensor forward(const Tensor& x) override { return e_.logits(x); }
  void train(bool on) override {
    nn::Module::train(on);
    e_.train(on);
  }

 private:
  models::Encoder& e_;
};
}  // namespace

FinetuneResult finetune(models::Encoder& encoder, std::shared_ptr<const data::VideoSource> train,
                        std::shared_ptr<const data::VideoSource> test, const FinetuneOptions& o) {
  VD_CHECK(encoder.has_head(), "finetune: expected an encoder with a classification head, got none; "
                               "hint: build it with EncoderOptions.num_classes = the dataset's classes");
  VD_CHECK(o.epochs >= 1 && o.batch >= 2 && o.lr > 0,
           "finetune: expected epochs >= 1, batch >= 2 (batch norm), lr > 0, got "
               << o.epochs << ", " << o.batch << ", " << o.lr);
  VD_CHECK(o.optimizer == "sgd" || o.optimizer == "adamw",
           "finetune: expected optimizer sgd or adamw, got '" << o.optimizer << "'");
  data::ClipConfig clip;
  clip.frames = o.clip.frames;
  clip.stride = o.clip.stride;
  clip.views = 1;
  clip.train = true;
  clip.augment = o.augment;
  clip.augment.out_h = clip.augment.out_w = o.clip.crop;
  clip.short_video = data::parse_short_video(o.clip.short_video);
  data::LoaderConfig lc;
  lc.batch_size = o.batch;
  lc.workers = o.workers;
  lc.seed = o.seed;
  lc.drop_last = true;
  data::Loader loader(train, clip, lc);
  const int64_t per_epoch = int64_t(loader.batches_per_epoch());
  VD_CHECK(per_epoch >= 1, "finetune: the train split has " << train->size() << " videos, fewer than one batch of "
                                                             << o.batch << "; hint: lower --batch");
  const int64_t total = per_epoch * o.epochs;

  std::unique_ptr<optim::Optimizer> opt;
  auto groups = optim::split_decay_groups(encoder, o.lr, o.weight_decay);
  if (o.optimizer == "sgd")
    opt = std::make_unique<optim::SGD>(groups, optim::SGDOptions(o.lr).momentum(0.9));
  else
    opt = std::make_unique<optim::AdamW>(groups, optim::AdamWOptions(o.lr));
  optim::WarmupCosine lr(o.lr, 0.0, int64_t(o.warmup_epochs * double(per_epoch)), total);

  Generator gen(o.seed ^ 0x5eedf00dULL);
  FinetuneResult r;
  int64_t step = 0;
  encoder.train();
  for (int e = 0; e < o.epochs; ++e) {
    double epoch_loss = 0, correct = 0, seen = 0, batches = 0;
    loader.start_epoch(e);
    data::Batch b;
    while (loader.next(b)) {
      const data::ViewBatch& v = b.views.at(0);
      Tensor x = Tensor::empty({v.N, v.T, v.H, v.W, v.C});
      std::memcpy(x.data<float>(), v.data.get(), v.numel() * sizeof(float));
      if (!o.device.is_cpu()) x = x.to(o.device);
      std::vector<int64_t> y(b.labels.begin(), b.labels.end());
      opt->set_lr(lr(step));
      opt->zero_grad();
      Tensor logits = encoder.classify(dropout(encoder.forward(x), o.dropout, gen));
      Tensor loss = cross_entropy(logits, y);
      const double l = loss.item();
      const std::vector<double> z = logits.to_vector();
      const int64_t K = logits.size(1);
      for (size_t j = 0; j < y.size(); ++j) {
        const double* zj = z.data() + j * size_t(K);
        correct += (std::max_element(zj, zj + K) - zj) == y[j];
      }
      seen += double(y.size());
      epoch_loss += l;
      batches += 1;
      VD_CHECK(std::isfinite(l), "finetune: the loss is " << l << " at step " << step
                                                          << "; hint: lower --lr");
      loss.backward();
      opt->step();
      r.step_loss.push_back(l);
      if (o.on_step) o.on_step(step, total, l);
      ++step;
    }
    r.epoch_loss.push_back(batches ? epoch_loss / batches : NAN);
    r.epoch_train_accuracy.push_back(seen ? correct / seen : NAN);
  }
  r.steps = step;

  ExtractOptions eo;
  eo.clip = o.clip;
  eo.batch = o.batch;
  eo.workers = o.workers;
  eo.device = o.device;
  LogitsOf logits(encoder);
  VideoFeatures f = extract_features(logits, test, eo);
  r.top1 = top1_from_logits(f.data, f.videos, f.clips, f.dim, f.labels);
  r.video_predicted = video_predictions(f.data, f.videos, f.clips, f.dim);
  r.test_labels = f.labels;
  r.classes = f.dim;
  r.test_logits = std::move(f.data);
  return r;
}

}  // namespace vd::eval
