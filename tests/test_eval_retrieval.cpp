// tests/test_eval_retrieval.cpp: retrieval R@k on constructed features whose
// neighbours are worked out by hand (including exact ties, broken by gallery
// index), clip averaging + L2 normalisation, and the feature file round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/errors.h"
#include "vididi/eval/retrieval.h"

using namespace vd::eval;

namespace {
// Gallery (2-D, unit rows) and labels:
//   g0 ( 1, 0) c0   g1 (0, 1) c1   g2 (1, 0) c1   g3 (-1, 0) c2
//   g4 (.6,.8) c2   g5 (0,-1) c0
const std::vector<float> kGallery{1, 0, 0, 1, 1, 0, -1, 0, 0.6f, 0.8f, 0, -1};
const std::vector<int> kGalleryLabels{0, 1, 1, 2, 2, 0};
// Queries and, by hand, the rank of their first same-class neighbour:
//   q0 ( 1, 0) c1: g0=1 g2=1 (tie: g0 first) g4 g1 g5 g3 -> labels 0 1 ..  rank 2
//   q1 ( 1, 0) c0: g0 first                                           rank 1
//   q2 ( 0, 1) c2: g1 g4 g0 g2 g3 g5 -> labels 1 2 ..                  rank 2
//   q3 ( 0,-1) c1: g5 g0 g2 g3 g4 g1 (0-score ties in index order)     rank 3
//   q4 (-1, 0) c3: no gallery video of class 3                        never
const std::vector<float> kQuery{1, 0, 1, 0, 0, 1, 0, -1, -1, 0};
const std::vector<int> kQueryLabels{1, 0, 2, 1, 3};
}  // namespace

TEST(EvalRetrieval, RankingBreaksTiesByGalleryIndex) {
  auto order = rank_gallery(kQuery.data() + 6, kGallery, 2);  // q3
  EXPECT_EQ(order, (std::vector<int64_t>{5, 0, 2, 3, 4, 1}));
  order = rank_gallery(kQuery.data(), kGallery, 2);  // q0
  EXPECT_EQ(order, (std::vector<int64_t>{0, 2, 4, 1, 5, 3}));
}

TEST(EvalRetrieval, RecallMatchesHandComputedRanks) {
  RecallResult r = recall_at_k(kQuery, kQueryLabels, kGallery, kGalleryLabels, 2, {1, 2, 3, 5, 10});
  EXPECT_EQ(r.queries, 5);
  EXPECT_EQ(r.gallery, 6);
  // first-hit ranks 2, 1, 2, 3, never; k = 10 > G counts the whole gallery.
  EXPECT_DOUBLE_EQ(r.at(1), 1.0 / 5);
  EXPECT_DOUBLE_EQ(r.at(2), 3.0 / 5);
  EXPECT_DOUBLE_EQ(r.at(3), 4.0 / 5);
  EXPECT_DOUBLE_EQ(r.at(5), 4.0 / 5);
  EXPECT_DOUBLE_EQ(r.at(10), 4.0 / 5);
  EXPECT_THROW(r.at(4), vd::Error);
}

TEST(EvalRetrieval, RefusesBadInput) {
  EXPECT_THROW(recall_at_k(kQuery, kQueryLabels, kGallery, kGalleryLabels, 2, {5, 1}), vd::Error);
  EXPECT_THROW(recall_at_k(kQuery, kQueryLabels, kGallery, kGalleryLabels, 3), vd::Error);
  EXPECT_THROW(recall_at_k({}, {}, kGallery, kGalleryLabels, 2), vd::Error);
}

TEST(EvalRetrieval, VideoEmbeddingAveragesClipsThenNormalises) {
  VideoFeatures f;
  f.videos = 2; f.clips = 2; f.dim = 2;
  // video 0: clips (2, 0) and (0, 2) -> mean (1, 1) -> (1/sqrt2, 1/sqrt2)
  // video 1: clips (3, 4) and (3, 4) -> (0.6, 0.8)
  f.data = {2, 0, 0, 2, 3, 4, 3, 4};
  f.labels = {0, 1};
  auto e = f.video_embeddings();
  const float h = float(1 / std::sqrt(2.0));
  EXPECT_NEAR(e[0], h, 1e-6); EXPECT_NEAR(e[1], h, 1e-6);
  EXPECT_NEAR(e[2], 0.6, 1e-6); EXPECT_NEAR(e[3], 0.8, 1e-6);
}

TEST(EvalRetrieval, ProtocolUsesTestAsQueriesAndTrainAsGallery) {
  // Scaled, two-clip copies of the constructed features: the same recall.
  auto two_clips = [](const std::vector<float>& rows, const std::vector<int>& labels) {
    VideoFeatures f;
    f.videos = int64_t(labels.size()); f.clips = 2; f.dim = 2; f.labels = labels;
    for (size_t v = 0; v < labels.size(); ++v)
      for (int c = 0; c < 2; ++c)
        for (int d = 0; d < 2; ++d) f.data.push_back(rows[v * 2 + d] * float(c + 1) * 3.f);
    return f;
  };
  RecallResult r = evaluate_retrieval(two_clips(kGallery, kGalleryLabels),
                                      two_clips(kQuery, kQueryLabels), {1, 2, 3});
  EXPECT_DOUBLE_EQ(r.at(1), 0.2);
  EXPECT_DOUBLE_EQ(r.at(2), 0.6);
  EXPECT_DOUBLE_EQ(r.at(3), 0.8);
  std::string json = recall_json(r);
  EXPECT_NE(json.find("\"1\": 0.200000"), std::string::npos) << json;
  std::string table = recall_table({{"random", r}});
  EXPECT_NE(table.find("R@3"), std::string::npos);
  EXPECT_NE(table.find("20.0"), std::string::npos) << table;
}

TEST(EvalRetrieval, FeatureFileRoundTripAndTruncation) {
  VideoFeatures f;
  f.videos = 3; f.clips = 2; f.dim = 3;
  for (int i = 0; i < 18; ++i) f.data.push_back(0.25f * i - 1);
  f.labels = {2, 0, 1};
  f.names = {"A/v_a", "B/v_b", ""};
  f.class_names = {"A", "B", "C"};
  const std::string path = ::testing::TempDir() + "eval_feat_roundtrip.vdf";
  save_features(f, path);
  VideoFeatures g = load_features(path);
  EXPECT_EQ(g.videos, 3); EXPECT_EQ(g.clips, 2); EXPECT_EQ(g.dim, 3);
  EXPECT_EQ(g.data, f.data);
  EXPECT_EQ(g.labels, f.labels);
  EXPECT_EQ(g.names, f.names);
  EXPECT_EQ(g.class_names, f.class_names);
  // Truncate: the reader refuses with a message naming the file.
  {
    std::ifstream is(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(is)), {});
    std::ofstream os(path, std::ios::binary | std::ios::trunc);
    os.write(bytes.data(), std::streamsize(bytes.size() - 5));
  }
  try {
    load_features(path);
    FAIL() << "expected vd::Error";
  } catch (const vd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_features(path + ".missing"), vd::Error);
  std::remove(path.c_str());
}
