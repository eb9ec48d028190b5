// vididi/eval/retrieval.h: the retrieval protocol of DESIGN.md §7 on features
// that are already extracted, plus the feature file format. Per video, the
// pooled encoder features of its clips are averaged and L2-normalised; each
// test video queries the train gallery by cosine similarity; R@k counts a hit
// when any of the k nearest gallery videos shares the query's class. Ranking
// is by similarity, ties broken by the lower gallery index, so results repeat
// exactly. Not here: running the encoder (vididi/eval/features.h).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vd::eval {

// Pooled encoder features of every evaluation clip of every video of one split.
struct VideoFeatures {
  int64_t videos = 0, clips = 0, dim = 0;
  std::vector<float> data;               // [videos, clips, dim], as the encoder gave them
  std::vector<int> labels;               // [videos]
  std::vector<std::string> names;        // [videos] (may be empty strings)
  std::vector<std::string> class_names;  // index = label

  // [videos, dim]: the mean over each video's clips, L2-normalised (a zero
  // row stays zero).
  std::vector<float> video_embeddings() const;
  // Checks that the sizes agree; `what` names the caller in the error.
  void validate(const char* what) const;
};

// Binary file (docs/PROTOCOLS.md), little-endian:
//   8 bytes  "VDFEAT01"
//   int64    videos, clips, dim, num_classes
//   per class:  uint32 length, bytes (class name)
//   per video:  int32 label, uint32 length, bytes (name)
//   float32  data[videos * clips * dim]
// Writes to path + ".tmp.PID", every write, the flush, fsync and close
// checked (a full disk is a UsageError naming the file), then renames, so a
// reader never sees half a file. The reader (vididi/eval/feature_file.cpp)
// bounds every size by the file's size before allocating, refuses NaN/inf
// values and labels outside [0, num_classes), each as a UsageError naming
// the file.
void save_features(const VideoFeatures& f, const std::string& path);
VideoFeatures load_features(const std::string& path);
// The same from a whole file's bytes (`path` names it in errors; fuzzed).
VideoFeatures parse_features(const std::string& bytes, const std::string& path);

struct RecallResult {
  std::vector<int> ks;           // e.g. 1, 5, 10, 20, 50
  std::vector<double> recall;    // fraction of queries with a hit in the top k, per k
  int64_t queries = 0, gallery = 0;
  double at(int k) const;        // recall for k; throws when k was not evaluated
};

const std::vector<int>& default_ks();  // {1, 5, 10, 20, 50}

// query [Q, dim] and gallery [G, dim] rows (already normalised: the score is
// the dot product, summed in double). A k larger than G counts the whole
// gallery. Needs Q >= 1, G >= 1, ks ascending and positive.
RecallResult recall_at_k(const std::vector<float>& query, const std::vector<int>& query_labels,
                         const std::vector<float>& gallery, const std::vector<int>& gallery_labels,
                         int64_t dim, const std::vector<int>& ks = default_ks());

// Gallery indices of query q's ranking (best first): score descending, then
// index ascending. Exposed for tests and for printing neighbours.
std::vector<int64_t> rank_gallery(const float* q, const std::vector<float>& gallery,
                                  int64_t dim);

// The k nearest gallery videos of each query (rank_gallery's order) with
// their cosine similarity: [Q][min(k, G)].
struct Neighbour {
  int64_t index = 0;
  double similarity = 0;
};
std::vector<std::vector<Neighbour>> nearest_neighbours(const VideoFeatures& train, const VideoFeatures& test, int k);

// The protocol: test videos query train videos (both as video_embeddings()).
RecallResult evaluate_retrieval(const VideoFeatures& train, const VideoFeatures& test,
                                const std::vector<int>& ks = default_ks());

// A table with one row per named result:
//   encoder        R@1    R@5   R@10   R@20   R@50
//   random        12.5   40.0   ...        (percent, one decimal)
std::string recall_table(const std::vector<std::pair<std::string, RecallResult>>& rows);
// {"queries": Q, "gallery": G, "recall": {"1": 0.125, ...}}
std::string recall_json(const RecallResult& r);

}  // namespace vd::eval
