// vididi/eval/finetune.h: fine-tuning (DESIGN.md §7): the whole encoder plus
// its classification head, trained with cross-entropy on augmented training
// clips (data/views.h, one view per video), dropout before the head, SGD or
// AdamW with linear warm-up and a cosine learning rate; scored as video top-1
// over the test split with 10-clip averaging of logits (and clip top-1). Not
// here: building the encoder or loading its weights (vididi/cli/).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/augment.h"
#include "data/source.h"
#include "vididi/config/train_config.h"
#include "vididi/eval/linear_probe.h"

namespace vd::models {
class Encoder;
}

namespace vd::eval {

struct FinetuneOptions {
  int epochs = 5;
  int batch = 8;
  vididi::ClipSpec clip;          // training clips (frames, stride, crop); clip.clips per test video
  std::string optimizer = "sgd";  // "sgd" (momentum 0.9) | "adamw"
  double lr = 0.05;               // peak, after warm-up; cosine to 0
  double weight_decay = 1e-4;
  double warmup_epochs = 1;
  double dropout = 0.5;           // on the pooled features, before the head
  uint64_t seed = 0;              // dropout masks and data order
  int workers = 0;
  Device device = Device::cpu();
  data::AugmentConfig augment;    // training augmentation (out size set from crop)
  // After each step: (step, total steps, loss).
  std::function<void(int64_t, int64_t, double)> on_step;
};

struct FinetuneResult {
  Top1 top1;
  std::vector<double> step_loss;
  // Per epoch: mean training loss and top-1 of the augmented training clips
  // as they were trained on (dropout on), for curves.
  std::vector<double> epoch_loss, epoch_train_accuracy;
  int64_t steps = 0;
  std::vector<float> test_logits;    // [test videos, clips, classes]
  std::vector<int> video_predicted;  // [test videos]: argmax of the mean clip logits
  std::vector<int> test_labels;      // [test videos]
  int64_t classes = 0;
};

// `encoder` must have a head (num_classes > 0) and live on options.device.
FinetuneResult finetune(models::Encoder& encoder, std::shared_ptr<const data::VideoSource> train,
                        std::shared_ptr<const data::VideoSource> test, const FinetuneOptions& options);

// Inverted dropout: x * mask / (1 - p), mask ~ Bernoulli(1 - p) drawn from
// `gen` on the host; differentiable in x. p = 0 returns x.
Tensor dropout(const Tensor& x, double p, Generator& gen);

}  // namespace vd::eval
