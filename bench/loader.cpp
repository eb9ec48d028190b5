// bench/loader.cpp: how fast the data layer feeds training. Exports the
// synthetic set once as JPEG frame folders at short side 128 (128x171, like
// UCF101 after tools/prepare_frames.py), then measures
//   1. JPEG decode, frames/s on one core;
//   2. decode + clip augmentation (crop to 112, jitter, normalise), frames/s on one core;
//   3. the Loader: R3D-18 training clips/s, 16x112x112 with 2 extra frames
//      (second derivative), two views with independent starts, batch 16,
//      for 1, 2 and all hardware threads;
//   4. the same Loader decoding video files directly (data/video_file.h):
//      320x240 clips made here with the ffmpeg binary (testsrc2 with noise, so
//      that the bitrate is UCF101's, ~400 kbit/s), mpeg4 in .avi (GOP 12, as
//      Xvid), h264 in .mp4 (x264 defaults: GOP up to 250, so these 150-frame
//      videos are one GOP and every clip decodes from frame 0; B-frames) and
//      h264 in .mkv with GOP 16, decoded to short side 128; and one thread
//      decoding 18-frame clips.
// Frames are read from the page cache (the export just wrote them): disk
// bandwidth is not measured. Each figure is given per wall-clock second and
// per CPU second (process CPU time), since on a shared machine the two differ.
// It is not a test: it prints figures only. Part 4 is left out when vididi is
// built without FFmpeg or the ffmpeg binary is missing.
//
//   build/bench_loader [seconds per measurement = 4] [work dir = /tmp/vididi_bench_frames]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "data/augment.h"
#include "data/frame_folder.h"
#include "data/image.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "data/video_decode.h"
#include "data/video_file.h"

using namespace vd::data;
using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// User + system CPU seconds of the whole process (all threads).
static double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Loader clips/s over `source` for 1, 2 (and all) workers.
static void measure_loader(std::shared_ptr<const VideoSource> source, const ClipConfig& clip, double budget,
                           int hw) {
  std::vector<int> counts = {1, 2};
  if (hw > 2) counts.push_back(hw);
  for (int threads : counts) {
    LoaderConfig lc;
    lc.batch_size = 16;
    lc.workers = threads;
    lc.prefetch_batches = 2 + threads / 8;
    Loader loader(source, clip, lc);
    size_t clips = 0;
    int64_t epoch = 0;
    Batch b;
    loader.next(b);  // warm-up: threads started, first batch filled
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    while (seconds_since(t0) < budget) {
      if (!loader.next(b)) {
        loader.start_epoch(++epoch);
        continue;
      }
      clips += size_t(b.views[0].N);
    }
    const double cps = clips / seconds_since(t0), per_cpu = clips / (cpu_seconds() - c0);
    std::printf("  %2d worker%s %7.1f clips/s wall (%6.0f frames/s), %5.1f clips per CPU second\n", threads,
                threads == 1 ? ": " : "s:", cps, cps * 36, per_cpu);
  }
}

// Part 4: 16 videos of 150 frames at 320x240 per codec, made once under dir.
static void measure_video_files(const std::string& dir, const ClipConfig& clip, double budget, int hw) {
  if (!video_decoding_available() || std::system("ffmpeg -version >/dev/null 2>&1") != 0) {
    std::printf("video files: skipped (%s)\n", video_decoding_available() ? "no ffmpeg binary" : "built without FFmpeg");
    return;
  }
  struct Codec {
    const char* name, *ext, *args;
  };
  const Codec codecs[] = {{"mpeg4 .avi, GOP 12", "avi", "-c:v mpeg4 -g 12 -bf 0 -b:v 400k"},
                          {"h264 .mp4, x264 defaults", "mp4", "-c:v libx264 -b:v 400k -pix_fmt yuv420p"},
                          {"h264 .mkv, GOP 16", "mkv", "-c:v libx264 -g 16 -b:v 400k -pix_fmt yuv420p"}};
  for (const Codec& c : codecs) {
    SplitList split;
    split.classes = {"Bench"};
    const std::string root = dir + "/videos_" + c.ext;
    for (int v = 0; v < 16; ++v) {
      const std::string rel = "Bench/v" + std::to_string(v);
      const std::string file = root + "/" + rel + "." + c.ext;
      split.videos.push_back({rel, 0});
      if (std::filesystem::exists(file)) continue;
      std::filesystem::create_directories(root + "/Bench");
      const std::string cmd = "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=25 "
                              "-vf noise=alls=12:allf=t+u,hue=H=t*" + std::to_string(v + 1) +
                              " -frames:v 150 " + c.args + " " + file;
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("ffmpeg failed: " + cmd);
    }
    VideoFileConfig vc;
    vc.root = root;
    vc.short_side = 128;
    const auto t0 = Clock::now();
    auto ds = open_video_files(split, vc);
    std::printf("video files, %s: 16 x 150 frames 320x240 (%.0f kB each), opened in %.2f s (%zu indexes from cache)\n",
                c.name, std::filesystem::file_size(ds->file(0)) / 1024.0, seconds_since(t0), ds->indexed_from_cache());
    size_t clips = 0;
    const auto t1 = Clock::now();
    const double c1 = cpu_seconds();
    for (uint64_t i = 0; seconds_since(t1) < budget; ++i, ++clips) {
      Rng rng(0, 0, i, kSample);
      const int start = int(rng.integer(0, 150 - 18));
      std::vector<int> idx(18);
      for (int t = 0; t < 18; ++t) idx[t] = start + t;
      ds->load(i % ds->size(), idx);
    }
    std::printf("  decode an 18-frame clip at a random start to 171x128, one thread: %6.1f clips/s wall, %6.1f per CPU second\n",
                clips / seconds_since(t1), clips / (cpu_seconds() - c1));
    measure_loader(ds, clip, budget, hw);
  }
}

int main(int argc, char** argv) {
  const double budget = argc > 1 ? std::atof(argv[1]) : 4.0;
  const std::string dir = argc > 2 ? argv[2] : "/tmp/vididi_bench_frames";
  const int hw = std::max(1, int(std::thread::hardware_concurrency()));
  try {
    SyntheticConfig train;
    train.height = 128, train.width = 171, train.frames = 120, train.videos_per_class = 4;
    SyntheticConfig test = train;
    test.subset = Subset::test;
    test.videos_per_class = 1;
    if (!std::filesystem::exists(dir + "/classInd.txt")) {
      const auto t0 = Clock::now();
      const size_t n = export_synthetic(train, test, dir, 90);
      std::printf("exported %zu frames (128x171 JPEG, quality 90) to %s in %.1f s\n", n, dir.c_str(),
                  seconds_since(t0));
    }
    FrameFolderConfig fc;
    fc.root = dir;
    auto ds = std::make_shared<FrameFolderDataset>(read_ucf101_split(dir, 1, Subset::train), fc);
    std::printf("dataset: %zu videos, %zu frames; %d hardware threads\n", ds->size(), ds->total_frames(), hw);

    // 1 and 2: one core, frame by frame.
    size_t frames = 0;
    auto t0 = Clock::now();
    double c0 = cpu_seconds();
    for (; seconds_since(t0) < budget; ++frames)
      decode_image_file(ds->frame_path(frames % ds->size(), int(frames / ds->size()) % 120));
    std::printf("decode 128x171 JPEG, one thread:      %7.0f frames/s wall, %7.0f per CPU second\n",
                frames / seconds_since(t0), frames / (cpu_seconds() - c0));
    ClipConfig clip;
    clip.frames = 16;
    clip.extra_frames = 2;
    AugmentConfig& aug = clip.augment;
    std::vector<float> out(size_t(18) * 112 * 112 * 3);
    frames = 0;
    t0 = Clock::now();
    c0 = cpu_seconds();
    for (uint64_t i = 0; seconds_since(t0) < budget; ++i) {
      std::vector<int> idx(18);
      for (int t = 0; t < 18; ++t) idx[t] = t;
      const Clip c = ds->load(i % ds->size(), idx);
      Rng rng(0, 0, i, kAugment);
      AugmentParams p = draw_train_params(aug, c.H, c.W, rng);
      p.jitter = true;  // the costlier path
      apply_augment(c, p, aug, out.data());
      frames += 18;
    }
    std::printf("decode + augment to 112, one thread:  %7.0f frames/s wall, %7.0f per CPU second\n",
                frames / seconds_since(t0), frames / (cpu_seconds() - c0));

    // 3: the loader over frame folders; 4: over video files.
    std::printf("loader: 16x112x112 clips (+2 frames), two views (36 frames per clip), batch 16\n");
    std::printf("frame folders (128x171 JPEG):\n");
    measure_loader(ds, clip, budget, hw);
    measure_video_files(dir, clip, budget, hw);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_loader: %s\n", e.what());
    return 1;
  }
  return 0;
}
