// tests/test_data_sampling.cpp: which frames make a clip (training starts,
// evenly spaced evaluation clips, the short_video policies pad / loop / skip /
// stop and their count) and the reproducibility of a view from (seed, epoch,
// index) alone.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/error.h"
#include "data/sampling.h"
#include "data/synthetic.h"
#include "data/views.h"

namespace vd::data {
namespace {

TEST(DataSampling, TrainingStartsCoverAllValidStarts) {
  std::set<int> starts;
  for (uint64_t i = 0; i < 400; ++i) {
    Rng rng(7, 0, i, kSample);
    const std::vector<int> f = train_clip_frames(20, 5, 3, rng);  // span 13: starts 0..7
    ASSERT_EQ(f.size(), 5u);
    for (int t = 1; t < 5; ++t) EXPECT_EQ(f[t] - f[t - 1], 3);
    EXPECT_LE(f.back(), 19);
    starts.insert(f[0]);
  }
  EXPECT_EQ(starts, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(DataSampling, ShortVideoRepeatsItsLastFrame) {
  Rng rng(1, 2, 3, kSample);
  EXPECT_EQ(train_clip_frames(4, 6, 1, rng), (std::vector<int>{0, 1, 2, 3, 3, 3}));
  EXPECT_EQ(train_clip_frames(5, 4, 2, rng), (std::vector<int>{0, 2, 4, 4}));
  EXPECT_EQ(eval_clip_frames(1, 3, 1, 2), (std::vector<std::vector<int>>{{0, 0, 0}, {0, 0, 0}}));
}

TEST(DataSampling, ShortVideoLoopsOrRefusesWhenAsked) {
  EXPECT_EQ(clip_frames(4, 0, 6, 1, ShortVideo::loop), (std::vector<int>{0, 1, 2, 3, 0, 1}));
  Rng rng(1, 2, 3, kSample);
  EXPECT_EQ(train_clip_frames(5, 4, 2, rng, ShortVideo::loop), (std::vector<int>{0, 2, 4, 1}));
  EXPECT_EQ(eval_clip_frames(3, 4, 1, 1, ShortVideo::loop)[0], (std::vector<int>{0, 1, 2, 0}));
  EXPECT_EQ(clip_frames(4, 0, 6, 1, ShortVideo::pad), (std::vector<int>{0, 1, 2, 3, 3, 3}));  // the default
  EXPECT_THROW(clip_frames(4, 0, 6, 1, ShortVideo::skip), DataError);
  EXPECT_THROW(clip_frames(4, 0, 6, 1, ShortVideo::stop), DataError);
  EXPECT_EQ(clip_frames(6, 0, 6, 1, ShortVideo::stop), (std::vector<int>{0, 1, 2, 3, 4, 5}));  // long enough
  EXPECT_TRUE(is_short_video(9, 4, 3));  // span 10
  EXPECT_FALSE(is_short_video(10, 4, 3));
  EXPECT_EQ(parse_short_video("loop"), ShortVideo::loop);
  EXPECT_STREQ(short_video_name(ShortVideo::skip), "skip");
  EXPECT_THROW(parse_short_video("repeat"), DataError);
}

// Videos of given lengths; frames are blank (only the indices matter here).
class LengthsSource : public VideoSource {
 public:
  explicit LengthsSource(std::vector<int> lengths) : lengths_(std::move(lengths)) {}
  size_t size() const override { return lengths_.size(); }
  int num_classes() const override { return 1; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int label(size_t) const override { return 0; }
  int num_frames(size_t v) const override { return lengths_[v]; }
  std::string name(size_t v) const override { return "lengths:" + std::to_string(v); }
  Clip load(size_t, const std::vector<int>& f) const override { return Clip(int(f.size()), 8, 8, 3); }

 private:
  std::vector<int> lengths_;
  std::vector<std::string> names_ = {"all"};
};

TEST(DataSampling, ShortVideosAreCountedAndPaddedLoopedSkippedOrRefused) {
  const LengthsSource source({20, 5, 12, 3, 30});  // clips of 8 at stride 1: videos 1 and 3 are short
  ClipConfig c;
  c.frames = 6, c.extra_frames = 2, c.augment.out_h = c.augment.out_w = 8;
  const ViewSampler pad(source, c, 0);
  EXPECT_EQ(pad.short_videos(), 2u);
  EXPECT_EQ(pad.short_video_ids(), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(pad.num_items(), 5u);
  EXPECT_EQ(pad.frames_of(3, 0, 0), (std::vector<int>{0, 1, 2, 2, 2, 2, 2, 2}));
  c.short_video = ShortVideo::loop;
  EXPECT_EQ(ViewSampler(source, c, 0).frames_of(3, 0, 0), (std::vector<int>{0, 1, 2, 0, 1, 2, 0, 1}));
  c.short_video = ShortVideo::skip;
  const ViewSampler skip(source, c, 0);
  EXPECT_EQ(skip.short_videos(), 2u);
  ASSERT_EQ(skip.num_items(), 3u);
  EXPECT_EQ(skip.video_of(0), 0u);
  EXPECT_EQ(skip.video_of(1), 2u);
  EXPECT_EQ(skip.video_of(2), 4u);
  EXPECT_EQ(skip.frames_of(1, 0, 0), pad.frames_of(2, 0, 0));  // video 2 draws as before
  c.train = false, c.eval_clips = 2;
  const ViewSampler skip_eval(source, c, 0);
  EXPECT_EQ(skip_eval.num_items(), 6u);
  EXPECT_EQ(skip_eval.video_of(3), 2u);
  c.train = true;
  c.short_video = ShortVideo::stop;
  try {
    ViewSampler refuse(source, c, 0);
    ADD_FAILURE() << "short_video = stop accepted a 5-frame video for an 8-frame clip";
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("lengths:1"), std::string::npos) << m;
    EXPECT_NE(m.find("expected at least 8 frames"), std::string::npos) << m;
    EXPECT_NE(m.find("got 5"), std::string::npos) << m;
    EXPECT_NE(m.find("2 of 5 videos"), std::string::npos) << m;
  }
  c.short_video = ShortVideo::skip;
  EXPECT_THROW(ViewSampler(LengthsSource({3, 4}), c, 0), DataError);  // nothing left
}

TEST(DataSampling, EvaluationClipsAreEvenlySpaced) {
  const auto clips = eval_clip_frames(100, 16, 1, 10);  // last start 84: 0, 9.33, ..., 84
  ASSERT_EQ(clips.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(clips[i][0], int(std::lround(i * 84.0 / 9)));
    EXPECT_EQ(clips[i][15], clips[i][0] + 15);
  }
  EXPECT_EQ(eval_clip_frames(100, 16, 1, 1)[0][0], 42);
  EXPECT_THROW(eval_clip_frames(100, 16, 0, 1), DataError);
}

class DataViews : public ::testing::Test {
 protected:
  DataViews() : source_(config()) {}
  static SyntheticConfig config() {
    SyntheticConfig c;
    c.height = c.width = 24;
    c.frames = 40;
    c.videos_per_class = 2;
    return c;
  }
  static ClipConfig clip(bool same_clip) {
    ClipConfig c;
    c.frames = 8;
    c.extra_frames = 2;
    c.stride = 2;
    c.same_clip = same_clip;
    c.augment.out_h = c.augment.out_w = 16;
    return c;
  }
  SyntheticDynamics source_;
};

TEST_F(DataViews, SameSeedEpochIndexGivesTheSameViewsBitForBit) {
  ViewSampler a(source_, clip(false), 5), b(source_, clip(false), 5), other_seed(source_, clip(false), 6);
  std::vector<float> x0(a.view_numel()), x1(a.view_numel()), y0(a.view_numel()), y1(a.view_numel());
  float* xs[2] = {x0.data(), x1.data()};
  float* ys[2] = {y0.data(), y1.data()};
  a.render(3, 4, xs);
  b.render(3, 4, ys);  // a fresh sampler, same key
  EXPECT_EQ(x0, y0);
  EXPECT_EQ(x1, y1);
  EXPECT_NE(x0, x1);  // two views differ
  b.render(3, 5, ys);
  EXPECT_NE(x0, y0);  // another epoch differs
  other_seed.render(3, 4, ys);
  EXPECT_NE(x0, y0);
  EXPECT_EQ(a.frames_of(3, 4, 0).size(), 10u);  // T + k
}

TEST_F(DataViews, ViewsDrawIndependentStartsUnlessSameClip) {
  ViewSampler indep(source_, clip(false), 1), same(source_, clip(true), 1);
  int differ = 0;
  for (size_t v = 0; v < source_.size(); ++v) {
    differ += indep.frames_of(v, 0, 0) != indep.frames_of(v, 0, 1);
    EXPECT_EQ(same.frames_of(v, 0, 0), same.frames_of(v, 0, 1));
    const AugmentParams p0 = same.params_of(v, 0, 0, 24, 24), p1 = same.params_of(v, 0, 1, 24, 24);
    EXPECT_FALSE(p0.crop.x == p1.crop.x && p0.crop.y == p1.crop.y && p0.crop.h == p1.crop.h &&
                 p0.brightness == p1.brightness);
  }
  EXPECT_GT(differ, int(source_.size()) * 3 / 4);  // 20 starts possible: collisions are rare
}

TEST_F(DataViews, EvaluationItemsAreVideoTimesClip) {
  ClipConfig c = clip(false);
  c.train = false;
  c.eval_clips = 3;
  ViewSampler s(source_, c, 0);
  EXPECT_EQ(s.num_items(), source_.size() * 3);
  EXPECT_EQ(s.num_views(), 1);
  EXPECT_EQ(s.video_of(7), 2u);
  EXPECT_EQ(s.clip_of(7), 1);
  EXPECT_EQ(s.frames_of(7, 0, 0), eval_clip_frames(40, 10, 2, 3)[1]);
  EXPECT_EQ(s.frames_of(7, 0, 0), s.frames_of(7, 9, 0));  // no randomness
}

}  // namespace
}  // namespace vd::data
