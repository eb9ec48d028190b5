// tests/test_data_synthetic.cpp: the synthetic dynamics dataset. Checks that
// it is deterministic, that appearance does not give the class away while
// motion does (a plain-C++ logistic regression on single-frame pixels stays
// near chance, one on frame differences does clearly better), and that the
// classes move as their names say (centroid and size of the motion energy).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/synthetic.h"

namespace vd::data {
namespace {

// Multinomial logistic regression trained by full-batch gradient descent with
// Adam and L2; features are standardised with the training set's statistics.
// Returns test accuracy.
double logistic_accuracy(std::vector<std::vector<float>> xtr, const std::vector<int>& ytr,
                         std::vector<std::vector<float>> xte, const std::vector<int>& yte,
                         int classes) {
  const size_t D = xtr[0].size(), N = xtr.size();
  std::vector<double> mu(D, 0), sd(D, 0);
  for (const auto& x : xtr)
    for (size_t j = 0; j < D; ++j) mu[j] += x[j] / double(N);
  for (const auto& x : xtr)
    for (size_t j = 0; j < D; ++j) sd[j] += (x[j] - mu[j]) * (x[j] - mu[j]) / double(N);
  for (auto* set : {&xtr, &xte})
    for (auto& x : *set)
      for (size_t j = 0; j < D; ++j) x[j] = float((x[j] - mu[j]) / std::sqrt(sd[j] + 1e-8));
  const size_t P = size_t(classes) * (D + 1);  // weights [classes, D] then biases
  std::vector<double> w(P, 0), g(P), m(P, 0), v(P, 0);
  auto scores = [&](const std::vector<float>& x, std::vector<double>& s) {
    for (int c = 0; c < classes; ++c) {
      double acc = w[size_t(classes) * D + c];
      for (size_t j = 0; j < D; ++j) acc += w[c * D + j] * x[j];
      s[c] = acc;
    }
  };
  std::vector<double> s(classes);
  const double lr = 0.01, l2 = 1e-2;
  for (int it = 1; it <= 150; ++it) {
    for (size_t p = 0; p < P; ++p) g[p] = p < size_t(classes) * D ? l2 * w[p] : 0;
    for (size_t i = 0; i < N; ++i) {
      scores(xtr[i], s);
      const double mx = *std::max_element(s.begin(), s.end());
      double z = 0;
      for (double& e : s) z += (e = std::exp(e - mx));
      for (int c = 0; c < classes; ++c) {
        const double d = (s[c] / z - (c == ytr[i])) / double(N);
        for (size_t j = 0; j < D; ++j) g[c * D + j] += d * xtr[i][j];
        g[size_t(classes) * D + c] += d;
      }
    }
    for (size_t p = 0; p < P; ++p) {
      m[p] = 0.9 * m[p] + 0.1 * g[p];
      v[p] = 0.999 * v[p] + 0.001 * g[p] * g[p];
      w[p] -= lr * (m[p] / (1 - std::pow(0.9, it))) / (std::sqrt(v[p] / (1 - std::pow(0.999, it))) + 1e-8);
    }
  }
  int right = 0;
  for (size_t i = 0; i < xte.size(); ++i) {
    scores(xte[i], s);
    right += int(std::max_element(s.begin(), s.end()) - s.begin()) == yte[i];
  }
  return double(right) / double(xte.size());
}

// Average pooling of one frame [H, W, 3] by `k`, keeping colour or summing it.
std::vector<float> pool(const uint8_t* f, int H, int W, int k, bool colour) {
  std::vector<float> out;
  for (int y = 0; y < H; y += k)
    for (int x = 0; x < W; x += k)
      for (int ch = 0; ch < (colour ? 3 : 1); ++ch) {
        float acc = 0;
        for (int dy = 0; dy < k; ++dy)
          for (int dx = 0; dx < k; ++dx)
            for (int c2 = colour ? ch : 0; c2 < (colour ? ch + 1 : 3); ++c2)
              acc += f[((y + dy) * W + x + dx) * 3 + c2];
        out.push_back(acc / (255.f * k * k));
      }
  return out;
}

TEST(DataSynthetic, SingleFramesNearChanceFrameDifferencesClearlyBetter) {
  SyntheticConfig cfg;
  cfg.height = cfg.width = 32;
  cfg.frames = 16;
  cfg.videos_per_class = 60;
  SyntheticConfig test_cfg = cfg;
  test_cfg.subset = Subset::test;
  test_cfg.videos_per_class = 30;
  const SyntheticDynamics train(cfg), test(test_cfg);
  const int C = train.num_classes();
  auto features = [&](const SyntheticDynamics& set, bool motion, std::vector<std::vector<float>>& x,
                      std::vector<int>& y) {
    for (size_t v = 0; v < set.size(); ++v) {
      const Clip clip = set.render(v);
      y.push_back(set.label(v));
      if (!motion) {
        x.push_back(pool(clip.frame(clip.T / 2), clip.H, clip.W, 2, true));
        continue;
      }
      // |x[t+1] - x[t]| pooled 4x4, all t: the sign of a difference depends on
      // the object's contrast with the background, which is random by design.
      std::vector<uint8_t> diff(clip.frame_size());
      std::vector<float> f;
      for (int t = 0; t + 1 < clip.T; ++t) {
        for (size_t i = 0; i < diff.size(); ++i)
          diff[i] = uint8_t(std::abs(int(clip.frame(t + 1)[i]) - int(clip.frame(t)[i])));
        std::vector<float> p = pool(diff.data(), clip.H, clip.W, 4, false);
        f.insert(f.end(), p.begin(), p.end());
      }
      x.push_back(f);
    }
  };
  double acc[2];
  for (int motion = 0; motion < 2; ++motion) {
    std::vector<std::vector<float>> xtr, xte;
    std::vector<int> ytr, yte;
    features(train, motion, xtr, ytr);
    features(test, motion, xte, yte);
    acc[motion] = logistic_accuracy(xtr, ytr, xte, yte, C);
  }
  const double chance = 1.0 / C;
  std::printf("chance %.3f, single frame %.3f, frame differences %.3f\n", chance, acc[0], acc[1]);
  EXPECT_LT(acc[0], chance + 0.08) << "single-frame pixels should not reveal the motion class";
  EXPECT_GT(acc[1], chance + 0.3) << "frame differences should reveal the motion class";
}


// Motion energy |x[t+1] - x[t]| of one frame pair: total, and its centroid.
struct Energy {
  double total = 0, x = 0, y = 0;
};
Energy energy(const Clip& c, int t) {
  Energy e;
  for (int y = 0; y < c.H; ++y)
    for (int x = 0; x < c.W; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        const size_t i = (size_t(y) * c.W + x) * 3 + ch;
        const double d = std::abs(int(c.frame(t + 1)[i]) - int(c.frame(t)[i]));
        e.total += d, e.x += d * x, e.y += d * y;
      }
  if (e.total > 0) e.x /= e.total, e.y /= e.total;
  return e;
}

TEST(DataSynthetic, ClassesMoveAsNamedAndRenderDeterministically) {
  SyntheticConfig cfg;
  cfg.videos_per_class = 5;
  const SyntheticDynamics set(cfg);
  ASSERT_GE(set.num_classes(), 8);
  const auto& names = set.class_names();
  for (size_t v = 0; v < set.size(); ++v) {
    const Clip c = set.render(v);
    const std::string& cls = names[size_t(set.label(v))];
    const Energy first = energy(c, 0), last = energy(c, c.T - 2);
    if (cls == "Rest") {
      EXPECT_EQ(first.total + last.total, 0) << set.name(v);
      continue;
    }
    EXPECT_GT(first.total + last.total, 0) << set.name(v);
    if (cls == "MoveRight") { EXPECT_GT(last.x, first.x + 10) << set.name(v); }
    if (cls == "MoveLeft") { EXPECT_LT(last.x, first.x - 10) << set.name(v); }
    if (cls == "MoveUp") { EXPECT_LT(last.y, first.y - 10) << set.name(v); }
    if (cls == "MoveDown") { EXPECT_GT(last.y, first.y + 10) << set.name(v); }
    if (cls == "Accelerate") { EXPECT_GT(last.total, 2 * first.total) << set.name(v); }
    if (cls == "Decelerate") { EXPECT_GT(first.total, 2 * last.total) << set.name(v); }
  }
  EXPECT_EQ(set.render(17).px, SyntheticDynamics(cfg).render(17).px);
  SyntheticConfig other = cfg;
  other.seed = 1;
  EXPECT_NE(set.render(17).px, SyntheticDynamics(other).render(17).px);
  other = cfg;
  other.subset = Subset::test;
  EXPECT_NE(set.render(17).px, SyntheticDynamics(other).render(17).px);
  EXPECT_EQ(set.load(17, {5, 2}).px.size(), size_t(2 * 64 * 64 * 3));
  const Clip full = set.render(17), picked = set.load(17, {5, 2});
  EXPECT_TRUE(std::equal(full.frame(5), full.frame(6), picked.frame(0)));
  EXPECT_TRUE(std::equal(full.frame(2), full.frame(3), picked.frame(1)));
}

// `texture` scales the background gratings only: at 0 the background is one
// flat colour (the first frame's most common pixel covers most of it), at 4
// it varies (no pixel value covers half the frame); the object is drawn
// alike; a negative texture is refused.
TEST(DataSynthetic, TextureScalesTheBackgroundGratingsOnly) {
  SyntheticConfig cfg;
  cfg.height = cfg.width = 32;
  cfg.frames = 4;
  cfg.videos_per_class = 2;
  auto most_common_share = [](const Clip& c) {
    std::vector<uint32_t> px;
    for (int i = 0; i < c.H * c.W; ++i) {
      const uint8_t* p = c.frame(0) + 3 * i;
      px.push_back(uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]);
    }
    std::sort(px.begin(), px.end());
    size_t best = 0;
    for (size_t i = 0, j; i < px.size(); i = j) {
      for (j = i; j < px.size() && px[j] == px[i]; ++j) {}
      best = std::max(best, j - i);
    }
    return double(best) / double(px.size());
  };
  SyntheticConfig flat = cfg, strong = cfg;
  flat.texture = 0;
  strong.texture = 4;
  for (size_t v : {size_t(0), size_t(7), size_t(13)}) {
    EXPECT_GT(most_common_share(SyntheticDynamics(flat).render(v)), 0.8) << v;
    EXPECT_LT(most_common_share(SyntheticDynamics(strong).render(v)), 0.5) << v;
  }
  cfg.texture = -1;
  EXPECT_THROW(SyntheticDynamics{cfg}, std::exception);
}

}  // namespace
}  // namespace vd::data
