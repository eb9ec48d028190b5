// vididi/eval/features.cpp: evaluation-clip feature extraction with the data
// layer's loader (eval mode: evenly spaced clips, centre crop) and a frozen
// encoder under no-grad.
#include "vididi/eval/features.h"

#include <cstring>

#include "autograd/node.h"
#include "core/ops.h"
#include "data/loader.h"
#include "dist/communicator.h"
#include "layers/batchnorm.h"
#include "layers/module.h"
#include "vididi/derivatives.h"

namespace vd::eval {

namespace {
// v: [N, T + k, H, W, C] floats on the host -> a tensor on `device`.
Tensor view_to_tensor(const data::ViewBatch& v, Device device) {
  Tensor t = Tensor::empty({v.N, v.T, v.H, v.W, v.C});
  std::memcpy(t.data<float>(), v.data.get(), v.numel() * sizeof(float));
  return device.is_cpu() ? t : t.to(device);
}

// A batch's clips as the encoder's input: [N, T, H, W, C] of order o.order,
// on o.device.
Tensor encoder_input(const data::Batch& batch, const ExtractOptions& o) {
  Tensor x = view_to_tensor(batch.views.at(0), o.device);
  if (o.order > 0 || batch.views[0].T != o.clip.frames) x = vididi::derivative_view(x, o.order, o.clip.frames);
  return x;
}

// A loader over the evaluation clips of `source` (checks the options first).
std::unique_ptr<data::Loader> eval_loader(const char* who, std::shared_ptr<const data::VideoSource> source,
                                          const ExtractOptions& o, bool shuffle, uint64_t seed) {
  VD_CHECK(source != nullptr, who << ": expected a dataset, got none");
  VD_CHECK(o.clip.clips >= 1 && o.clip.frames >= 1 && o.clip.stride >= 1 && o.batch >= 1 && o.order >= 0 &&
               o.order <= 2 && o.clip.crop >= 8,
           who << ": expected clips, frames, stride, batch >= 1, order in 0..2 and crop >= 8, got clips="
               << o.clip.clips << " frames=" << o.clip.frames << " stride=" << o.clip.stride << " batch=" << o.batch
               << " order=" << o.order << " crop=" << o.clip.crop);
  data::ClipConfig clip;
  clip.frames = o.clip.frames;
  clip.extra_frames = o.order;
  clip.stride = o.clip.stride;
  clip.train = false;
  clip.eval_clips = o.clip.clips;
  clip.augment.out_h = clip.augment.out_w = o.clip.crop;
  clip.short_video = data::parse_short_video(o.clip.short_video);
  data::LoaderConfig lc;
  lc.batch_size = o.batch;
  lc.workers = o.workers;
  lc.shuffle = shuffle;
  lc.drop_last = false;
  lc.seed = seed;
  return std::make_unique<data::Loader>(source, clip, lc);
}

// Videos r, r + W, r + 2W, ... of a source: one rank's share of an evaluation.
class Shard : public data::VideoSource {
 public:
  Shard(std::shared_ptr<const data::VideoSource> all, size_t rank, size_t world)
      : all_(std::move(all)), rank_(rank), world_(world) {}
  size_t size() const override { return (all_->size() - rank_ + world_ - 1) / world_; }
  int num_classes() const override { return all_->num_classes(); }
  const std::vector<std::string>& class_names() const override { return all_->class_names(); }
  int label(size_t v) const override { return all_->label(whole(v)); }
  int num_frames(size_t v) const override { return all_->num_frames(whole(v)); }
  std::string name(size_t v) const override { return all_->name(whole(v)); }
  data::Clip load(size_t v, const std::vector<int>& frames) const override { return all_->load(whole(v), frames); }
  size_t whole(size_t v) const { return rank_ + v * world_; }

 private:
  std::shared_ptr<const data::VideoSource> all_;
  size_t rank_, world_;
};

// Each rank encodes its shard; the shards' features, padded to one length,
// are all-gathered and put back in the source's order.
VideoFeatures extract_sharded(nn::Module& encoder, std::shared_ptr<const data::VideoSource> source,
                              const ExtractOptions& o) {
  dist::Communicator& comm = *o.comm;
  const size_t W = size_t(comm.world_size()), V = source->size();
  if (V < W)
    throw UsageError("the split has " + std::to_string(V) + " videos for " + std::to_string(W) +
                     " ranks; hint: evaluate with fewer ranks");
  ExtractOptions local_o = o;
  local_o.comm = nullptr;
  VideoFeatures mine = extract_features(encoder, std::make_shared<Shard>(source, size_t(comm.rank()), W), local_o);
  const int64_t per = int64_t((V + W - 1) / W), row = mine.clips * mine.dim;
  Tensor buf = Tensor::zeros({per, mine.clips, mine.dim});
  std::memcpy(buf.data<float>(), mine.data.data(), mine.data.size() * sizeof(float));
  if (comm.device().is_cuda()) buf = buf.to(comm.device());
  Tensor all = comm.all_gather(buf);  // [W * per, clips, dim]
  if (!all.device().is_cpu()) all = all.to(Device::cpu());
  all = ops::contiguous(all);
  VideoFeatures f;
  f.videos = int64_t(V), f.clips = mine.clips, f.dim = mine.dim;
  f.class_names = source->class_names();
  f.data.resize(size_t(f.videos * row));
  for (size_t v = 0; v < V; ++v) {
    f.labels.push_back(source->label(v));
    f.names.push_back(source->name(v));
    const size_t r = v % W, i = v / W;  // video v is row i of rank r's shard
    std::memcpy(f.data.data() + v * size_t(row), all.data<float>() + (r * size_t(per) + i) * size_t(row),
                size_t(row) * sizeof(float));
  }
  return f;
}
}  // namespace

VideoFeatures extract_features(nn::Module& encoder, std::shared_ptr<const data::VideoSource> source,
                               const ExtractOptions& o) {
  if (o.comm && o.comm->world_size() > 1) return extract_sharded(encoder, source, o);
  std::unique_ptr<data::Loader> loader = eval_loader("extract_features", source, o, false, 0);

  VideoFeatures f;
  f.videos = int64_t(source->size());
  f.clips = o.clip.clips;
  f.class_names = source->class_names();
  for (size_t v = 0; v < source->size(); ++v) {
    f.labels.push_back(source->label(v));
    f.names.push_back(source->name(v));
  }
  const int64_t total = f.videos * f.clips;
  int64_t done = 0;

  encoder.eval();
  autograd::NoGradGuard no_grad;
  loader->start_epoch(0);
  data::Batch batch;
  while (loader->next(batch)) {
    Tensor y = encoder.forward(encoder_input(batch, o));  // [N, D]
    VD_CHECK(y.dim() == 2 && y.size(0) == batch.views[0].N,
             "extract_features: expected the encoder to give [N, D] with N = "
                 << batch.views[0].N << ", got " << describe(y)
                 << "; hint: pass an encoder whose forward pools its features");
    if (f.dim == 0) {
      f.dim = y.size(1);
      f.data.assign(size_t(total * f.dim), 0.f);
    }
    std::vector<double> h = y.to_vector();
    for (int n = 0; n < batch.views[0].N; ++n) {
      const int64_t v = batch.video_ids[n], c = batch.clip_ids[n];
      float* dst = f.data.data() + (v * f.clips + c) * f.dim;
      for (int64_t d = 0; d < f.dim; ++d) dst[d] = float(h[size_t(n * f.dim + d)]);
    }
    done += batch.views[0].N;
    if (o.progress) o.progress(done, total);
  }
  VD_CHECK(done == total, "extract_features: expected " << total << " clips from the loader, got " << done);
  return f;
}

int64_t recalibrate_batch_norm(nn::Module& encoder, std::shared_ptr<const data::VideoSource> source,
                               const ExtractOptions& o, uint64_t seed) {
  std::unique_ptr<data::Loader> loader = eval_loader("recalibrate_batch_norm", source, o, true, seed);
  VD_CHECK(o.batch >= 2 && source->size() * size_t(o.clip.clips) >= 2,
           "recalibrate_batch_norm: expected batches of two clips or more (batch statistics), got batch "
               << o.batch << " over " << source->size() << " videos x " << o.clip.clips
               << " clips; hint: raise --batch");
  std::vector<nn::BatchNormBase*> norms;
  encoder.apply([&](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNormBase*>(&m)) norms.push_back(bn);
  });
  autograd::NoGradGuard no_grad;
  for (nn::BatchNormBase* bn : norms) {
    ops::fill_(bn->running_mean, 0.0);
    ops::fill_(bn->running_var, 1.0);
    ops::fill_(bn->num_batches_tracked, 0.0);
    bn->cumulative = true;
  }
  encoder.train();
  int64_t batches = 0, clips = 0;
  loader->start_epoch(0);
  data::Batch batch;
  try {
    while (loader->next(batch)) {
      if (batch.views[0].N < 2) continue;  // batch statistics need two clips
      encoder.forward(encoder_input(batch, o));
      ++batches;
      clips += batch.views[0].N;
      if (o.progress) o.progress(clips, int64_t(source->size()) * o.clip.clips);
    }
  } catch (...) {
    for (nn::BatchNormBase* bn : norms) bn->cumulative = false;
    throw;
  }
  for (nn::BatchNormBase* bn : norms) bn->cumulative = false;
  encoder.eval();
  return batches;
}

}  // namespace vd::eval
