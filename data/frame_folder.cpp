// data/frame_folder.cpp: frame-folder scanning (counts, numbering checks) and
// frame decoding with the corrupt-frame policy.
#include "data/frame_folder.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "data/error.h"
#include "data/image.h"

namespace vd::data {
namespace {

const char* kPrepareHint =
    "frame folders are made by tools/prepare_frames.py; check that the root is the folder "
    "holding <class>/<video>/ and that extraction finished";

std::mutex& warn_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

FrameFolderDataset::FrameFolderDataset(const SplitList& split, FrameFolderConfig config)
    : config_(std::move(config)), classes_(split.classes), videos_(split.videos),
      corrupt_(std::make_unique<std::atomic<size_t>>(0)) {
  // "img_%05d.jpg" -> prefix "img_", 5 digits, suffix ".jpg".
  const std::string& p = config_.frame_pattern;
  size_t pc = p.find('%');
  size_t d = p.find('d', pc == std::string::npos ? 0 : pc);
  if (pc == std::string::npos || d == std::string::npos || p.find('%', pc + 1) != std::string::npos)
    fail("FrameFolderConfig", "expected a frame pattern with one %d or %0Nd, got '" + p + "'",
         "the default is img_%05d.jpg");
  pattern_.prefix = p.substr(0, pc);
  pattern_.suffix = p.substr(d + 1);
  std::string width = p.substr(pc + 1, d - pc - 1);
  pattern_.digits = width.empty() ? 0 : std::atoi(width.c_str());
  if (videos_.empty()) fail(config_.root, "expected at least one video in the split, got none",
                            "check the split file and subset");
  frames_.reserve(videos_.size());
  for (size_t v = 0; v < videos_.size(); ++v) frames_.push_back(count_frames(folder(v)));
}

int FrameFolderDataset::count_frames(const std::string& dir) const {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    fail(dir, "expected a frame folder for this video, found no folder", kPrepareHint);
  int count = 0, highest = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    const std::string& pre = pattern_.prefix;
    const std::string& suf = pattern_.suffix;
    if (n.size() <= pre.size() + suf.size() || n.compare(0, pre.size(), pre) != 0 ||
        n.compare(n.size() - suf.size(), suf.size(), suf) != 0)
      continue;
    const std::string num = n.substr(pre.size(), n.size() - pre.size() - suf.size());
    bool digits = num.size() <= 9;
    for (char c : num) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits) continue;
    ++count;
    highest = std::max(highest, std::atoi(num.c_str()));
  }
  if (ec) fail(dir, "cannot list frame folder (" + ec.message() + ")", kPrepareHint);
  if (count == 0)
    fail(dir, "expected frames named like '" + config_.frame_pattern + "', found none (empty video)",
         kPrepareHint);
  if (highest != count)
    fail(dir, "expected frames numbered 1.." + std::to_string(count) + " without gaps, found " +
                  std::to_string(count) + " frames numbered up to " + std::to_string(highest),
         "re-extract this video (delete the folder and rerun tools/prepare_frames.py)");
  return count;
}

std::string FrameFolderDataset::frame_path(size_t v, int frame) const {
  char num[32];
  std::snprintf(num, sizeof num, "%0*d", pattern_.digits, frame + 1);
  return folder(v) + "/" + pattern_.prefix + num + pattern_.suffix;
}

size_t FrameFolderDataset::total_frames() const {
  size_t n = 0;
  for (int f : frames_) n += size_t(f);
  return n;
}

Image FrameFolderDataset::decode_one(size_t v, int f) const {
  auto decode = [&](int frame) {
    Image img = decode_image_file(frame_path(v, frame));
    return config_.short_side > 0 ? resize_short_side(img, config_.short_side) : img;
  };
  if (config_.on_corrupt == OnCorrupt::stop) return decode(f);
  std::string first_error;
  const int n = frames_[v];
  for (int k = 0; k <= 2 * n; ++k) {  // candidates f, f+1, f-1, f+2, f-2, ...
    const int cand = f + (k % 2 ? (k + 1) / 2 : -(k / 2));
    if (cand < 0 || cand >= n) continue;
    try {
      Image img = decode(cand);
      if (cand != f) {
        const size_t skipped = ++*corrupt_;
        std::lock_guard<std::mutex> lock(warn_mutex());
        std::cerr << "vididi data: warning: frame " << frame_path(v, f) << " does not decode; using frame "
                  << cand + 1 << " of the same video instead (on_corrupt = skip, " << skipped
                  << " skipped so far)\n";
      }
      return img;
    } catch (const DataError& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  fail(folder(v), "expected at least one readable frame, none of its " + std::to_string(n) +
                      " frames decodes (first error: " + first_error + ")",
       "re-extract this video or remove it from the split file");
}

Clip FrameFolderDataset::load(size_t v, const std::vector<int>& frames) const {
  Clip out;
  for (size_t i = 0; i < frames.size(); ++i) {
    const int f = frames[i];
    if (f < 0 || f >= frames_[v])
      fail(folder(v), "expected frame index in [0, " + std::to_string(frames_[v]) + "), got " +
                          std::to_string(f), "this is a bug in the clip sampler");
    Image img = decode_one(v, f);
    if (i == 0) out = Clip(int(frames.size()), img.H, img.W, img.C);
    if (img.H != out.H || img.W != out.W) img = resize(img, out.H, out.W);  // odd frame size
    std::memcpy(out.frame(int(i)), img.px.data(), out.frame_size());
  }
  return out;
}

}  // namespace vd::data
