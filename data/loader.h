// data/loader.h: the threaded prefetching loader. Worker threads render items
// (data/views.h) straight into the buffers of the next few batches, a bounded
// number ahead of the consumer; batches come out in order, with a new shuffle
// each epoch, optional drop_last, and the same content for the same (seed,
// epoch) whatever the number of workers. An exception in a worker stops the
// epoch and is rethrown by next() naming the video. The destructor stops and
// joins the workers even when the consumer quits early. No CUDA here.
//
// Each batch's view buffers are plain heap arrays of floats
// (default_allocator: new float[]), one per view, freed when the last Batch
// holding them goes. LoaderConfig::allocator replaces that call: the
// training loop passes cuda::pinned_allocator() (cuda/api.h) on a CUDA
// device, the tests a counting one. With frames_u8 the views are bytes
// (carved from the same allocator's floats) instead of normalised floats.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/source.h"
#include "data/views.h"

namespace vd::data {

// Returns a buffer of `count` floats whose deleter frees it. Called from
// worker threads, under the loader's lock.
using BufferAllocator = std::function<std::shared_ptr<float>(size_t count)>;
std::shared_ptr<float> default_allocator(size_t count);

struct ViewBatch {
  int N = 0, T = 0, H = 0, W = 0, C = 3;
  std::shared_ptr<float> data;  // [N, T, H, W, C], normalised (null with frames_u8)
  // frames_u8 (issue 18): [N, T, H, W, C] bytes on the 0..255 scale, rounded
  // before normalisation (data/augment.h apply_augment_u8), and the constants
  // that finish it, (x / 255 - mean) / std (core/frames.h normalize_frames).
  std::shared_ptr<uint8_t> bytes;
  float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
  bool is_u8() const { return bytes != nullptr; }
  size_t numel() const { return size_t(N) * T * H * W * C; }
  float* clip(int n) { return data.get() + size_t(n) * T * H * W * C; }
  uint8_t* clip_u8(int n) { return bytes.get() + size_t(n) * T * H * W * C; }
};

struct Batch {
  std::vector<ViewBatch> views;   // usually 2 for training, 1 for evaluation
  std::vector<int> labels;        // [N]
  std::vector<int64_t> video_ids; // [N] index of the video in the source
  std::vector<int> clip_ids;      // [N] evaluation clip number (0 in training)
  int64_t epoch = 0;
  size_t index = 0;               // batch number within the epoch
};

struct LoaderConfig {
  int batch_size = 32;
  int workers = 0;           // 0: one per hardware thread
  int prefetch_batches = 3;  // batches being filled or ready ahead of the consumer
  bool shuffle = true;
  bool drop_last = true;
  uint64_t seed = 0;
  BufferAllocator allocator;  // empty: default_allocator
  // An item whose video fails to load: stop (the error stops the epoch) or
  // substitute (try it once more, then up to `substitutes` other items chosen
  // from (seed, epoch, item) alone, so that runs stay repeatable; counted in
  // substituted()). SlowFast's and pytorchvideo's practice on Kinetics.
  bool substitute_on_error = false;
  int substitutes = 10;
  // Data-parallel sharding: `shards` ranks each take batch_size items of
  // every global batch of batch_size * shards items of the epoch's one
  // permutation (the same on every rank, seeded by seed and epoch): rank r
  // takes positions [r * batch_size, (r + 1) * batch_size) of each, so the
  // ranks' shards are disjoint, of equal length, and together are exactly
  // the batches of one loader with batch_size * shards (DistributedSampler's
  // guarantee, without its padding: needs drop_last).
  int shard = 0, shards = 1;
  // issue 18: emit the views as uint8 (ViewBatch::bytes) instead of
  // normalised floats, a quarter of the bytes to cross PCIe. The buffers
  // still come from `allocator`: ceil(numel / 4) floats, viewed as bytes.
  bool frames_u8 = false;
};

class Loader {
 public:
  Loader(std::shared_ptr<const VideoSource> source, ClipConfig clip, LoaderConfig config);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts (or restarts) an epoch: stops the running one, reshuffles, and
  // sets the workers going. next() starts epoch 0 if none was started. With
  // first_batch > 0 the epoch begins at that batch, as if the ones before it
  // had been taken: they are not rendered (a resumed run skips them this way).
  void start_epoch(int64_t epoch, size_t first_batch = 0);
  // The next batch of the epoch in order; false once the epoch is done.
  // Rethrows a worker's error (DataError naming the video).
  bool next(Batch& out);

  size_t batches_per_epoch() const;
  const ViewSampler& sampler() const { return sampler_; }
  int workers() const { return workers_; }
  // Items rendered from a substitute since the loader was built, and the
  // error of the last one replaced ("" when none).
  size_t substituted() const;
  std::string last_substituted_error() const;

 private:
  struct Slot {
    Batch batch;
    int remaining = 0;  // items not rendered yet
  };
  void stop_workers();
  void worker();
  // Allocates batch b's buffers and labels; called under the lock.
  Slot& open_slot(size_t b);

  std::shared_ptr<const VideoSource> source_;
  ViewSampler sampler_;
  LoaderConfig config_;
  int workers_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::thread> threads_;
  bool started_ = false, stop_ = false;
  std::exception_ptr error_;
  int64_t epoch_ = 0;
  std::vector<size_t> order_;  // items of this epoch, in batch order
  size_t next_item_ = 0;       // position in order_ of the next item to claim
  size_t next_batch_ = 0;      // next batch to hand out
  std::map<size_t, Slot> slots_;
  size_t substituted_ = 0;
  std::string last_substituted_error_;
};

}  // namespace vd::data
