// vididi/eval/linear_probe.cpp: standardisation, the linear classifier on
// cached clip features (trained by head_training.h), top-1 scoring, the
// confusion matrix.
#include "vididi/eval/linear_probe.h"

#include <algorithm>
#include <cmath>

#include "core/random.h"

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

std::vector<int> video_predictions(const std::vector<float>& logits, int64_t videos, int64_t clips, int64_t classes) {
  VD_CHECK(int64_t(logits.size()) == videos * clips * classes,
           "video_predictions: expected logits [" << videos << ", " << clips << ", " << classes << "], got "
                                                  << logits.size() << " values");
  std::vector<int> pred;
  std::vector<float> mean(static_cast<size_t>(classes));
  for (int64_t v = 0; v < videos; ++v) {
    std::fill(mean.begin(), mean.end(), 0.f);
    for (int64_t c = 0; c < clips; ++c)
      for (int64_t k = 0; k < classes; ++k) mean[size_t(k)] += logits[size_t((v * clips + c) * classes + k)] / float(clips);
    pred.push_back(int(argmax(mean.data(), classes)));
  }
  return pred;
}

std::vector<int64_t> confusion_matrix(const std::vector<int>& labels, const std::vector<int>& predicted,
                                      int64_t classes) {
  VD_CHECK(labels.size() == predicted.size(), "confusion_matrix: " << labels.size() << " labels and "
                                                                   << predicted.size() << " predictions");
  std::vector<int64_t> m(size_t(classes * classes), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    VD_CHECK(labels[i] >= 0 && labels[i] < classes && predicted[i] >= 0 && predicted[i] < classes,
             "confusion_matrix: label " << labels[i] << " or prediction " << predicted[i] << " outside [0, " << classes << ")");
    ++m[size_t(labels[i] * classes + predicted[i])];
  }
  return m;
}

std::vector<double> per_class_accuracy(const std::vector<int64_t>& m, int64_t classes) {
  std::vector<double> acc;
  for (int64_t k = 0; k < classes; ++k) {
    int64_t n = 0;
    for (int64_t j = 0; j < classes; ++j) n += m[size_t(k * classes + j)];
    acc.push_back(n ? double(m[size_t(k * classes + k)]) / double(n) : NAN);
  }
  return acc;
}

LinearProbeResult linear_probe(const VideoFeatures& train, const VideoFeatures& test,
                               const LinearProbeOptions& o) {
  train.validate("linear_probe (train)");
  test.validate("linear_probe (test)");
  VD_CHECK(train.dim == test.dim, "linear_probe: train features have dim " << train.dim << ", test "
                                      << test.dim << "; hint: extract both with the same encoder");
  VD_CHECK(train.videos > 0 && test.videos > 0, "linear_probe: expected train and test videos, got "
                                                     << train.videos << " and " << test.videos);
  validate(o.train, "linear_probe");
  const int64_t D = train.dim, K = class_count(train, test), N = train.videos * train.clips;

  // Per-dimension standardisation with the train set's statistics.
  std::vector<float> xtr = train.data, xte = test.data;
  const Standardizer st = Standardizer::fit(xtr, D);
  st.apply(xtr);
  st.apply(xte);

  Generator gen(o.train.seed);
  std::shared_ptr<nn::Module> head = make_head(D, 0, K, gen);
  head->to(o.train.device);
  HeadTargets y;
  y.classes = K;
  for (int64_t i = 0; i < N; ++i) y.labels.push_back(train.labels[size_t(i / train.clips)]);

  LinearProbeResult r;
  r.train_samples = N;
  r.test_videos = test.videos;
  r.classes = K;
  auto score = [&] {
    r.test_logits = head_logits(*head, xte, D, o.train.device);
    return top1_from_logits(r.test_logits, test.videos, test.clips, K, test.labels);
  };
  HeadTrainResult h = train_head(*head, xtr, D, y, o.train, [&](const EpochStats& e) {
    const Top1* t = nullptr;
    if (e.epoch < 10 || (e.epoch + 1) % 10 == 0) {
      r.test_per_epoch.emplace_back(e.epoch + 1, score());
      head->train();
      t = &r.test_per_epoch.back().second;
    }
    if (o.on_epoch) o.on_epoch(e, t);
  });
  r.epochs = h.epochs;
  r.stop_reason = h.stop_reason;
  r.passes = h.passes;
  r.top1 = score();
  r.video_predicted = video_predictions(r.test_logits, test.videos, test.clips, K);
  return r;
}

}  // namespace vd::eval
