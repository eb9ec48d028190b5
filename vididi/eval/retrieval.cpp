// vididi/eval/retrieval.cpp: video embeddings, cosine ranking with
// deterministic ties, R@k, the feature file reader/writer, table and JSON
// printing. Everything here is plain host arithmetic on float vectors.
#include "vididi/eval/retrieval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/errors.h"

namespace vd::eval {

void VideoFeatures::validate(const char* what) const {
  VD_CHECK(videos >= 0 && clips >= 1 && dim >= 1,
           what << ": expected videos >= 0, clips >= 1, dim >= 1, got videos=" << videos
                << " clips=" << clips << " dim=" << dim);
  VD_CHECK(int64_t(data.size()) == videos * clips * dim,
           what << ": expected " << videos * clips * dim << " feature values ([" << videos << ", "
                << clips << ", " << dim << "]), got " << data.size());
  VD_CHECK(int64_t(labels.size()) == videos,
           what << ": expected " << videos << " labels, got " << labels.size());
  VD_CHECK(names.empty() || int64_t(names.size()) == videos,
           what << ": expected " << videos << " names or none, got " << names.size());
}

std::vector<float> VideoFeatures::video_embeddings() const {
  validate("video_embeddings");
  std::vector<float> out(static_cast<size_t>(videos * dim));
  std::vector<double> acc(static_cast<size_t>(dim));
  for (int64_t v = 0; v < videos; ++v) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t c = 0; c < clips; ++c) {
      const float* f = data.data() + (v * clips + c) * dim;
      for (int64_t d = 0; d < dim; ++d) acc[d] += f[d];
    }
    double norm = 0;
    for (int64_t d = 0; d < dim; ++d) {
      acc[d] /= double(clips);
      norm += acc[d] * acc[d];
    }
    norm = std::sqrt(norm);
    double inv = norm > 0 ? 1.0 / norm : 0.0;
    for (int64_t d = 0; d < dim; ++d) out[v * dim + d] = float(acc[d] * inv);
  }
  return out;
}

// --- file format -------------------------------------------------------------

namespace {
const char kMagic[8] = {'V', 'D', 'F', 'E', 'A', 'T', '0', '1'};

template <class T> void put(std::ofstream& os, T v) { os.write(reinterpret_cast<const char*>(&v), sizeof(T)); }
void put_str(std::ofstream& os, const std::string& s) {
  put<uint32_t>(os, uint32_t(s.size()));
  os.write(s.data(), std::streamsize(s.size()));
}
template <class T> T get(std::ifstream& is, const std::string& path) {
  T v{};
  is.read(reinterpret_cast<char*>(&v), sizeof(T));
  VD_CHECK(is.good(), "load_features: " << path << " ends early; hint: the file is truncated");
  return v;
}
std::string get_str(std::ifstream& is, const std::string& path) {
  uint32_t n = get<uint32_t>(is, path);
  VD_CHECK(n < (1u << 20), "load_features: " << path << ": expected a name under 1 MiB, got "
                                             << n << " bytes; hint: the file is corrupt");
  std::string s(n, '\0');
  is.read(&s[0], n);
  VD_CHECK(is.good(), "load_features: " << path << " ends early; hint: the file is truncated");
  return s;
}
}  // namespace

void save_features(const VideoFeatures& f, const std::string& path) {
  f.validate("save_features");
  const std::string tmp = path + ".tmp";
  {
    std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
    VD_CHECK(os.good(), "save_features: cannot open " << tmp << " for writing; hint: does the folder exist?");
    os.write(kMagic, 8);
    put<int64_t>(os, f.videos);
    put<int64_t>(os, f.clips);
    put<int64_t>(os, f.dim);
    put<int64_t>(os, int64_t(f.class_names.size()));
    for (const auto& c : f.class_names) put_str(os, c);
    for (int64_t v = 0; v < f.videos; ++v) {
      put<int32_t>(os, f.labels[v]);
      put_str(os, f.names.empty() ? std::string() : f.names[v]);
    }
    os.write(reinterpret_cast<const char*>(f.data.data()), std::streamsize(f.data.size() * sizeof(float)));
    VD_CHECK(os.good(), "save_features: writing " << tmp << " failed; hint: is the disk full?");
  }
  VD_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0,
           "save_features: cannot rename " << tmp << " to " << path);
}

VideoFeatures load_features(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  VD_CHECK(is.good(), "load_features: cannot open " << path << "; hint: write it with `vididi retrieve --save_features`");
  char magic[8];
  is.read(magic, 8);
  VD_CHECK(is.good() && std::memcmp(magic, kMagic, 8) == 0,
           "load_features: " << path << ": expected magic VDFEAT01; hint: not a vididi feature file");
  VideoFeatures f;
  f.videos = get<int64_t>(is, path);
  f.clips = get<int64_t>(is, path);
  f.dim = get<int64_t>(is, path);
  int64_t classes = get<int64_t>(is, path);
  VD_CHECK(f.videos >= 0 && f.clips >= 1 && f.dim >= 1 && classes >= 0 && f.videos < (1LL << 31) &&
               f.dim < (1LL << 24) && f.clips < (1LL << 16),
           "load_features: " << path << ": implausible header videos=" << f.videos << " clips="
                             << f.clips << " dim=" << f.dim << " classes=" << classes);
  for (int64_t c = 0; c < classes; ++c) f.class_names.push_back(get_str(is, path));
  for (int64_t v = 0; v < f.videos; ++v) {
    f.labels.push_back(get<int32_t>(is, path));
    f.names.push_back(get_str(is, path));
  }
  f.data.resize(size_t(f.videos * f.clips * f.dim));
  is.read(reinterpret_cast<char*>(f.data.data()), std::streamsize(f.data.size() * sizeof(float)));
  VD_CHECK(is.good(), "load_features: " << path << " ends early; hint: the file is truncated");
  return f;
}

// --- ranking and recall ---------------------------------------------------------

const std::vector<int>& default_ks() {
  static const std::vector<int> ks{1, 5, 10, 20, 50};
  return ks;
}

double RecallResult::at(int k) const {
  for (size_t i = 0; i < ks.size(); ++i)
    if (ks[i] == k) return recall[i];
  VD_FAIL("RecallResult::at: k=" << k << " was not evaluated; hint: add it to the ks list");
}

std::vector<int64_t> rank_gallery(const float* q, const std::vector<float>& gallery, int64_t dim) {
  const int64_t G = int64_t(gallery.size()) / dim;
  std::vector<double> score(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g) {
    const float* x = gallery.data() + g * dim;
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += double(q[d]) * double(x[d]);
    score[g] = s;
  }
  std::vector<int64_t> order(static_cast<size_t>(G));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (score[a] != score[b]) return score[a] > score[b];
    return a < b;
  });
  return order;
}

RecallResult recall_at_k(const std::vector<float>& query, const std::vector<int>& query_labels,
                         const std::vector<float>& gallery, const std::vector<int>& gallery_labels,
                         int64_t dim, const std::vector<int>& ks) {
  VD_CHECK(dim >= 1, "recall_at_k: expected dim >= 1, got " << dim);
  const int64_t Q = int64_t(query_labels.size()), G = int64_t(gallery_labels.size());
  VD_CHECK(Q >= 1 && G >= 1, "recall_at_k: expected at least one query and one gallery video, got "
                                 << Q << " and " << G << "; hint: is a split empty?");
  VD_CHECK(int64_t(query.size()) == Q * dim && int64_t(gallery.size()) == G * dim,
           "recall_at_k: expected query [" << Q << ", " << dim << "] and gallery [" << G << ", "
                                           << dim << "], got " << query.size() << " and "
                                           << gallery.size() << " values");
  VD_CHECK(!ks.empty(), "recall_at_k: expected at least one k");
  for (size_t i = 0; i < ks.size(); ++i)
    VD_CHECK(ks[i] >= 1 && (i == 0 || ks[i] > ks[i - 1]),
             "recall_at_k: expected positive ascending ks, got " << ks[i] << " at position " << i);
  RecallResult r;
  r.ks = ks;
  r.recall.assign(ks.size(), 0.0);
  r.queries = Q;
  r.gallery = G;
  for (int64_t q = 0; q < Q; ++q) {
    std::vector<int64_t> order = rank_gallery(query.data() + q * dim, gallery, dim);
    // first: rank (1-based) of the first gallery video of the query's class.
    int64_t first = std::numeric_limits<int64_t>::max();  // no same-class video at all
    for (int64_t i = 0; i < G; ++i)
      if (gallery_labels[order[i]] == query_labels[q]) { first = i + 1; break; }
    for (size_t i = 0; i < ks.size(); ++i)
      if (first <= ks[i]) r.recall[i] += 1.0;
  }
  for (double& x : r.recall) x /= double(Q);
  return r;
}

RecallResult evaluate_retrieval(const VideoFeatures& train, const VideoFeatures& test,
                                const std::vector<int>& ks) {
  VD_CHECK(train.dim == test.dim, "evaluate_retrieval: train features have dim " << train.dim
                                      << ", test features " << test.dim
                                      << "; hint: extract both with the same encoder");
  return recall_at_k(test.video_embeddings(), test.labels, train.video_embeddings(), train.labels,
                     train.dim, ks);
}

std::string recall_table(const std::vector<std::pair<std::string, RecallResult>>& rows) {
  std::ostringstream os;
  size_t w = 7;
  for (const auto& row : rows) w = std::max(w, row.first.size());
  os << std::left << std::setw(int(w)) << "encoder";
  std::vector<int> ks = rows.empty() ? default_ks() : rows.front().second.ks;
  for (int k : ks) os << std::right << std::setw(7) << ("R@" + std::to_string(k));
  os << "\n";
  for (const auto& row : rows) {
    os << std::left << std::setw(int(w)) << row.first;
    for (double x : row.second.recall) os << std::right << std::setw(7) << std::fixed << std::setprecision(1) << 100 * x;
    os << "\n";
  }
  return os.str();
}

std::string recall_json(const RecallResult& r) {
  std::ostringstream os;
  os << "{\"queries\": " << r.queries << ", \"gallery\": " << r.gallery << ", \"recall\": {";
  for (size_t i = 0; i < r.ks.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", r.recall[i]);
    os << (i ? ", " : "") << "\"" << r.ks[i] << "\": " << buf;
  }
  os << "}}";
  return os.str();
}

}  // namespace vd::eval
