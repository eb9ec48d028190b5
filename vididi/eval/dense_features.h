// vididi/eval/dense_features.h: features along time for temporal action
// localisation (docs/PROTOCOLS.md "Dense features"): for a video of F
// frames, clip i takes T frames `stride` apart from frame i * S (S = the
// feature stride), evaluation crop and normalisation as retrieval's
// (data/augment.h eval_params), for i = 0 .. n - 1 with n = (F - span) / S
// + 1 (integer division; 1 when F <= span, the clip padded with the last
// frame); the encoder's pooled features of the clips, [n, D]. ActionFormer's
// and OpenTAD's feat_stride = S and num_frames = span. The encoder runs in
// eval mode under no-grad. Not here: the evaluation clips of retrieval
// (features.h) or writing files (vididi/npy.h).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "data/source.h"

namespace vd::models {
class Encoder;
}

namespace vd::eval {

struct DenseOptions {
  int frames = 16, stride = 1;  // T and the frame step inside a clip
  int feature_stride = 4;       // S: frames between consecutive clips
  int crop = 112;               // centre crop side (frames smaller than it are resized)
  int batch = 16;               // clips per forward pass
  Device device = Device::cpu();
};

// The clip starts of a video of `num_frames` frames.
std::vector<int> dense_clip_starts(int num_frames, const DenseOptions& o);

// [n, D] features of video `video` of `source` (row-major).
std::vector<float> dense_features(models::Encoder& encoder, const data::VideoSource& source, size_t video,
                                  const DenseOptions& o, int64_t* rows);

}  // namespace vd::eval
