// vididi/eval/retrieval.cpp: video embeddings, cosine ranking with
// deterministic ties, R@k, table and JSON printing (the feature file
// reader/writer is feature_file.cpp). Everything here is plain host arithmetic on float vectors.
#include "vididi/eval/retrieval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
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

std::vector<std::vector<Neighbour>> nearest_neighbours(const VideoFeatures& train, const VideoFeatures& test, int k) {
  VD_CHECK(train.dim == test.dim && k >= 1, "nearest_neighbours: expected features of one dim and k >= 1, got dims "
                                                << train.dim << " and " << test.dim << ", k " << k);
  const std::vector<float> g = train.video_embeddings(), q = test.video_embeddings();
  const int64_t D = train.dim;
  std::vector<std::vector<Neighbour>> out(size_t(test.videos));
  for (int64_t i = 0; i < test.videos; ++i) {
    const std::vector<int64_t> order = rank_gallery(q.data() + i * D, g, D);
    for (size_t r = 0; r < order.size() && r < size_t(k); ++r) {
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += double(q[size_t(i * D + d)]) * double(g[size_t(order[r] * D + d)]);
      out[size_t(i)].push_back(Neighbour{order[r], s});
    }
  }
  return out;
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
