// data/loader.cpp: worker threads, the bounded set of batches in flight, and
// the epoch's shuffle. Items are claimed one at a time in batch order, so
// batch b is only filled while b < next_batch_ + prefetch_batches.
#include "data/loader.h"

#include <algorithm>
#include <string>

#include "data/error.h"
#include "data/rng.h"

namespace vd::data {

std::shared_ptr<float> default_allocator(size_t count) {
  return std::shared_ptr<float>(new float[count], std::default_delete<float[]>());
}

Loader::Loader(std::shared_ptr<const VideoSource> source, ClipConfig clip, LoaderConfig config)
    : source_(std::move(source)), sampler_(*source_, std::move(clip), config.seed),
      config_(std::move(config)) {
  if (config_.batch_size < 1 || config_.prefetch_batches < 1 || config_.workers < 0)
    fail("LoaderConfig", "expected batch_size >= 1, prefetch_batches >= 1, workers >= 0, got " +
                             std::to_string(config_.batch_size) + ", " +
                             std::to_string(config_.prefetch_batches) + ", " +
                             std::to_string(config_.workers));
  if (config_.shards < 1 || config_.shard < 0 || config_.shard >= config_.shards || (config_.shards > 1 && !config_.drop_last))
    fail("LoaderConfig", "expected 0 <= shard < shards and drop_last when shards > 1, got shard " +
                             std::to_string(config_.shard) + " of " + std::to_string(config_.shards));
  if (!config_.allocator) config_.allocator = default_allocator;
  workers_ = config_.workers > 0 ? config_.workers
                                 : std::max(1, int(std::thread::hardware_concurrency()));
  if (batches_per_epoch() == 0)
    fail("Loader", "expected at least one batch per epoch, got " +
                       std::to_string(sampler_.num_items()) + " items for batch size " +
                       std::to_string(config_.batch_size) +
                       (config_.shards > 1 ? " x " + std::to_string(config_.shards) + " ranks" : std::string()) +
                       " with drop_last",
         "use a smaller batch_size or drop_last = false");
}

Loader::~Loader() { stop_workers(); }

size_t Loader::batches_per_epoch() const {
  const size_t n = sampler_.num_items(), b = size_t(config_.batch_size) * size_t(config_.shards);
  return config_.drop_last ? n / b : (n + b - 1) / b;
}

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  ready_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void Loader::start_epoch(int64_t epoch, size_t first_batch) {
  stop_workers();
  const size_t items = sampler_.num_items();
  order_.resize(items);
  for (size_t i = 0; i < items; ++i) order_[i] = i;
  if (config_.shuffle) {
    Rng rng(config_.seed, uint64_t(epoch), 0, kShuffle);
    for (size_t i = items; i > 1; --i) std::swap(order_[i - 1], order_[size_t(rng.integer(0, int64_t(i) - 1))]);
  }
  const size_t B = size_t(config_.batch_size), G = B * size_t(config_.shards);
  order_.resize(std::min(items, batches_per_epoch() * G));
  if (config_.shards > 1) {  // this rank's slice of every global batch
    std::vector<size_t> mine;
    for (size_t g = 0; g < batches_per_epoch(); ++g)
      mine.insert(mine.end(), order_.begin() + long(g * G + size_t(config_.shard) * B),
                  order_.begin() + long(g * G + size_t(config_.shard + 1) * B));
    order_ = std::move(mine);
  }
  slots_.clear();
  error_ = nullptr;
  stop_ = false;
  started_ = true;
  epoch_ = epoch;
  // Items are rendered from (seed, epoch, item) alone, so skipping the first
  // batches leaves the later ones as they would have been.
  next_batch_ = std::min(first_batch, batches_per_epoch());
  next_item_ = std::min(order_.size(), next_batch_ * size_t(config_.batch_size));
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { worker(); });
}

Loader::Slot& Loader::open_slot(size_t b) {
  auto found = slots_.find(b);
  if (found != slots_.end()) return found->second;
  const size_t B = size_t(config_.batch_size);
  const int n = int(std::min(B, order_.size() - b * B));
  Slot& s = slots_[b];
  s.remaining = n;
  s.batch.epoch = epoch_;
  s.batch.index = b;
  s.batch.labels.resize(n);
  s.batch.video_ids.resize(n);
  s.batch.clip_ids.resize(n);
  const ClipConfig& c = sampler_.config();
  for (int v = 0; v < sampler_.num_views(); ++v) {
    ViewBatch vb;
    vb.N = n;
    vb.T = c.clip_length();
    vb.H = c.augment.out_h;
    vb.W = c.augment.out_w;
    const size_t floats = config_.frames_u8 ? (vb.numel() + 3) / 4 : vb.numel();
    std::shared_ptr<float> buf = config_.allocator(floats);
    if (!buf) fail("Loader", "expected a buffer of " + std::to_string(floats) +
                                 " floats from the allocator, got null");
    if (config_.frames_u8) {  // the bytes share the buffer's ownership
      vb.bytes = std::shared_ptr<uint8_t>(buf, reinterpret_cast<uint8_t*>(buf.get()));
      for (int ch = 0; ch < 3; ++ch) vb.mean[ch] = c.augment.mean[ch], vb.std[ch] = c.augment.std[ch];
    } else {
      vb.data = std::move(buf);
    }
    s.batch.views.push_back(std::move(vb));
  }
  return s;
}

void Loader::worker() {
  const size_t B = size_t(config_.batch_size);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [&] {
      return stop_ || error_ || next_item_ >= order_.size() ||
             next_item_ / B < next_batch_ + size_t(config_.prefetch_batches);
    });
    if (stop_ || error_ || next_item_ >= order_.size()) return;
    const size_t pos = next_item_++, b = pos / B;
    const int n = int(pos % B);
    size_t item = order_[pos];
    std::vector<float*> outs;
    std::vector<uint8_t*> outs_u8;
    try {
      Slot& s = open_slot(b);
      for (ViewBatch& vb : s.batch.views) {
        if (config_.frames_u8)
          outs_u8.push_back(vb.clip_u8(n));
        else
          outs.push_back(vb.clip(n));
      }
      lock.unlock();
      // The item, or (substitute_on_error) the item again and then others
      // drawn from (seed, epoch, item): the same on every run.
      for (int attempt = 0;; ++attempt) {
        try {
          if (config_.frames_u8)
            sampler_.render_u8(item, epoch_, outs_u8.data());
          else
            sampler_.render(item, epoch_, outs.data());
          break;
        } catch (const std::exception& e) {
          if (!config_.substitute_on_error || attempt > config_.substitutes) throw;
          const size_t failed = item;
          if (attempt > 0) {
            Rng rng(config_.seed, uint64_t(epoch_), order_[pos], kSubstitute + 16 * uint64_t(attempt));
            item = size_t(rng.integer(0, int64_t(sampler_.num_items()) - 1));
          }
          std::lock_guard<std::mutex> g(mutex_);
          last_substituted_error_ = source_->name(sampler_.video_of(failed)) + ": " + e.what();
        }
      }
      lock.lock();
      if (item != order_[pos]) ++substituted_;
      s.batch.video_ids[n] = int64_t(sampler_.video_of(item));
      s.batch.labels[n] = source_->label(sampler_.video_of(item));
      s.batch.clip_ids[n] = sampler_.clip_of(item);
    } catch (const std::exception& e) {
      if (!lock.owns_lock()) lock.lock();
      if (!error_)
        error_ = std::make_exception_ptr(DataError(
            "while loading video " + source_->name(sampler_.video_of(item)) + " (epoch " +
            std::to_string(epoch_) + ", batch " + std::to_string(b) + "): " + e.what()));
      ready_cv_.notify_all();
      work_cv_.notify_all();
      return;
    }
    if (--slots_[b].remaining == 0) ready_cv_.notify_all();
  }
}

size_t Loader::substituted() const {
  std::lock_guard<std::mutex> g(mutex_);
  return substituted_;
}

std::string Loader::last_substituted_error() const {
  std::lock_guard<std::mutex> g(mutex_);
  return last_substituted_error_;
}

bool Loader::next(Batch& out) {
  if (!started_) start_epoch(0);
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_batch_ >= batches_per_epoch()) return false;
  ready_cv_.wait(lock, [&] {
    auto it = slots_.find(next_batch_);
    return error_ || (it != slots_.end() && it->second.remaining == 0);
  });
  if (error_) {
    std::exception_ptr e = error_;
    lock.unlock();
    stop_workers();
    std::rethrow_exception(e);
  }
  auto it = slots_.find(next_batch_);
  out = std::move(it->second.batch);
  slots_.erase(it);
  ++next_batch_;
  lock.unlock();
  work_cv_.notify_all();
  return true;
}

}  // namespace vd::data
