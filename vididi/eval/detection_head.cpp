// vididi/eval/detection_head.cpp: keyframe clips, RoI features, and the
// detector's training (frozen with cached features, or fine-tuned) and
// scoring (see detection_head.h).
#include "vididi/eval/detection_head.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "autograd/functions.h"
#include "autograd/node.h"
#include "core/random.h"
#include "data/augment.h"
#include "data/image.h"
#include "layers/optim/adamw.h"
#include "layers/optim/sgd.h"
#include "vididi/eval/finetune.h"
#include "vididi/models/encoder.h"

namespace vd::eval {

void validate(const DetectionOptions& o) {
  VD_CHECK(o.frames >= 1 && o.stride >= 1 && o.short_side >= 8 && o.roi_size >= 1 && o.sampling_ratio >= 0 &&
               o.hidden >= 0 && o.batch >= 1 && o.workers >= 0,
           "detection: expected frames, stride, roi_size, batch >= 1, short_side >= 8, sampling_ratio, hidden, "
           "workers >= 0, got frames " << o.frames << ", stride " << o.stride << ", short_side " << o.short_side
                                       << ", roi_size " << o.roi_size << ", batch " << o.batch);
  VD_CHECK(!o.finetune || o.batch >= 2, "detection: fine-tuning trains batch norm and needs batch >= 2, got "
                                            << o.batch << "; hint: raise --batch");
  validate(o.train, "detection");
}

std::vector<int> keyframe_clip_frames(int num_frames, int keyframe, int frames, int stride) {
  std::vector<int> f;
  for (int i = 0; i < frames; ++i) f.push_back(std::min(num_frames - 1, std::max(0, keyframe + (i - frames / 2) * stride)));
  return f;
}

namespace {
// A loaded clip resized so that its short side is o.short_side, normalised.
struct LoadedClip {
  int h = 0, w = 0;
  std::vector<float> px;  // [T, h, w, 3]
};

LoadedClip load_clip(const data::DetectionSplit& split, const RoiRequest& r, const DetectionOptions& o) {
  const int n = split.frames->num_frames(r.video);
  const data::Clip c = split.frames->load(r.video, keyframe_clip_frames(n, r.frame, o.frames, o.stride));
  const double s = double(o.short_side) / std::min(c.H, c.W);
  LoadedClip out;
  out.h = std::max(1, int(std::lround(c.H * s)));
  out.w = std::max(1, int(std::lround(c.W * s)));
  const data::AxisResampler ry = data::make_resampler(0, c.H, c.H, out.h), rx = data::make_resampler(0, c.W, c.W, out.w);
  const size_t frame = size_t(out.h) * out.w * 3;
  out.px.resize(frame * size_t(c.T));
  const data::AugmentConfig norm;
  for (int t = 0; t < c.T; ++t) {
    float* dst = out.px.data() + frame * size_t(t);
    data::resample(c.frame(t), c.H, c.W, 3, ry, rx, dst);
    for (size_t i = 0; i < frame; ++i) dst[i] = (dst[i] / 255.f - norm.mean[i % 3]) / norm.std[i % 3];
  }
  return out;
}

// Loads clips [0, n) of `ids` on up to `workers` threads; rethrows the first error.
std::vector<LoadedClip> load_clips(const data::DetectionSplit& split, const std::vector<RoiRequest>& req,
                                   const std::vector<size_t>& ids, const DetectionOptions& o) {
  std::vector<LoadedClip> out(ids.size());
  const int hw = std::max(1, int(std::thread::hardware_concurrency()));
  const size_t threads = std::min(ids.size(), size_t(o.workers > 0 ? o.workers : hw));
  std::exception_ptr error;
  std::mutex m;
  auto work = [&](size_t first) {
    for (size_t i = first; i < ids.size(); i += threads) try {
        out[i] = load_clip(split, req[ids[i]], o);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!error) error = std::current_exception();
      }
  };
  if (threads <= 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(work, t);
    for (auto& th : pool) th.join();
  }
  if (error) std::rethrow_exception(error);
  return out;
}
}  // namespace

void for_each_batch(const data::DetectionSplit& split, const std::vector<RoiRequest>& requests,
                    const std::vector<size_t>& order, const DetectionOptions& o,
                    const std::function<void(const ClipBatch&)>& fn) {
  for (size_t b0 = 0; b0 < order.size(); b0 += size_t(o.batch)) {
    const std::vector<size_t> ids(order.begin() + b0, order.begin() + std::min(order.size(), b0 + size_t(o.batch)));
    const std::vector<LoadedClip> clips = load_clips(split, requests, ids, o);
    for (size_t i0 = 0; i0 < ids.size();) {
      size_t i1 = i0 + 1;
      while (i1 < ids.size() && clips[i1].h == clips[i0].h && clips[i1].w == clips[i0].w) ++i1;
      const int h = clips[i0].h, w = clips[i0].w;
      ClipBatch b;
      b.x = Tensor::empty({int64_t(i1 - i0), o.frames, h, w, 3});
      float* x = b.x.data<float>();
      for (size_t i = i0; i < i1; ++i) {
        std::copy(clips[i].px.begin(), clips[i].px.end(), x + (i - i0) * clips[i].px.size());
        const RoiRequest& r = requests[ids[i]];
        b.requests.push_back(ids[i]);
        const double sx = w / split.width[r.video], sy = h / split.height[r.video];
        for (const data::Box& bx : r.boxes) {
          b.rois.insert(b.rois.end(), {float(i - i0), float(bx.x1 * sx), float(bx.y1 * sy), float(bx.x2 * sx),
                                       float(bx.y2 * sy)});
          ++b.boxes;
        }
      }
      if (!o.train.device.is_cpu()) b.x = b.x.to(o.train.device);
      fn(b);
      i0 = i1;
    }
  }
}

Tensor roi_features(models::Encoder& encoder, const ClipBatch& b, const DetectionOptions& o) {
  Tensor map = mean(encoder.feature_map(b.x), {1});  // [B, h', w', C]
  // Input pixels to map cells, per axis; then RoIAlign at scale 1.
  const double sy = double(map.size(1)) / double(b.x.size(2)), sx = double(map.size(2)) / double(b.x.size(3));
  std::vector<float> rois = b.rois;
  for (size_t i = 0; i < rois.size(); i += 5)
    rois[i + 1] *= float(sx), rois[i + 3] *= float(sx), rois[i + 2] *= float(sy), rois[i + 4] *= float(sy);
  RoiAlignParams p;
  p.pooled_h = p.pooled_w = o.roi_size;
  p.spatial_scale = 1.0;
  p.sampling_ratio = o.sampling_ratio;
  p.aligned = true;
  Tensor boxes = Tensor::from_vector(rois, {b.boxes, 5}, map.device());
  return amax(roi_align(contiguous(map), boxes, p), {1, 2});  // [R, C]
}

std::vector<float> extract_roi_features(models::Encoder& encoder, const data::DetectionSplit& split,
                                        const std::vector<RoiRequest>& requests, const DetectionOptions& o,
                                        int64_t* dim) {
  encoder.eval();
  autograd::NoGradGuard no_grad;
  std::vector<size_t> first(requests.size() + 1, 0);  // each request's first box
  for (size_t i = 0; i < requests.size(); ++i) first[i + 1] = first[i] + requests[i].boxes.size();
  std::vector<size_t> order(requests.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<float> out;
  int64_t C = encoder.feature_dim();
  out.assign(first.back() * size_t(C), 0.f);
  size_t done = 0, said = 0;
  for_each_batch(split, requests, order, o, [&](const ClipBatch& b) {
    if (b.boxes > 0) {
      const std::vector<double> f = roi_features(encoder, b, o).to_vector();
      size_t k = 0;
      for (size_t r : b.requests)
        for (size_t j = 0; j < requests[r].boxes.size(); ++j, ++k)
          for (int64_t c = 0; c < C; ++c) out[(first[r] + j) * size_t(C) + size_t(c)] = float(f[k * size_t(C) + size_t(c)]);
    }
    done += b.requests.size();
    if (o.log && (done * 10 / std::max<size_t>(1, requests.size()) > said || done == requests.size())) {
      said = done * 10 / std::max<size_t>(1, requests.size());
      o.log("  RoI features: " + std::to_string(done) + "/" + std::to_string(requests.size()) + " keyframes");
    }
  });
  *dim = C;
  return out;
}

std::vector<RoiRequest> ground_truth_requests(const data::DetectionSplit& split) {
  std::vector<RoiRequest> r;
  for (const data::KeyframeBoxes& k : split.keyframes)
    if (!k.boxes.empty()) r.push_back(RoiRequest{k.video, k.frame, k.boxes});
  return r;
}

HeadTargets ground_truth_targets(const data::DetectionSplit& split, int64_t classes, bool multi_label) {
  HeadTargets y;
  y.classes = classes;
  for (const data::KeyframeBoxes& k : split.keyframes)
    for (const std::vector<int>& labels : k.labels) {
      VD_CHECK(!labels.empty() && (multi_label || labels.size() == 1),
               "ground_truth_targets: a box of video " << k.video << " frame " << k.frame << " has " << labels.size()
                                                       << " labels; a single-label set needs one");
      if (!multi_label) {
        y.labels.push_back(labels[0]);
        continue;
      }
      const size_t at = y.multi_hot.size();
      y.multi_hot.resize(at + size_t(classes), 0.f);
      for (int l : labels) y.multi_hot[at + size_t(l)] = 1.f;
    }
  return y;
}

Detector::Detector(models::Encoder& encoder, int64_t classes, bool multi_label, const DetectionOptions& o)
    : encoder_(encoder), classes_(classes), multi_label_(multi_label), o_(o) {
  validate(o);
  VD_CHECK(classes >= 1, "Detector: expected at least one class, got " << classes);
  Generator gen(o.train.seed);
  head_ = make_head(encoder.feature_dim(), o.hidden, classes, gen);
  head_->to(o.train.device);
}

DetectorTraining Detector::fit(const data::DetectionSplit& train) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  const std::vector<RoiRequest> req = ground_truth_requests(train);
  const HeadTargets y = ground_truth_targets(train, classes_, multi_label_);
  VD_CHECK(y.size() >= 1, "Detector::fit: the train split has no ground-truth boxes; hint: check the annotations");
  DetectorTraining r;
  r.keyframes = int64_t(req.size());
  r.boxes = y.size();
  r.dim = encoder_.feature_dim();
  auto log_epoch = [&](const EpochStats& e) {
    if (o_.log && (e.epoch < 3 || (e.epoch + 1) % 10 == 0))
      o_.log("  epoch " + std::to_string(e.epoch + 1) + "  loss " + std::to_string(e.loss) + "  lr " +
             std::to_string(e.lr));
  };
  auto t0 = Clock::now();
  if (!o_.finetune) {
    int64_t dim = 0;
    std::vector<float> x = extract_roi_features(encoder_, train, req, o_, &dim);
    r.feature_seconds = seconds(t0);
    standardizer_ = Standardizer::fit(x, dim);
    standardizer_.apply(x);
    t0 = Clock::now();
    r.head = train_head(*head_, x, dim, y, o_.train, log_epoch);
    r.train_seconds = seconds(t0);
    return r;
  }
  // Fine-tuning: encoder and head together, one batch of keyframes per step.
  nn::NamedTensors params = encoder_.named_parameters();
  for (auto& [name, t] : head_->named_parameters()) params.emplace_back("head." + name, t);
  std::vector<optim::ParamGroup> groups = optim::split_decay_groups(params, o_.train.lr, o_.train.weight_decay);
  std::unique_ptr<optim::Optimizer> opt;
  if (o_.train.optimizer == "adamw") opt = std::make_unique<optim::AdamW>(groups, optim::AdamWOptions(o_.train.lr));
  else opt = std::make_unique<optim::SGD>(groups, optim::SGDOptions(o_.train.lr).momentum(0.9));
  std::vector<size_t> first(req.size() + 1, 0);
  for (size_t i = 0; i < req.size(); ++i) first[i + 1] = first[i] + req[i].boxes.size();
  const int64_t per_epoch = (int64_t(req.size()) + o_.batch - 1) / o_.batch;
  EpochSchedule sched(o_.train, per_epoch);
  Generator gen(o_.train.seed ^ 0xde7ec7ULL);
  std::vector<size_t> order(req.size());
  int64_t step = 0;
  for (bool more = true; more;) {
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[size_t(gen.randint(int64_t(i) + 1))]);
    EpochStats st;
    st.epoch = sched.epochs_done();
    st.lr = sched.lr(step);
    double loss_sum = 0, boxes = 0;
    encoder_.train();
    head_->train();
    for_each_batch(train, req, order, o_, [&](const ClipBatch& b) {
      if (b.x.size(0) < 2) return;  // batch norm needs two clips (a size change can leave one)
      std::vector<int64_t> rows;
      for (size_t q : b.requests)
        for (size_t j = 0; j < req[q].boxes.size(); ++j) rows.push_back(int64_t(first[q] + j));
      opt->set_lr(sched.lr(step));
      opt->zero_grad();
      Tensor loss = head_loss(head_->forward(dropout(roi_features(encoder_, b, o_), o_.train.dropout, gen)), y, rows);
      const double l = loss.item();
      VD_CHECK(std::isfinite(l), "Detector::fit: the loss is " << l << " at step " << step << "; hint: lower --lr");
      loss.backward();
      opt->step();
      loss_sum += l * double(rows.size());
      boxes += double(rows.size());
      ++step;
    });
    st.loss = boxes > 0 ? loss_sum / boxes : NAN;
    st.train_accuracy = NAN;
    r.head.epochs.push_back(st);
    more = sched.end_epoch(st.loss);
    log_epoch(st);
  }
  r.head.stop_reason = sched.stop_reason();
  r.train_seconds = seconds(t0);
  return r;
}

std::vector<float> Detector::scores(const data::DetectionSplit& split, const std::vector<RoiRequest>& requests) {
  int64_t dim = 0;
  std::vector<float> x = extract_roi_features(encoder_, split, requests, o_, &dim);
  if (!o_.finetune) standardizer_.apply(x);
  std::vector<float> z = head_logits(*head_, x, dim, o_.train.device);
  const size_t K = size_t(classes_);
  for (size_t r = 0; r * K < z.size(); ++r) {
    float* zr = z.data() + r * K;
    if (multi_label_) {
      for (size_t k = 0; k < K; ++k) zr[k] = float(1.0 / (1.0 + std::exp(-double(zr[k]))));
      continue;
    }
    const double mx = *std::max_element(zr, zr + K);
    double sum = 0;
    for (size_t k = 0; k < K; ++k) sum += std::exp(double(zr[k]) - mx);
    for (size_t k = 0; k < K; ++k) zr[k] = float(std::exp(double(zr[k]) - mx) / sum);
  }
  return z;
}

}  // namespace vd::eval
