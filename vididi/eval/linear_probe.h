// vididi/eval/linear_probe.h: the linear probe of DESIGN.md §7 on cached
// features: a linear classifier (nn::Linear, cross-entropy, SGD or AdamW with
// a cosine learning rate) trained on the pooled features of every evaluation
// clip of the train videos, scored on the test videos' clips. Features are
// standardised with the train set's per-dimension mean and std. Also the
// top-1 scoring shared with fine-tuning: clip top-1 and video top-1 (the
// argmax of the mean of a video's clip logits; ties go to the lower class).
// Not here: running the encoder (features.h).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "vididi/eval/retrieval.h"

namespace vd::eval {

struct Top1 {
  double clip = 0, video = 0;  // fractions in [0, 1]
};
// logits: [videos, clips, classes] per clip; labels: [videos].
Top1 top1_from_logits(const std::vector<float>& logits, int64_t videos, int64_t clips,
                      int64_t classes, const std::vector<int>& labels);

struct LinearProbeOptions {
  int epochs = 10;
  int batch = 256;
  std::string optimizer = "adamw";  // "adamw" | "sgd" (momentum 0.9)
  double lr = 1e-3;                 // peak; cosine to 0 over all steps
  double weight_decay = 1e-4;
  uint64_t seed = 0;                // classifier init and shuffling
  Device device = Device::cpu();
  std::function<void(int epoch, double mean_loss)> on_epoch;  // may be empty
};

struct LinearProbeResult {
  Top1 top1;
  std::vector<double> epoch_loss;  // mean training loss per epoch
  int64_t train_samples = 0, test_videos = 0, classes = 0;
};

// train/test: features of the same encoder (same dim); labels index
// max(class_names.size(), max label + 1) classes.
LinearProbeResult linear_probe(const VideoFeatures& train, const VideoFeatures& test,
                               const LinearProbeOptions& options);

}  // namespace vd::eval
