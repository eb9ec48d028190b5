// vididi/eval/detection_head.h: the detection head of docs/PROTOCOLS.md
// "Detection" (SlowFast's AVA head, VideoGLUE's frozen-backbone
// localisation): a clip of T frames centred on a keyframe, the encoder's
// last feature map averaged over time, RoIAlign of each box (bins PxP, then
// the maximum over the bins), and a linear head or a two-layer MLP trained
// with softmax cross-entropy (one label per box) or sigmoid binary
// cross-entropy (AVA's multi-label boxes). By default the encoder is frozen
// and the RoI features of the train boxes are computed once and cached, then
// standardised as the linear probe's; `finetune` trains the encoder too.
// Trained on ground-truth boxes; scores any boxes given (ground truth or a
// detector's). Not here: the metrics (detection_metrics.h), linking into
// tubes (detection_link.h), what the command reports (detection_eval.h).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/detection_set.h"
#include "vididi/eval/head_training.h"

namespace vd::models {
class Encoder;
}

namespace vd::eval {

struct DetectionOptions {
  int frames = 8, stride = 1;  // the clip: `frames` frames `stride` apart, centred on the keyframe
  int short_side = 112;        // frames resized, aspect kept, no crop: the short side becomes this
  int roi_size = 7;            // RoIAlign bins per side (then max over the bins)
  int sampling_ratio = 0;      // RoIAlign samples per bin side (0: adaptive, torchvision's default)
  int64_t hidden = 0;          // 0: a linear head; > 0: Linear-ReLU-Linear with this width
  bool finetune = false;       // false: frozen encoder, cached RoI features; true: train it too
  int batch = 8;               // clips per encoder pass (fine-tuning: per step, >= 2)
  int workers = 0;             // threads loading clips (0 = one per core)
  HeadTrainOptions train;      // the head's (and, fine-tuning, the encoder's) training
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};
void validate(const DetectionOptions& o);

// The clip of a keyframe: frames keyframe + (i - T/2) stride for i < T,
// clamped to [0, num_frames) (SlowFast's AVA sequence).
std::vector<int> keyframe_clip_frames(int num_frames, int keyframe, int frames, int stride);

// One clip to run: a keyframe and the boxes (annotation coordinates) to pool.
struct RoiRequest {
  size_t video = 0;
  int frame = 0;
  std::vector<data::Box> boxes;
};

// Clips of requests, loaded and normalised (data/augment.h's mean and std):
// x [B, T, h, w, 3] with every clip of one input size, and rois [R, 5] rows
// (clip, x1, y1, x2, y2) in input pixels, boxes in request order.
struct ClipBatch {
  Tensor x;
  std::vector<float> rois;
  int64_t boxes = 0;
  std::vector<size_t> requests;  // indices into the request list
};
// Calls `fn` on the requests [0, n) in batches of at most o.batch clips of
// one input size (a batch is cut where the size changes), in `order`.
void for_each_batch(const data::DetectionSplit& split, const std::vector<RoiRequest>& requests,
                    const std::vector<size_t>& order, const DetectionOptions& o,
                    const std::function<void(const ClipBatch&)>& fn);

// The RoI features [R, C] of a batch: differentiable through the encoder
// when gradients are on. The map's spatial scale is its size over the
// input's, per axis.
Tensor roi_features(models::Encoder& encoder, const ClipBatch& batch, const DetectionOptions& o);

// Frozen: [sum of boxes, C] features of every request's boxes, in order
// (eval mode, no-grad); sets *dim = C.
std::vector<float> extract_roi_features(models::Encoder& encoder, const data::DetectionSplit& split,
                                        const std::vector<RoiRequest>& requests, const DetectionOptions& o,
                                        int64_t* dim);

struct DetectorTraining {
  HeadTrainResult head;
  int64_t keyframes = 0, boxes = 0, dim = 0;
  double feature_seconds = 0, train_seconds = 0;
};

// The encoder (already on o.train.device) with a head of `classes` outputs.
class Detector {
 public:
  Detector(models::Encoder& encoder, int64_t classes, bool multi_label, const DetectionOptions& o);
  // Trains on the ground-truth boxes of the split's keyframes.
  DetectorTraining fit(const data::DetectionSplit& train);
  // Class probabilities [sum of boxes, classes] (softmax, or sigmoid when
  // multi-label) of every request's boxes, in order.
  std::vector<float> scores(const data::DetectionSplit& split, const std::vector<RoiRequest>& requests);
  int64_t classes() const { return classes_; }

 private:
  models::Encoder& encoder_;
  int64_t classes_;
  bool multi_label_;
  DetectionOptions o_;
  std::shared_ptr<nn::Module> head_;
  Standardizer standardizer_;  // frozen only
};

// The requests of a split's ground truth: its keyframes with boxes.
std::vector<RoiRequest> ground_truth_requests(const data::DetectionSplit& split);
// Targets of those requests' boxes, in order.
HeadTargets ground_truth_targets(const data::DetectionSplit& split, int64_t classes, bool multi_label);

}  // namespace vd::eval
