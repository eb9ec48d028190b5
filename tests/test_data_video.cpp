// tests/test_data_video.cpp: the encoded-video dataset (data/video_file.h).
// Tiny videos are made here with the ffmpeg binary from its testsrc pattern
// (a frame counter and moving colours, so consecutive frames differ), in
// several containers and codecs, and every decoded frame is compared with
// what ffmpeg itself extracts with passthrough timing (the independent
// reference: `ffmpeg -i F -fps_mode passthrough -f rawvideo -pix_fmt rgb24 -`).
// Also: a variable-frame-rate file keeps each frame once, AVI with B-frames is
// counted, the index cache is reused and invalidated, and damaged or
// mislabelled files fail or are skipped as on_corrupt says.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "data/loader.h"
#include "data/open_source.h"
#include "data/video_decode.h"
#include "data/video_file.h"
#include "tests/test_data_util.h"

namespace vd::data {
namespace {

using testing::expect_data_error;
using testing::shell;
using testing::TempDir;

struct Raw {
  int frames = 0;
  std::string px;  // frames x H x W x 3
};

// What ffmpeg decodes from `file`, every frame once, RGB24 at w x h.
Raw reference(const std::string& file, int w, int h, const std::string& extra = "") {
  std::string out;
  EXPECT_EQ(shell("ffmpeg -nostdin -loglevel error -i " + file + " -fps_mode passthrough " + extra +
                      " -f rawvideo -pix_fmt rgb24 - 2>/dev/null", out, false), 0) << file;
  Raw r;
  r.px = out;
  r.frames = int(out.size() / (size_t(w) * h * 3));
  EXPECT_EQ(out.size() % (size_t(w) * h * 3), 0u) << file;
  return r;
}

// Mean and max absolute difference of clip frame t and reference frame f.
void compare(const Clip& c, int t, const Raw& ref, int f, double& mean, int& max) {
  const uint8_t* a = c.frame(t);
  const uint8_t* b = reinterpret_cast<const uint8_t*>(ref.px.data()) + size_t(f) * c.frame_size();
  double s = 0;
  max = 0;
  for (size_t i = 0; i < c.frame_size(); ++i) {
    const int d = std::abs(int(a[i]) - int(b[i]));
    s += d;
    max = std::max(max, d);
  }
  mean = s / double(c.frame_size());
}

bool have_ffmpeg() {
  std::string out;
  return shell("ffmpeg -version", out) == 0;
}

// Encodes testsrc into root/<rel>.
void encode(const std::string& root, const std::string& rel, const std::string& args, int frames,
            const std::string& size = "64x48") {
  std::filesystem::create_directories(std::filesystem::path(root + "/" + rel).parent_path());
  std::string out;
  ASSERT_EQ(shell("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=" + size +
                      ":rate=25 -frames:v " + std::to_string(frames) + " " + args + " " + root + "/" + rel,
                  out), 0) << rel << ": " << out;
}

struct Sample {
  std::string rel;  // under the root
  int w, h;
  bool timestamped;
};

// The set of files shared by the tests below, made once.
class DataVideo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_ffmpeg() || !video_decoding_available()) return;
    tmp_ = new TempDir;
    const std::string r = tmp_->path();
    encode(r, "avi/mpeg4.avi", "-c:v mpeg4 -g 10 -bf 0 -q:v 3", 30);
    encode(r, "avi/bframes.avi", "-c:v mpeg4 -g 10 -bf 2 -q:v 3", 30);
    encode(r, "mp4/h264.mp4", "-c:v libx264 -preset veryfast -g 8 -bf 2 -pix_fmt yuv420p", 40);
    encode(r, "mkv/mpeg4.mkv", "-c:v mpeg4 -g 6 -q:v 3", 24);
    encode(r, "webm/vp8.webm", "-c:v libvpx -g 10 -b:v 300k", 20);
    encode(r, "odd/odd.avi", "-c:v mpeg4 -g 7 -q:v 3", 21, "65x49");
    encode(r, "gray/gray.mkv", "-c:v ffv1 -pix_fmt gray", 20);
    // Variable frame rate: 8 and 13 extra ticks (of 1/25 s) before frames 10
    // and 20; the hue turns 1.3 rad a frame, so that every frame differs.
    encode(r, "vfr/vfr.mkv",
           "-vf \"hue=H=n*1.3,setpts='N+if(gte(N,10),8,0)+if(gte(N,20),13,0)'\" -fps_mode passthrough "
           "-c:v libx264 -preset veryfast -g 8 -bf 2 -pix_fmt yuv420p", 30);
    std::filesystem::create_directories(r + "/wrong");
    std::filesystem::copy_file(r + "/mp4/h264.mp4", r + "/wrong/h264_named_avi.avi");
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  void SetUp() override {
    if (!video_decoding_available()) GTEST_SKIP() << "built without FFmpeg (FFMPEG=0): DataVideoBuild covers it";
    ASSERT_TRUE(have_ffmpeg()) << "the ffmpeg binary is missing: scripts/deps.sh installs it (as root)";
  }
  static const std::vector<Sample>& samples() {
    static const std::vector<Sample> s = {
        {"avi/mpeg4.avi", 64, 48, true},  {"avi/bframes.avi", 64, 48, false}, {"mp4/h264.mp4", 64, 48, true},
        {"mkv/mpeg4.mkv", 64, 48, true},  {"webm/vp8.webm", 64, 48, true},   {"odd/odd.avi", 65, 49, true},
        {"gray/gray.mkv", 64, 48, true},  {"vfr/vfr.mkv", 64, 48, true},
        {"wrong/h264_named_avi.avi", 64, 48, true}};
    return s;
  }
  static SplitList split_of(const std::vector<std::string>& rels) {
    SplitList s;
    for (const std::string& rel : rels) {
      const std::string cls = rel.substr(0, rel.find('/'));
      auto it = std::find(s.classes.begin(), s.classes.end(), cls);
      if (it == s.classes.end()) it = s.classes.insert(s.classes.end(), cls);
      s.videos.push_back({strip_video_extension(rel), int(it - s.classes.begin())});
    }
    return s;
  }
  static VideoFileConfig config(OnCorrupt on_corrupt = OnCorrupt::stop) {
    VideoFileConfig c;
    c.root = tmp_->path();
    c.cache_dir = "none";
    c.on_corrupt = on_corrupt;
    c.index_threads = 2;
    return c;
  }
  static TempDir* tmp_;
};
TempDir* DataVideo::tmp_ = nullptr;

TEST(DataVideoBuild, WithoutFfmpegTheSourceSaysWhatToInstall) {
  const std::string hint = video_decoding_missing_hint();
  for (const char* piece : {"libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev", "rebuild"})
    EXPECT_NE(hint.find(piece), std::string::npos) << piece;
  if (video_decoding_available()) return;
  TempDir tmp;
  testing::write_file(tmp / "a/v.mp4", "not decoded anyway");
  VideoFileConfig c;
  c.root = tmp.path();
  SplitList s;
  s.classes = {"a"};
  s.videos = {{"a/v", 0}};
  expect_data_error([&] { VideoFileDataset(s, c); }, {"built without FFmpeg", "libavformat-dev", "rebuild"});
}

TEST_F(DataVideo, EveryFileIndexesItsRealFramesAndDecodesLikeFfmpeg) {
  std::vector<std::string> rels;
  for (const Sample& s : samples()) rels.push_back(s.rel);
  VideoFileDataset ds(split_of(rels), config());
  ASSERT_EQ(ds.size(), rels.size());
  for (size_t v = 0; v < ds.size(); ++v) {
    const Sample& s = samples()[v];
    SCOPED_TRACE(s.rel);
    EXPECT_EQ(ds.file(v), tmp_->path() + "/" + s.rel);
    EXPECT_EQ(ds.index(v).timestamped, s.timestamped);
    const Raw ref = reference(ds.file(v), s.w, s.h);
    ASSERT_EQ(ds.num_frames(v), ref.frames);
    const int n = ds.num_frames(v);
    // The whole video, a run from the middle (a seek), and an unordered pick with a repeat.
    std::vector<int> all(size_t(n), 0);
    for (int i = 0; i < n; ++i) all[size_t(i)] = i;
    const std::vector<std::vector<int>> picks = {all, {n / 2, n / 2 + 1, n / 2 + 3, n - 1}, {n - 2, 3, n - 2}};
    for (const std::vector<int>& pick : picks) {
      const Clip c = ds.load(v, pick);
      ASSERT_EQ(c.T, int(pick.size()));
      ASSERT_EQ(c.H, s.h);
      ASSERT_EQ(c.W, s.w);
      for (int t = 0; t < c.T; ++t) {
        double mean;
        int max;
        compare(c, t, ref, pick[size_t(t)], mean, max);
        EXPECT_LT(mean, 0.5) << "frame " << pick[size_t(t)];
        EXPECT_LE(max, 8) << "frame " << pick[size_t(t)];
      }
    }
  }
}

TEST_F(DataVideo, LoadSeeksToTheKeyframeBeforeAndStopsAtTheLastWantedFrame) {
  const std::vector<std::string> rels = {"avi/mpeg4.avi", "mp4/h264.mp4", "mkv/mpeg4.mkv", "webm/vp8.webm",
                                         "vfr/vfr.mkv"};
  VideoFileDataset ds(split_of(rels), config());
  for (size_t v = 0; v < ds.size(); ++v) {
    SCOPED_TRACE(rels[v]);
    const VideoIndex& idx = ds.index(v);
    ASSERT_GE(idx.keyframes.size(), 2u);
    const int key = idx.keyframes[1], f = key + 2;
    const DecodeResult one = decode_video_frames(ds.file(v), idx, {f}, 0);
    ASSERT_TRUE(one.ok[0]);
    // From the keyframe to f, plus at most a few frames of B-frame delay.
    EXPECT_GE(one.frames_decoded, f - key + 1);
    EXPECT_LE(one.frames_decoded, f - key + 1 + 3);
    // Two runs far apart are two segments: the gap is seeked over, not decoded.
    const int far = idx.keyframes.back();
    const DecodeResult two = decode_video_frames(ds.file(v), idx, {1, 2, far, far + 1}, 0);
    EXPECT_EQ(std::count(two.ok.begin(), two.ok.end(), 1), 4);
    EXPECT_LE(two.frames_decoded, 3 + 2 + 2 * 3);
  }
}

TEST_F(DataVideo, VariableFrameRateKeepsEveryFrameOnce) {
  VideoFileDataset ds(split_of({"vfr/vfr.mkv"}), config());
  ASSERT_EQ(ds.num_frames(0), 30);  // the frames encoded, whatever their timing
  // Resampled to a constant rate, ffmpeg would repeat frames to fill the gaps.
  std::string out;
  ASSERT_EQ(shell("ffmpeg -nostdin -loglevel error -i " + ds.file(0) + " -f rawvideo -pix_fmt rgb24 - | wc -c", out), 0);
  EXPECT_GT(std::stol(out), 30L * 64 * 48 * 3);
  std::vector<int> all(30);
  for (int i = 0; i < 30; ++i) all[size_t(i)] = i;
  const Clip c = ds.load(0, all);
  for (int t = 1; t < 30; ++t) {  // a repeated frame would differ by ~0 from its neighbour
    double d = 0;
    for (size_t i = 0; i < c.frame_size(); ++i) d += std::abs(int(c.frame(t)[i]) - int(c.frame(t - 1)[i]));
    EXPECT_GT(d / double(c.frame_size()), 20.0) << "frames " << t - 1 << " and " << t << " are alike";
  }
  const VideoIndex& idx = ds.index(0);
  const double tb = double(idx.tb_num) / idx.tb_den;
  EXPECT_NEAR((idx.pts[10] - idx.pts[9]) * tb, 9 * 0.04, 0.002);
  EXPECT_NEAR((idx.pts[20] - idx.pts[19]) * tb, 14 * 0.04, 0.002);
  EXPECT_NEAR((idx.pts[9] - idx.pts[8]) * tb, 0.04, 0.002);
  EXPECT_NEAR(idx.duration_s, (30 + 21) * 0.04, 0.05);
}

TEST_F(DataVideo, ShortSideScalesLikeFfmpegsAreaScaleFilter) {
  VideoFileConfig c = config();
  c.short_side = 24;
  VideoFileDataset ds(split_of({"mp4/h264.mp4"}), c);
  const Raw ref = reference(ds.file(0), 32, 24, "-vf scale=32:24:flags=area");
  const Clip got = ds.load(0, {0, 17, 39});
  ASSERT_EQ(got.H, 24);
  ASSERT_EQ(got.W, 32);
  for (int t = 0; t < 3; ++t) {
    double mean;
    int max;
    compare(got, t, ref, std::vector<int>{0, 17, 39}[size_t(t)], mean, max);
    EXPECT_LT(mean, 1.0) << t;
  }
}

TEST_F(DataVideo, IndexCacheIsReusedAndRebuiltWhenTheFileChanges) {
  TempDir tmp;
  encode(tmp.path(), "c/v.mp4", "-c:v libx264 -preset veryfast -g 5 -pix_fmt yuv420p", 20);
  VideoFileConfig c = config();
  c.root = tmp.path();
  c.cache_dir = "";  // ROOT/.vididi_index
  const SplitList split = split_of({"c/v.mp4"});
  {
    VideoFileDataset first(split, c);
    EXPECT_EQ(first.indexed_from_cache(), 0u);
    EXPECT_EQ(first.cache_path(0), tmp.path() + "/.vididi_index/c/v.mp4.idx");
    EXPECT_TRUE(std::filesystem::exists(first.cache_path(0)));
  }
  VideoFileDataset again(split, c);
  EXPECT_EQ(again.indexed_from_cache(), 1u);
  EXPECT_EQ(again.num_frames(0), 20);
  EXPECT_EQ(again.index(0).keyframes, (std::vector<int>{0, 5, 10, 15}));
  const Clip from_cache = again.load(0, {7, 13});
  VideoFileConfig fresh = c;
  fresh.cache_dir = "none";
  EXPECT_EQ(from_cache.px, VideoFileDataset(split, fresh).load(0, {7, 13}).px);  // as with a fresh index
  // A re-encoded file (new size and mtime) is indexed again.
  encode(tmp.path(), "c/v.mp4", "-c:v libx264 -preset veryfast -g 5 -pix_fmt yuv420p", 12);
  VideoFileDataset changed(split, c);
  EXPECT_EQ(changed.indexed_from_cache(), 0u);
  EXPECT_EQ(changed.num_frames(0), 12);
  // Only the mtime changes: indexed again too.
  std::filesystem::last_write_time(changed.file(0), std::filesystem::last_write_time(changed.file(0)) +
                                                        std::chrono::seconds(5));
  EXPECT_EQ(VideoFileDataset(split, c).indexed_from_cache(), 0u);
  EXPECT_EQ(VideoFileDataset(split, c).indexed_from_cache(), 1u);
  // A damaged cache file is not an error: it is rebuilt.
  testing::write_file(changed.cache_path(0), "vididi-video-index 1\nframes 3\n1 -\n");
  VideoFileDataset repaired(split, c);
  EXPECT_EQ(repaired.indexed_from_cache(), 0u);
  EXPECT_EQ(repaired.num_frames(0), 12);
}

TEST_F(DataVideo, TruncatedFileKeepsTheFramesThatComeOutAndFlagsTheBrokenOne) {
  TempDir tmp;
  encode(tmp.path(), "t/cut.avi", "-c:v mpeg4 -g 10 -bf 0 -q:v 3", 30);
  const std::string file = tmp.path() + "/t/cut.avi";
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  testing::write_file(file, bytes.substr(0, bytes.size() * 6 / 10));
  const Raw ref = reference(file, 64, 48);
  ASSERT_GT(ref.frames, 0);
  ASSERT_LT(ref.frames, 30);
  VideoFileConfig c = config(OnCorrupt::skip);
  c.root = tmp.path();
  VideoFileDataset ds(split_of({"t/cut.avi"}), c);
  ASSERT_EQ(ds.num_frames(0), ref.frames);  // what ffmpeg gets, not the 30 the header promised
  std::vector<int> all(size_t(ref.frames));
  for (int i = 0; i < ref.frames; ++i) all[size_t(i)] = i;
  const Clip got = ds.load(0, all);  // skip: a frame that decodes with errors is replaced
  const size_t flagged = ds.corrupt_frames();
  EXPECT_LE(flagged, 1u);
  for (int t = 0; t + int(flagged) < ref.frames; ++t) {
    double mean;
    int max;
    compare(got, t, ref, t, mean, max);
    EXPECT_LT(mean, 0.5) << t;
  }
  if (flagged) {
    c.on_corrupt = OnCorrupt::stop;
    VideoFileDataset strict(split_of({"t/cut.avi"}), c);
    expect_data_error([&] { strict.load(0, {ref.frames - 1}); },
                      {file, "expected frame " + std::to_string(ref.frames - 1), "to decode", "on_corrupt = skip"});
  }
}

TEST_F(DataVideo, DamagedMissingAndMislabelledFilesFailNamingTheFileOrAreLeftOut) {
  TempDir tmp;
  encode(tmp.path(), "k/good.avi", "-c:v mpeg4 -g 10 -q:v 3", 12);
  testing::write_file(tmp.path() + "/k/text.avi", "this is not a video\n");
  VideoFileConfig c = config();
  c.root = tmp.path();
  expect_data_error([&] { VideoFileDataset(split_of({"k/good.avi", "k/text.avi"}), c); },
                    {tmp.path() + "/k/text.avi", "expected a video file FFmpeg can open", "Hint:"});
  c.on_corrupt = OnCorrupt::skip;
  VideoFileDataset kept(split_of({"k/good.avi", "k/text.avi"}), c);
  EXPECT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept.skipped_videos(), 1u);
  EXPECT_EQ(kept.num_frames(0), 12);
  expect_data_error([&] { VideoFileDataset(split_of({"k/absent.mp4"}), c); },
                    {tmp.path() + "/k/absent.{avi,mp4", "expected a video file", "found none"});
  std::filesystem::create_directories(tmp.path() + "/k/folder");
  expect_data_error([&] { VideoFileDataset(split_of({"k/folder"}), c); }, {"video_format = frames"});
  expect_data_error([&] { kept.load(0, {12}); }, {"good.avi", "expected frame index in [0, 12)"});
}

TEST_F(DataVideo, FormatIsDetectedAndOpenSourceBuildsEither) {
  const SplitList videos = split_of({"avi/mpeg4.avi", "mp4/h264.mp4"});
  EXPECT_EQ(detect_video_format(tmp_->path(), videos), VideoFormat::video);
  SourceConfig sc;
  sc.root = tmp_->path();
  sc.index_cache = "none";
  auto src = open_source(videos, sc);
  ASSERT_TRUE(dynamic_cast<VideoFileDataset*>(src.get()));
  EXPECT_EQ(src->num_frames(1), 40);
  TempDir frames;  // the same names as frame folders
  for (const char* d : {"avi/mpeg4", "mp4/h264"}) {
    std::filesystem::create_directories(frames / d);
    std::string out;
    ASSERT_EQ(shell("ffmpeg -nostdin -loglevel error -i " + tmp_->path() + "/" + d + (d[0] == 'a' ? ".avi" : ".mp4") +
                        " -fps_mode passthrough " + frames / d + "/img_%05d.jpg", out), 0) << out;
  }
  EXPECT_EQ(detect_video_format(frames.path(), videos), VideoFormat::frames);
  sc.root = frames.path();
  auto folders = open_source(videos, sc);
  ASSERT_TRUE(dynamic_cast<FrameFolderDataset*>(folders.get()));
  EXPECT_EQ(folders->num_frames(0), 30);
  EXPECT_EQ(folders->num_frames(1), src->num_frames(1));  // extraction and direct decoding agree
  std::filesystem::copy_file(tmp_->path() + "/avi/mpeg4.avi", frames / "mp4/h264.avi");
  std::filesystem::remove_all(frames / "mp4/h264");
  expect_data_error([&] { detect_video_format(frames.path(), videos); }, {"found both", "video_format"});
  expect_data_error([&] { detect_video_format(frames.path(), split_of({"x/none"})); }, {"found neither", "x/none"});
  EXPECT_EQ(parse_video_format("auto"), VideoFormat::auto_detect);
  EXPECT_EQ(parse_on_corrupt("skip"), OnCorrupt::skip);
  expect_data_error([] { parse_video_format("mp4"); }, {"video_format", "expected frames, video or auto", "'mp4'"});
}

// ffmpeg's own frames of some files, as a VideoSource: the reference for the loader test.
class RawSource : public VideoSource {
 public:
  RawSource(std::vector<Raw> raws, int h, int w) : raws_(std::move(raws)), h_(h), w_(w) {}
  size_t size() const override { return raws_.size(); }
  int num_classes() const override { return 1; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int label(size_t) const override { return 0; }
  int num_frames(size_t v) const override { return raws_[v].frames; }
  std::string name(size_t v) const override { return "raw:" + std::to_string(v); }
  Clip load(size_t v, const std::vector<int>& f) const override {
    Clip c(int(f.size()), h_, w_, 3);
    for (size_t t = 0; t < f.size(); ++t)
      std::memcpy(c.frame(int(t)), raws_[v].px.data() + size_t(f[t]) * c.frame_size(), c.frame_size());
    return c;
  }

 private:
  std::vector<Raw> raws_;
  int h_, w_;
  std::vector<std::string> names_ = {"all"};
};

TEST_F(DataVideo, LoaderBatchesFromVideoFilesMatchThoseFromFfmpegsFrames) {
  const std::vector<std::string> rels = {"avi/mpeg4.avi", "avi/bframes.avi", "mp4/h264.mp4", "vfr/vfr.mkv"};
  auto files = open_video_files(split_of(rels), config());
  std::vector<Raw> raws;
  for (size_t v = 0; v < rels.size(); ++v) raws.push_back(reference(files->file(v), 64, 48));
  auto raw = std::make_shared<RawSource>(raws, 48, 64);
  ClipConfig clip;
  clip.frames = 8, clip.extra_frames = 2, clip.stride = 2;  // span 19 of 24..40 frames
  clip.augment.out_h = clip.augment.out_w = 32;
  LoaderConfig lc;
  lc.batch_size = 2, lc.workers = 2, lc.seed = 3;
  Loader a(files, clip, lc), b(raw, clip, lc);
  EXPECT_EQ(a.sampler().short_videos(), 0u);
  size_t batches = 0;
  for (Batch x, y; a.next(x);) {
    ASSERT_TRUE(b.next(y));
    ASSERT_EQ(x.video_ids, y.video_ids);
    for (size_t v = 0; v < x.views.size(); ++v) {
      double err = 0;
      for (size_t i = 0; i < x.views[v].numel(); ++i) err += std::abs(x.views[v].data.get()[i] - y.views[v].data.get()[i]);
      EXPECT_LT(err / double(x.views[v].numel()), 0.01) << "batch " << batches << " view " << v;
    }
    ++batches;
  }
  EXPECT_EQ(batches, 2u);
}

}  // namespace
}  // namespace vd::data
