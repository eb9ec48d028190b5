// vididi/eval/dense_features.cpp: clips every S frames through a frozen
// encoder (see dense_features.h).
#include "vididi/eval/dense_features.h"

#include <algorithm>

#include "autograd/node.h"
#include "data/augment.h"
#include "data/sampling.h"
#include "vididi/models/encoder.h"

namespace vd::eval {

std::vector<int> dense_clip_starts(int num_frames, const DenseOptions& o) {
  VD_CHECK(o.frames >= 1 && o.stride >= 1 && o.feature_stride >= 1 && num_frames >= 1,
           "dense_clip_starts: expected frames, stride, feature_stride, num_frames >= 1, got " << o.frames << ", "
               << o.stride << ", " << o.feature_stride << ", " << num_frames);
  const int span = data::clip_span(o.frames, o.stride);
  const int n = num_frames <= span ? 1 : (num_frames - span) / o.feature_stride + 1;
  std::vector<int> s;
  for (int i = 0; i < n; ++i) s.push_back(i * o.feature_stride);
  return s;
}

std::vector<float> dense_features(models::Encoder& encoder, const data::VideoSource& source, size_t video,
                                  const DenseOptions& o, int64_t* rows) {
  VD_CHECK(o.batch >= 1 && o.crop >= 8, "dense_features: expected batch >= 1 and crop >= 8, got " << o.batch << ", " << o.crop);
  const int F = source.num_frames(video);
  const std::vector<int> starts = dense_clip_starts(F, o);
  data::AugmentConfig cfg;
  cfg.out_h = cfg.out_w = o.crop;
  encoder.eval();
  autograd::NoGradGuard no_grad;
  std::vector<float> out;
  const int64_t D = encoder.feature_dim();
  for (size_t b0 = 0; b0 < starts.size(); b0 += size_t(o.batch)) {
    const size_t B = std::min(starts.size() - b0, size_t(o.batch));
    Tensor x = Tensor::empty({int64_t(B), o.frames, o.crop, o.crop, 3});
    const size_t per = size_t(o.frames) * size_t(o.crop) * size_t(o.crop) * 3;
    for (size_t i = 0; i < B; ++i) {
      const data::Clip c = source.load(video, data::clip_frames(F, starts[b0 + i], o.frames, o.stride));
      data::apply_augment(c, data::eval_params(cfg, c.H, c.W), cfg, x.data<float>() + i * per);
    }
    if (!o.device.is_cpu()) x = x.to(o.device);
    for (double v : encoder.forward(x).to_vector()) out.push_back(float(v));
  }
  *rows = int64_t(starts.size());
  VD_CHECK(int64_t(out.size()) == *rows * D, "dense_features: expected " << *rows << " x " << D << " values");
  return out;
}

}  // namespace vd::eval
