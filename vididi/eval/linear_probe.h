// vididi/eval/linear_probe.h: the linear probe of DESIGN.md §7 on cached
// features: a linear classifier (nn::Linear, cross-entropy, SGD or AdamW;
// by default until the training loss stops improving, head_training.h)
// trained on the pooled features of every evaluation clip of the train
// videos, scored on the test videos' clips. Features are
// standardised with the train set's per-dimension mean and std. Also the
// top-1 scoring shared with fine-tuning: clip top-1 and video top-1 (the
// argmax of the mean of a video's clip logits; ties go to the lower class),
// per-class accuracy and the confusion matrix.
// Not here: running the encoder (features.h).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "vididi/eval/head_training.h"
#include "vididi/eval/retrieval.h"

namespace vd::eval {

struct Top1 {
  double clip = 0, video = 0;  // fractions in [0, 1]
};
// logits: [videos, clips, classes] per clip; labels: [videos].
Top1 top1_from_logits(const std::vector<float>& logits, int64_t videos, int64_t clips,
                      int64_t classes, const std::vector<int>& labels);

// Video-level predictions: the argmax of the mean of each video's clip
// logits (ties to the lower class), [videos].
std::vector<int> video_predictions(const std::vector<float>& logits, int64_t videos, int64_t clips, int64_t classes);
// confusion[true * classes + predicted] counts, [classes * classes].
std::vector<int64_t> confusion_matrix(const std::vector<int>& labels, const std::vector<int>& predicted,
                                      int64_t classes);
// Per class: correct / videos of that class (NaN for a class without videos).
std::vector<double> per_class_accuracy(const std::vector<int64_t>& confusion, int64_t classes);

struct LinearProbeOptions {
  // epochs (a maximum: by default training stops when the loss stops
  // improving, head_training.h), schedule, batch, optimizer, lr, weight
  // decay, seed (classifier init and shuffling), device.
  HeadTrainOptions train;
  // After each epoch (L-BFGS: iteration): its statistics, and the test
  // split's top-1 then when it was measured (epochs 1-10, then every 10th;
  // else null).
  std::function<void(const EpochStats&, const Top1* test)> on_epoch;  // may be empty
};

struct LinearProbeResult {
  Top1 top1;
  std::vector<EpochStats> epochs;   // per epoch: mean training loss, train clip accuracy, lr
  // (epoch, the test split's top-1 after it) for epochs 1-10, then every 10th (curves).
  std::vector<std::pair<int, Top1>> test_per_epoch;
  std::string stop_reason;
  std::vector<float> test_logits;   // [test videos, clips, classes], after training
  std::vector<int> video_predicted; // [test videos]
  int64_t train_samples = 0, test_videos = 0, classes = 0;
  int64_t passes = 0;               // full passes over the train features
  int epochs_used() const { return int(epochs.size()); }
};

// train/test: features of the same encoder (same dim); labels index
// max(class_names.size(), max label + 1) classes.
LinearProbeResult linear_probe(const VideoFeatures& train, const VideoFeatures& test,
                               const LinearProbeOptions& options);

}  // namespace vd::eval
