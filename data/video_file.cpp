// data/video_file.cpp: finding the listed video files, indexing them (in
// parallel, through the on-disk cache) and loading frames with the
// corrupt-frame policy. The FFmpeg calls are in data/video_decode.cpp.
#include "data/video_file.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "data/error.h"
#include "data/video_decode.h"

namespace vd::data {
namespace {

std::mutex& warn_mutex() {
  static std::mutex m;
  return m;
}

bool is_file(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

}  // namespace

const std::vector<std::string>& video_extensions() {
  static const std::vector<std::string> exts = {".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg"};
  return exts;
}

std::string find_video_file(const std::string& root, const std::string& rel) {
  const std::string base = root + "/" + strip_video_extension(rel);
  if (base != root + "/" + rel && is_file(root + "/" + rel)) return root + "/" + rel;
  for (const std::string& e : video_extensions())
    if (is_file(base + e)) return base + e;
  return "";
}

VideoFileDataset::VideoFileDataset(const SplitList& split, VideoFileConfig config)
    : config_(std::move(config)), classes_(split.classes),
      corrupt_(std::make_unique<std::atomic<size_t>>(0)) {
  const std::string& root = config_.root;
  if (split.videos.empty())
    fail(root, "expected at least one video in the split, got none", "check the split file and subset");
  std::vector<std::string> missing;
  std::vector<std::string> files;
  for (const VideoEntry& e : split.videos) {
    files.push_back(find_video_file(root, e.path));
    if (files.back().empty()) missing.push_back(e.path);
  }
  if (!missing.empty()) {
    std::error_code ec;
    const bool folders = std::filesystem::is_directory(root + "/" + missing[0], ec);
    fail(root + "/" + missing[0] + ".{avi,mp4,mkv,webm,mov,m4v,mpg,mpeg}",
         "expected a video file for this listed video, found none (" + std::to_string(missing.size()) +
             " of " + std::to_string(files.size()) + " listed videos have no file)",
         folders ? "that path is a frame folder: use video_format = frames (or auto)"
                 : "check that the root holds <class>/<video>.<ext> and that the split file matches it");
  }
  if (!video_decoding_available())
    fail(files[0], "cannot read video files: vididi was built without FFmpeg", video_decoding_missing_hint());

  const size_t n = files.size();
  std::vector<VideoIndex> index(n);
  std::vector<char> cached(n, 0), bad(n, 0);
  std::vector<std::string> errors(n);
  std::atomic<size_t> next{0};
  std::atomic<bool> cache_on{config_.cache_dir != "none"};
  std::atomic<bool> stop{false};
  std::once_flag cache_warned;
  const std::string cache_root = config_.cache_dir.empty() ? root + "/.vididi_index" : config_.cache_dir;
  config_.cache_dir = config_.cache_dir == "none" ? "" : cache_root;
  auto rel_of = [&](size_t v) { return files[v].substr(root.size() + 1); };
  auto work = [&] {
    for (size_t v; !stop && (v = next++) < n;) {
      try {
        int64_t size = 0, mtime = 0;
        stat_file(files[v], size, mtime);
        const std::string cp = cache_root + "/" + rel_of(v) + ".idx";
        if (cache_on && read_video_index(cp, size, mtime, index[v])) {
          cached[v] = 1;
          continue;
        }
        index[v] = build_video_index(files[v], config_.timeout_s);
        std::string why;
        if (cache_on && !write_video_index(cp, index[v], why)) {
          cache_on = false;
          std::call_once(cache_warned, [&] {
            std::lock_guard<std::mutex> lock(warn_mutex());
            std::cerr << "vididi data: warning: video index cache off (" << why
                      << "); videos are indexed again next run. Hint: set the cache folder to a "
                         "writable place\n";
          });
        }
      } catch (const std::exception& e) {
        bad[v] = 1;
        errors[v] = e.what();
        if (config_.on_corrupt == OnCorrupt::stop) stop = true;
      }
    }
  };
  int threads = config_.index_threads > 0 ? config_.index_threads : int(std::thread::hardware_concurrency());
  threads = std::max(1, std::min<int>(threads, int(n)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  size_t skipped = 0;
  for (size_t v = 0; v < n; ++v) {
    if (!bad[v]) continue;
    if (config_.on_corrupt == OnCorrupt::stop) throw DataError(errors[v]);
    ++skipped;
    std::lock_guard<std::mutex> lock(warn_mutex());
    std::cerr << "vididi data: warning: leaving out " << files[v] << " (on_corrupt = skip): " << errors[v] << "\n";
  }
  for (size_t v = 0; v < n; ++v) {
    if (bad[v]) continue;
    videos_.push_back(split.videos[v]);
    files_.push_back(files[v]);
    index_.push_back(std::move(index[v]));
    from_cache_ += size_t(cached[v]);
  }
  if (!cache_on) config_.cache_dir.clear();
  if (videos_.empty())
    fail(root, "expected at least one readable video, all " + std::to_string(n) + " listed videos failed",
         "the warnings above name each file and its error");
  skipped_videos_ = skipped;
}

std::string VideoFileDataset::cache_path(size_t v) const {
  if (config_.cache_dir.empty()) return "";
  return config_.cache_dir + "/" + files_[v].substr(config_.root.size() + 1) + ".idx";
}

size_t VideoFileDataset::total_frames() const {
  size_t n = 0;
  for (const VideoIndex& i : index_) n += size_t(i.num_frames());
  return n;
}

Clip VideoFileDataset::load(size_t v, const std::vector<int>& frames) const {
  const int n = num_frames(v);
  for (int f : frames)
    if (f < 0 || f >= n)
      fail(files_[v], "expected frame index in [0, " + std::to_string(n) + "), got " + std::to_string(f),
           "this is a bug in the clip sampler");
  std::vector<int> want = frames;
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  DecodeResult got = decode_video_frames(files_[v], index_[v], want, config_.short_side, config_.timeout_s);
  std::vector<int> good;  // positions in want that decoded
  for (size_t k = 0; k < want.size(); ++k)
    if (got.ok[k]) good.push_back(int(k));
  for (size_t k = 0; k < want.size(); ++k) {
    if (got.ok[k]) continue;
    const std::string what = "expected frame " + std::to_string(want[k]) + " (0-based, of " +
                             std::to_string(n) + ") to decode, it did not" +
                             (got.error.empty() ? "" : " (" + got.error + ")");
    if (config_.on_corrupt == OnCorrupt::stop || good.empty())
      fail(files_[v], what, config_.on_corrupt == OnCorrupt::stop
                                ? "the file may be damaged: re-encode or remove it, or use on_corrupt = skip"
                                : "none of the frames asked for decodes; re-encode or remove this video");
    int best = good[0];  // the nearest decoded frame of this call
    for (int g : good)
      if (std::abs(want[size_t(g)] - want[k]) < std::abs(want[size_t(best)] - want[k])) best = g;
    const size_t skipped = ++*corrupt_;
    std::memcpy(got.clip.frame(int(k)), got.clip.frame(best), got.clip.frame_size());
    std::lock_guard<std::mutex> lock(warn_mutex());
    std::cerr << "vididi data: warning: " << files_[v] << ": " << what << "; using frame " << want[size_t(best)]
              << " instead (on_corrupt = skip, " << skipped << " skipped so far)\n";
  }
  if (want == frames) return std::move(got.clip);
  Clip out(int(frames.size()), got.clip.H, got.clip.W, 3);
  for (size_t i = 0; i < frames.size(); ++i) {
    const size_t k = size_t(std::lower_bound(want.begin(), want.end(), frames[i]) - want.begin());
    std::memcpy(out.frame(int(i)), got.clip.frame(int(k)), out.frame_size());
  }
  return out;
}

std::shared_ptr<VideoFileDataset> open_video_files(const SplitList& split, VideoFileConfig config) {
  return std::make_shared<VideoFileDataset>(split, std::move(config));
}

}  // namespace vd::data
