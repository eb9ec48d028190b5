// vididi/eval/feature_file.cpp: the feature file (.vdf) writer and reader
// (format in retrieval.h). The writer checks every step and renames a
// finished temporary into place; the reader trusts nothing in the file:
// sizes are multiplied with overflow checks and bounded by the file's actual
// size before anything is allocated, values must be finite and labels in
// range. Not here: what the features are for (retrieval.cpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/errors.h"
#include "vididi/eval/retrieval.h"

namespace vd::eval {

namespace {
const char kMagic[8] = {'V', 'D', 'F', 'E', 'A', 'T', '0', '1'};

template <class T> void put(std::string& s, T v) { s.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
void put_str(std::string& s, const std::string& v) {
  put<uint32_t>(s, uint32_t(v.size()));
  s += v;
}

// Bounds-checked cursor over the file's bytes.
class Cursor {
 public:
  Cursor(const std::string& bytes, const std::string& path) : b_(bytes), path_(path) {}
  template <class T> T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str(const char* what) {
    const uint32_t n = get<uint32_t>(what);
    VD_USER_CHECK(n < (1u << 20), path_ << ": expected " << what << " under 1 MiB at byte " << pos_ - 4 << ", got "
                                        << n << " bytes; hint: the file is corrupt");
    need(n, what);
    std::string s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }
  size_t left() const { return b_.size() - pos_; }
  void need(size_t n, const char* what) const {
    VD_USER_CHECK(left() >= n, path_ << ": expected " << what << " (" << n << " bytes) at byte " << pos_
                                     << ", the file ends at byte " << b_.size()
                                     << "; hint: the file is truncated, write it again with --save_features");
  }

 private:
  const std::string& b_;
  const std::string& path_;
  size_t pos_ = 0;
};
}  // namespace

void save_features(const VideoFeatures& f, const std::string& path) {
  f.validate("save_features");
  std::string bytes(kMagic, 8);
  put<int64_t>(bytes, f.videos);
  put<int64_t>(bytes, f.clips);
  put<int64_t>(bytes, f.dim);
  put<int64_t>(bytes, int64_t(f.class_names.size()));
  for (const auto& c : f.class_names) put_str(bytes, c);
  for (int64_t v = 0; v < f.videos; ++v) {
    put<int32_t>(bytes, f.labels[size_t(v)]);
    put_str(bytes, f.names.empty() ? std::string() : f.names[size_t(v)]);
  }
  bytes.append(reinterpret_cast<const char*>(f.data.data()), f.data.size() * sizeof(float));
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  VD_USER_CHECK(fd >= 0, "save_features: cannot create " << tmp << ": " << std::strerror(errno)
                                                         << "; hint: does the folder exist and is it writable?");
  size_t done = 0;
  int err = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w < 0 ? errno : ENOSPC;
      break;
    }
    done += size_t(w);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw UsageError("save_features: writing " + path + " (" + std::to_string(bytes.size()) + " bytes) failed after " +
                         std::to_string(done) + " bytes: " + std::strerror(err) + "; hint: is the disk full?",
                     "save_features", path);
  }
}

VideoFeatures load_features(const std::string& path) {
  struct stat st {};
  VD_USER_CHECK(::stat(path.c_str(), &st) == 0, "load_features: cannot open " << path << ": " << std::strerror(errno)
                                                << "; hint: write it with `vididi retrieve --save_features`");
  VD_USER_CHECK(!S_ISDIR(st.st_mode), "load_features: " << path << ": expected a feature file, got a folder; hint: "
                                      "--load_features names the folder holding train.vdf and test.vdf");
  std::ifstream is(path, std::ios::binary);
  VD_USER_CHECK(is.good(), "load_features: cannot open " << path
                                                        << "; hint: write it with `vididi retrieve --save_features`");
  std::string bytes((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  VD_USER_CHECK(!is.bad(), "load_features: reading " << path << " failed");
  return parse_features(bytes, path);
}

VideoFeatures parse_features(const std::string& bytes, const std::string& path) {
  Cursor c(bytes, path);
  c.need(8, "the magic VDFEAT01");
  VD_USER_CHECK(std::memcmp(bytes.data(), kMagic, 8) == 0,
                "load_features: " << path << ": expected magic VDFEAT01; hint: not a vididi feature file");
  c.get<int64_t>("magic");
  VideoFeatures f;
  f.videos = c.get<int64_t>("the video count");
  f.clips = c.get<int64_t>("the clip count");
  f.dim = c.get<int64_t>("the feature dimension");
  const int64_t classes = c.get<int64_t>("the class count");
  VD_USER_CHECK(f.videos >= 0 && f.clips >= 1 && f.dim >= 1 && classes >= 0 && f.videos < (1LL << 31) &&
                    f.dim < (1LL << 24) && f.clips < (1LL << 16) && classes < (1LL << 31),
                "load_features: " << path << ": implausible header videos=" << f.videos << " clips=" << f.clips
                                  << " dim=" << f.dim << " classes=" << classes
                                  << "; expected videos in [0, 2^31), clips in [1, 2^16), dim in [1, 2^24)");
  // Everything the header promises, at least, before any allocation: 4 bytes
  // per class name, 8 per video (label, name length), 4 per value.
  int64_t values = 0, need = 0;
  const bool overflow = __builtin_mul_overflow(f.videos, f.clips, &values) ||
                        __builtin_mul_overflow(values, f.dim, &values) ||
                        __builtin_mul_overflow(values, int64_t(4), &need) ||
                        __builtin_add_overflow(need, 8 * f.videos + 4 * classes, &need);
  if (overflow || uint64_t(need) > c.left()) {
    char gib[32];
    std::snprintf(gib, sizeof gib, "%.3g GiB", double(need) / double(1 << 30));
    std::ostringstream os;
    os << "load_features: " << path << ": header says " << f.videos << " videos x " << f.clips << " clips x "
       << f.dim << " dims (" << (overflow ? "more than 2^63 bytes" : gib)
       << "), the file has " << bytes.size() << " bytes; hint: the file is truncated or corrupt";
    throw UsageError(os.str(), "load_features", path);
  }
  f.class_names.reserve(size_t(classes));
  for (int64_t k = 0; k < classes; ++k) f.class_names.push_back(c.str("a class name"));
  f.labels.reserve(size_t(f.videos));
  f.names.reserve(size_t(f.videos));
  for (int64_t v = 0; v < f.videos; ++v) {
    const int32_t label = c.get<int32_t>("a label");
    VD_USER_CHECK(label >= 0 && label < classes, "load_features: " << path << ": video " << v << " has label "
                                                                  << label << ", expected 0 <= label < " << classes
                                                                  << " (the file's class count); hint: the file is corrupt");
    f.labels.push_back(label);
    f.names.push_back(c.str("a video name"));
  }
  c.need(size_t(values) * 4, "the feature values");
  VD_USER_CHECK(c.left() == size_t(values) * 4, "load_features: " << path << ": expected " << values * 4
                                                                  << " bytes of features after byte " << c.pos()
                                                                  << ", the file has " << c.left()
                                                                  << "; hint: trailing bytes, the file is corrupt");
  f.data.resize(size_t(values));
  if (values > 0) std::memcpy(f.data.data(), bytes.data() + c.pos(), size_t(values) * 4);
  for (int64_t i = 0; i < values; ++i)
    VD_USER_CHECK(std::isfinite(f.data[size_t(i)]),
                  "load_features: " << path << ": feature " << i % f.dim << " of clip " << (i / f.dim) % f.clips
                                    << " of video " << i / (f.dim * f.clips) << " is " << f.data[size_t(i)]
                                    << "; expected finite values; hint: the encoder diverged, extract again");
  return f;
}

}  // namespace vd::eval
