// data/video_index.cpp: the text form of a VideoIndex and its invalidation by
// file size and mtime. Format (one item per line, '#' lines ignored):
//   vididi-video-index 1
//   file <size> <mtime_ns>
//   codec <name> <width> <height>
//   time_base <num> <den>
//   fps <value>
//   duration <seconds>
//   timestamped <0|1>
//   frames <n>
//   then n lines "<pts> <dts or -> " where dts is given for keyframes only.
// No FFmpeg here.
#include "data/video_index.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vd::data {

int VideoIndex::keyframe_slot_before(int f) const {
  auto it = std::upper_bound(keyframes.begin(), keyframes.end(), f);
  return it == keyframes.begin() ? 0 : int(it - keyframes.begin()) - 1;
}

bool stat_file(const std::string& path, int64_t& size, int64_t& mtime_ns) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  size = int64_t(st.st_size);
  mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + int64_t(st.st_mtim.tv_nsec);
  return true;
}

bool read_video_index(const std::string& cache_path, int64_t size, int64_t mtime_ns, VideoIndex& out) {
  std::ifstream in(cache_path);
  if (!in) return false;
  std::string magic;
  int version = 0;
  if (!(in >> magic >> version) || magic != "vididi-video-index" || version != 1) return false;
  VideoIndex idx;
  std::string key;
  int timestamped = 1, n = -1;
  while (n < 0 && in >> key) {
    if (key[0] == '#') std::getline(in, key);
    else if (key == "file") in >> idx.file_size >> idx.file_mtime_ns;
    else if (key == "codec") in >> idx.codec >> idx.width >> idx.height;
    else if (key == "time_base") in >> idx.tb_num >> idx.tb_den;
    else if (key == "fps") in >> idx.fps;
    else if (key == "duration") in >> idx.duration_s;
    else if (key == "timestamped") in >> timestamped;
    else if (key == "frames") in >> n;
    else return false;
    if (!in) return false;
  }
  if (n < 1 || idx.file_size != size || idx.file_mtime_ns != mtime_ns) return false;
  idx.timestamped = timestamped != 0;
  idx.pts.reserve(size_t(n));
  for (int i = 0; i < n; ++i) {
    std::string pts, dts;
    if (!(in >> pts >> dts)) return false;
    try {
      idx.pts.push_back(std::stoll(pts));
      if (dts != "-") {
        idx.keyframes.push_back(i);
        idx.key_dts.push_back(std::stoll(dts));
      }
    } catch (const std::exception&) {
      return false;
    }
    if (i > 0 && idx.pts[i] <= idx.pts[i - 1]) return false;
  }
  if (idx.keyframes.empty() || idx.keyframes[0] != 0) return false;
  out = std::move(idx);
  return true;
}

bool write_video_index(const std::string& cache_path, const VideoIndex& idx, std::string& why) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(cache_path).parent_path(), ec);
  if (ec) {
    why = "cannot create " + std::filesystem::path(cache_path).parent_path().string() + " (" + ec.message() + ")";
    return false;
  }
  std::ostringstream s;
  s << "vididi-video-index 1\n# made by vididi (data/video_index.cpp); deleted or stale files are rebuilt\n"
    << "file " << idx.file_size << " " << idx.file_mtime_ns << "\n"
    << "codec " << (idx.codec.empty() ? "unknown" : idx.codec) << " " << idx.width << " " << idx.height << "\n"
    << "time_base " << idx.tb_num << " " << idx.tb_den << "\n";
  s.precision(17);
  s << "fps " << idx.fps << "\nduration " << idx.duration_s << "\n"
    << "timestamped " << (idx.timestamped ? 1 : 0) << "\nframes " << idx.num_frames() << "\n";
  size_t k = 0;
  for (int i = 0; i < idx.num_frames(); ++i) {
    s << idx.pts[i] << " ";
    if (k < idx.keyframes.size() && idx.keyframes[k] == i) s << idx.key_dts[k++] << "\n";
    else s << "-\n";
  }
  const std::string tmp = cache_path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << s.str();
    if (!out.flush()) {
      why = "cannot write " + tmp;
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  if (std::rename(tmp.c_str(), cache_path.c_str()) != 0) {
    why = "cannot rename " + tmp + " to " + cache_path;
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

}  // namespace vd::data
