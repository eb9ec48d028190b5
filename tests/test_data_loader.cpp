// tests/test_data_loader.cpp: the threaded loader. An epoch visits every
// item once in a fresh shuffled order, drop_last drops the partial batch, the
// batches are the same whatever the worker count, the allocator hook supplies
// every buffer, an epoch started at a later batch skips the earlier ones
// unrendered, evaluation batches list (video, clip), a worker's error reaches
// the consumer naming the video, and stopping early or restarting never hangs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <chrono>
#include <future>
#include <numeric>

#include "data/loader.h"
#include "data/synthetic.h"
#include "tests/test_data_util.h"

namespace vd::data {
namespace {

std::shared_ptr<const VideoSource> small_synthetic(int per_class = 3) {
  SyntheticConfig c;
  c.height = c.width = 16;
  c.frames = 12;
  c.videos_per_class = per_class;
  return std::make_shared<SyntheticDynamics>(c);
}

ClipConfig small_clip() {
  ClipConfig c;
  c.frames = 4;
  c.extra_frames = 1;
  c.augment.out_h = c.augment.out_w = 8;
  return c;
}

LoaderConfig loader_config(int batch, int workers, bool drop_last) {
  LoaderConfig l;
  l.batch_size = batch;
  l.workers = workers;
  l.drop_last = drop_last;
  l.seed = 11;
  return l;
}

std::vector<int64_t> epoch_ids(Loader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<int64_t> ids;
  for (Batch b; loader.next(b);) {
    EXPECT_EQ(b.epoch, epoch);
    ids.insert(ids.end(), b.video_ids.begin(), b.video_ids.end());
  }
  return ids;
}

TEST(DataLoader, EpochVisitsEveryVideoOnceInAFreshOrder) {
  auto src = small_synthetic();  // 30 videos
  Loader loader(src, small_clip(), loader_config(4, 2, false));
  EXPECT_EQ(loader.batches_per_epoch(), 8u);
  Batch b;
  size_t n = 0, last_n = 0;
  for (; loader.next(b); ++n) {  // epoch 0 starts by itself
    ASSERT_EQ(b.views.size(), 2u);
    EXPECT_EQ(b.index, n);
    for (const ViewBatch& v : b.views) {
      EXPECT_EQ(v.T, 5);
      EXPECT_EQ(v.H, 8);
      EXPECT_EQ(v.C, 3);
      EXPECT_EQ(v.N, int(b.labels.size()));
    }
    for (size_t i = 0; i < b.labels.size(); ++i) EXPECT_EQ(b.labels[i], src->label(size_t(b.video_ids[i])));
    last_n = b.labels.size();
  }
  EXPECT_EQ(n, 8u);
  EXPECT_EQ(last_n, 2u);
  std::vector<int64_t> e0 = epoch_ids(loader, 0), e1 = epoch_ids(loader, 1), sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(30);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);
  EXPECT_NE(e0, all);  // shuffled
  EXPECT_NE(e0, e1);   // reshuffled
  EXPECT_EQ(e0, epoch_ids(loader, 0));  // and reproducible
}

TEST(DataLoader, DropLastDropsThePartialBatch) {
  Loader loader(small_synthetic(), small_clip(), loader_config(4, 2, true));
  std::vector<int64_t> ids = epoch_ids(loader, 3);
  EXPECT_EQ(ids.size(), 28u);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  testing::expect_data_error([&] { Loader(small_synthetic(1), small_clip(), loader_config(64, 1, true)); },
                             {"at least one batch", "drop_last"});
}

TEST(DataLoader, SameBatchesWhateverTheWorkerCount) {
  auto src = small_synthetic();
  Loader one(src, small_clip(), loader_config(5, 1, true)), three(src, small_clip(), loader_config(5, 3, true));
  one.start_epoch(2);
  three.start_epoch(2);
  for (Batch a, b; one.next(a);) {
    ASSERT_TRUE(three.next(b));
    EXPECT_EQ(a.video_ids, b.video_ids);
    for (int v = 0; v < 2; ++v)
      ASSERT_TRUE(std::equal(a.views[v].data.get(), a.views[v].data.get() + a.views[v].numel(),
                             b.views[v].data.get()));
  }
}

// Sharded for data parallelism: 3 ranks of batch 3 see disjoint slices that
// together are, item for item and pixel for pixel, the batches of one loader
// of batch 9 (30 videos: 3 global batches, the last 3 videos dropped).
TEST(DataLoader, ShardsAreDisjointSlicesOfTheGlobalBatches) {
  auto src = small_synthetic();
  Loader whole(src, small_clip(), loader_config(9, 2, true));
  whole.start_epoch(3);
  std::vector<Batch> global;
  for (Batch b; whole.next(b);) global.push_back(b);
  ASSERT_EQ(global.size(), 3u);
  std::set<int64_t> seen;
  for (int r = 0; r < 3; ++r) {
    LoaderConfig lc = loader_config(3, 2, true);
    lc.shard = r, lc.shards = 3;
    Loader part(src, small_clip(), lc);
    EXPECT_EQ(part.batches_per_epoch(), 3u);
    part.start_epoch(3);
    size_t g = 0;
    for (Batch b; part.next(b); ++g) {
      ASSERT_LT(g, global.size());
      ASSERT_EQ(b.video_ids.size(), 3u);
      for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(b.video_ids[i], global[g].video_ids[size_t(r) * 3 + i]);
        EXPECT_TRUE(seen.insert(b.video_ids[i]).second) << "video " << b.video_ids[i] << " on two ranks";
      }
      for (int v = 0; v < 2; ++v) {
        const size_t per = b.views[v].numel() / 3;
        EXPECT_TRUE(std::equal(b.views[v].data.get(), b.views[v].data.get() + b.views[v].numel(),
                               global[g].views[v].data.get() + size_t(r) * 3 * per));
      }
    }
    EXPECT_EQ(g, 3u);
  }
  EXPECT_EQ(seen.size(), 27u);
  LoaderConfig bad = loader_config(3, 1, false);
  bad.shards = 2;
  EXPECT_THROW(Loader(src, small_clip(), bad), std::exception);  // shards need drop_last
}

TEST(DataLoader, StartingAtABatchSkipsTheEarlierOnesWithoutRenderingThem) {
  auto src = small_synthetic();  // 30 videos: 6 batches of 5
  Loader whole(src, small_clip(), loader_config(5, 2, true));
  std::vector<Batch> all;
  whole.start_epoch(1);
  for (Batch b; whole.next(b);) all.push_back(b);
  ASSERT_EQ(all.size(), 6u);
  std::atomic<int> buffers{0};
  LoaderConfig lc = loader_config(5, 2, true);
  lc.allocator = [&](size_t count) {
    ++buffers;
    return default_allocator(count);
  };
  Loader late(src, small_clip(), lc);
  late.start_epoch(1, 4);
  size_t i = 4;
  for (Batch b; late.next(b); ++i) {
    ASSERT_LT(i, all.size());
    EXPECT_EQ(b.index, i);
    EXPECT_EQ(b.video_ids, all[i].video_ids);
    for (int v = 0; v < 2; ++v)
      EXPECT_TRUE(std::equal(b.views[v].data.get(), b.views[v].data.get() + b.views[v].numel(),
                             all[i].views[v].data.get()));
  }
  EXPECT_EQ(i, 6u);
  EXPECT_EQ(buffers.load(), 2 * 2);  // two batches of two views: batches 0-3 were never opened
  late.start_epoch(1, 9);            // past the end: an empty epoch
  Batch b;
  EXPECT_FALSE(late.next(b));
}

TEST(DataLoader, AllocatorHookSuppliesEveryBuffer) {
  auto count = std::make_shared<std::atomic<int>>(0);
  LoaderConfig l = loader_config(6, 2, true);
  l.allocator = [count](size_t n) {
    ++*count;
    return default_allocator(n);
  };
  Loader loader(small_synthetic(), small_clip(), l);
  for (Batch b; loader.next(b);) {}
  EXPECT_EQ(count->load(), 5 * 2);  // 5 batches x 2 views
}

TEST(DataLoader, EvaluationBatchesListVideoAndClip) {
  ClipConfig c = small_clip();
  c.train = false;
  c.eval_clips = 2;
  LoaderConfig l = loader_config(4, 2, false);
  l.shuffle = false;
  Loader loader(small_synthetic(1), c, l);  // 10 videos x 2 clips
  std::vector<int64_t> ids;
  std::vector<int> clips;
  for (Batch b; loader.next(b);) {
    ASSERT_EQ(b.views.size(), 1u);
    ids.insert(ids.end(), b.video_ids.begin(), b.video_ids.end());
    clips.insert(clips.end(), b.clip_ids.begin(), b.clip_ids.end());
  }
  ASSERT_EQ(ids.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(ids[i], i / 2);
    EXPECT_EQ(clips[i], i % 2);
  }
}

// Delegates to a synthetic set but fails on one video, as a corrupt file would.
class FailingSource : public SyntheticDynamics {
 public:
  FailingSource(SyntheticConfig c, size_t bad, bool data_error)
      : SyntheticDynamics(c), bad_(bad), data_error_(data_error) {}
  Clip load(size_t video, const std::vector<int>& frames) const override {
    if (video == bad_) {
      if (data_error_) throw DataError("decoder broke");
      throw std::runtime_error("out of something");
    }
    return SyntheticDynamics::load(video, frames);
  }

 private:
  size_t bad_;
  bool data_error_;
};

TEST(DataLoader, WorkerErrorReachesTheConsumerNamingTheVideo) {
  SyntheticConfig c;
  c.height = c.width = 16;
  c.frames = 12;
  c.videos_per_class = 3;
  for (bool data_error : {true, false}) {
    auto src = std::make_shared<FailingSource>(c, 7, data_error);
    Loader loader(src, small_clip(), loader_config(4, 3, true));
    testing::expect_data_error([&] { for (Batch b; loader.next(b);) {} },
                               {"while loading video " + src->name(7), data_error ? "decoder broke" : "out of something"});
    testing::expect_data_error([&] { Batch b; loader.next(b); }, {src->name(7)});  // stays failed
  }
}

// substitute_on_error: the failing video's items are rendered from other
// videos chosen from (seed, epoch, item) alone: the epoch completes, the
// substitutions are counted, and two runs (any worker count) agree.
TEST(DataLoader, SubstituteOnErrorReplacesAFailingVideoRepeatably) {
  SyntheticConfig c;
  c.height = c.width = 16;
  c.frames = 12;
  c.videos_per_class = 3;  // 30 videos
  auto src = std::make_shared<FailingSource>(c, 7, true);
  auto epoch_ids = [&](int workers) {
    LoaderConfig l = loader_config(5, workers, true);  // 6 full batches: every video is drawn
    l.substitute_on_error = true;
    Loader loader(src, small_clip(), l);
    std::vector<int64_t> ids;
    for (Batch b; loader.next(b);)
      for (int64_t v : b.video_ids) ids.push_back(v);
    EXPECT_EQ(loader.substituted(), 1u);  // video 7 appears once per epoch
    EXPECT_NE(loader.last_substituted_error().find(src->name(7) + ": decoder broke"), std::string::npos);
    return ids;
  };
  const std::vector<int64_t> a = epoch_ids(1), b = epoch_ids(3);
  ASSERT_EQ(a.size(), 30u);
  EXPECT_EQ(a, b);
  for (int64_t v : a) EXPECT_NE(v, 7);
}

TEST(DataLoader, StopsCleanlyWhenTheConsumerQuitsEarlyOrRestarts) {
  auto run = std::async(std::launch::async, [] {
    auto src = small_synthetic(10);  // 100 videos
    { Loader never_read(src, small_clip(), loader_config(4, 3, true)); }
    {
      Loader loader(src, small_clip(), loader_config(4, 3, true));
      Batch b;
      EXPECT_TRUE(loader.next(b));  // workers now blocked on the prefetch bound
    }
    Loader loader(src, small_clip(), loader_config(4, 2, true));
    Batch b;
    loader.next(b);
    loader.start_epoch(1);  // restart mid-epoch
    EXPECT_TRUE(loader.next(b));
    EXPECT_EQ(b.epoch, 1);
    EXPECT_EQ(b.index, 0u);
  });
  ASSERT_EQ(run.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "loader shutdown hangs";
  run.get();
}

}  // namespace
}  // namespace vd::data
