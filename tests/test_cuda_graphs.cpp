// Tests of cuda_graphs (vididi/graph_step.h): on the CPU, the refusal of the
// setting, the per-key plan (warm-up, capture, replay; one graph per pair
// set), the key, and the deferred loss terms; on a GPU (skipped without
// one), that captured steps give the same losses, terms and parameters as
// uncaptured ones over steps that change the pair set, in f32 and bf16, and
// that a framework whose step cannot be captured (SimCLR copies its masks
// from the host) falls back and still matches.
#include <gtest/gtest.h>

#include <cstring>

#include "core/ops.h"
#include "core/precision.h"
#include "core/random.h"
#include "cuda/api.h"
#include "test_cuda_util.h"
#include "vididi/graph_step.h"
#include "vididi/losses.h"
#include "vididi/trainer.h"

using namespace vd;
using namespace vd::vididi;

namespace {

TrainConfig tiny(const std::string& device) {
  TrainConfig c;
  c.model.encoder = "r3d_18";
  c.model.width_divisor = 8;
  c.model.blocks = "1,1,1,1";
  c.projector_dim = 64;
  c.byol_hidden = 64, c.byol_dim = 32;
  c.simclr_hidden = 64, c.simclr_dim = 32;
  c.clip.frames = 4;
  c.clip.crop = 16;
  c.batch = 4;
  c.steps = 16;
  c.warmup_steps = 2;
  c.optimizer = "sgd";
  c.lr = 0.05;
  c.pairs = "0-1,1-2,2-0";
  c.schedule = "alternate";
  c.device = device;
  c.quiet = true;
  return c;
}

}  // namespace

TEST(CudaGraphsConfig, RefusedOnTheCpuWithOneLine) {
  TrainConfig c = tiny("cpu");
  c.cuda_graphs = true;
  try {
    Trainer t(c, c.steps);
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.key(), "cuda_graphs");
    EXPECT_NE(what.find("cuda_graphs = true needs a GPU"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  c.cuda_graphs = false;
  EXPECT_NO_THROW(Trainer(c, c.steps));
  // The key is in the table, off by default, and round-trips through config text.
  TrainConfig d;
  EXPECT_FALSE(d.cuda_graphs);
  d.parse("cuda_graphs = true\n");
  EXPECT_TRUE(d.cuda_graphs);
  EXPECT_NE(d.to_text().find("cuda_graphs = true"), std::string::npos);
}

TEST(CudaGraphsPlan, OneGraphPerPairSetAfterItsWarmup) {
  using A = GraphPlan::Action;
  GraphPlan plan;
  const std::vector<std::string> keys{"0-1", "1-2", "2-0"};  // the alternating schedule
  std::vector<A> got;
  for (int step = 0; step < 15; ++step) got.push_back(plan.next(keys[size_t(step % 3)]));
  const int w = GraphPlan::kWarmupSteps;
  for (int step = 0; step < 15; ++step) {
    const int seen = step / 3;  // earlier steps of the same key
    const A want = seen < w ? A::Eager : seen == w ? A::Capture : A::Replay;
    EXPECT_EQ(int(got[size_t(step)]), int(want)) << "step " << step;
  }
  EXPECT_EQ(plan.graphs(), 3u);
  // A failed capture: that key runs uncaptured for good, the others replay.
  plan.failed("1-2");
  EXPECT_EQ(plan.graphs(), 2u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(int(plan.next("1-2")), int(A::Eager));
  EXPECT_EQ(int(plan.next("0-1")), int(A::Replay));
  plan.disable();
  EXPECT_EQ(int(plan.next("0-1")), int(A::Eager));
}

TEST(CudaGraphsPlan, AtMostMaxGraphsKeys) {
  GraphPlan plan;
  size_t captures = 0;
  for (int round = 0; round <= GraphPlan::kWarmupSteps + 1; ++round)
    for (size_t k = 0; k < GraphPlan::kMaxGraphs + 3; ++k)
      captures += plan.next("key" + std::to_string(k)) == GraphPlan::Action::Capture;
  EXPECT_EQ(captures, GraphPlan::kMaxGraphs);
  EXPECT_EQ(plan.graphs(), GraphPlan::kMaxGraphs);
}

TEST(CudaGraphsPlan, KeyNamesPairSetShapesAndDtype) {
  Tensor a = Tensor::zeros({2, 6, 8, 8, 3}), b = Tensor::zeros({2, 6, 8, 8, 3});
  EXPECT_EQ(graph_key({{0, 1}}, a, b), "0-1 [2,6,8,8,3] [2,6,8,8,3] f32");
  EXPECT_EQ(graph_key({{0, 1}, {1, 2}}, a, b).substr(0, 8), "0-1+1-2 ");
  EXPECT_NE(graph_key({{0, 1}}, a, b), graph_key({{1, 0}}, a, b));
  EXPECT_NE(graph_key({{0, 1}}, a, b), graph_key({{0, 1}}, Tensor::zeros({3, 6, 8, 8, 3}), b));
}

TEST(CudaGraphsLossTerms, DeferredTermsReadBackToTheSameNumbers) {
  Generator g(5);
  Tensor za = Tensor::randn({6, 8}, &g), zb = Tensor::randn({6, 8}, &g);
  for (int which = 0; which < 3; ++which) {
    auto run = [&] {
      return which == 0 ? vicreg_loss(za, zb) : which == 1 ? byol_loss(za, zb, zb, za) : simclr_loss(za, zb, 0.1);
    };
    const LossResult now = run();
    LossResult later;
    {
      DeferLossTerms defer;
      later = run();
    }
    EXPECT_TRUE(later.terms.empty()) << which;
    ASSERT_FALSE(now.terms.empty()) << which;
    EXPECT_EQ(read_terms(later.parts), now.terms) << which;  // bit for bit
    EXPECT_EQ(read_terms(now.parts), now.terms) << which;
  }
  EXPECT_FALSE(vicreg_loss(za, zb).terms.empty());  // the guard is gone again
}

// --- on a GPU -------------------------------------------------------------------------

namespace {

// Bitwise equality of two f32 tensors' values (+0 and -0 count as equal: a
// captured step zeroes a gradient and adds, an uncaptured one clones).
void expect_same(const Tensor& a, const Tensor& b, const std::string& what) {
  Tensor x = ops::to_device(ops::to_dtype(a, DType::F64), Device::cpu()).contiguous();
  Tensor y = ops::to_device(ops::to_dtype(b, DType::F64), Device::cpu()).contiguous();
  ASSERT_EQ(x.numel(), y.numel()) << what;
  const double* p = x.data<double>();
  const double* q = y.data<double>();
  int64_t bad = 0;
  for (int64_t i = 0; i < x.numel(); ++i) bad += !(p[i] == q[i]) && !(std::isnan(p[i]) && std::isnan(q[i]));
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << x.numel() << " values differ";
}

// `steps` steps of two trainers of one config, uncaptured and with cuda_graphs.
void compare_runs(const std::string& framework, const std::string& precision, bool expect_graphs) {
  TrainConfig c = tiny("cuda");
  c.framework = framework;
  c.precision = precision;
  TrainConfig g = c;
  g.cuda_graphs = true;
  cuda::set_conv_benchmark(false);  // heuristic choices: the same algorithms in both runs
  const size_t pool0 = cuda::memory_stats().graph_pool_bytes;
  Trainer plain(c, c.steps), graphed(g, g.steps);
  const int64_t k = 2, n = c.batch, t = c.clip.frames + k, s = c.clip.crop;
  Generator gen(11);
  for (int64_t step = 0; step < c.steps; ++step) {
    Tensor xa = Tensor::randn({n, t, s, s, 3}, &gen).to(Device::cuda(0));
    Tensor xb = Tensor::randn({n, t, s, s, 3}, &gen).to(Device::cuda(0));
    const StepRecord r0 = plain.train_step(xa, xb, step);
    const StepRecord r1 = graphed.train_step(xa, xb, step);
    EXPECT_EQ(r0.pair, r1.pair) << step;
    EXPECT_EQ(r0.loss, r1.loss) << framework << " " << precision << " step " << step;
    EXPECT_EQ(r0.terms, r1.terms) << step;
    EXPECT_EQ(r0.lr, r1.lr) << step;
  }
  auto a = plain.model().state_dict(), b = graphed.model().state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) expect_same(a[i].second, b[i].second, framework + " " + a[i].first);
  const bool captured = cuda::memory_stats().graph_pool_bytes > pool0;
  EXPECT_EQ(captured, expect_graphs) << framework << ": graph pool " << pool0 << " -> "
                                     << cuda::memory_stats().graph_pool_bytes << " bytes";
  set_precision(Precision::FP32);
}

}  // namespace

TEST(CudaGraphs, CapturedStepsMatchUncapturedOnesF32) {
  VD_SKIP_WITHOUT_GPU();
  compare_runs("vicreg", "fp32", true);
  compare_runs("byol", "fp32", true);
}

TEST(CudaGraphs, CapturedStepsMatchUncapturedOnesBf16) {
  VD_SKIP_WITHOUT_GPU();
  compare_runs("vicreg", "bf16", true);
}

TEST(CudaGraphs, AStepThatCannotBeCapturedFallsBackAndMatches) {
  VD_SKIP_WITHOUT_GPU();
  // SimCLR builds its masks on the host and copies them (a synchronisation):
  // each capture fails, the steps run uncaptured, the numbers stay right.
  // (The pool may still have taken blocks during the failed captures.)
  TrainConfig c = tiny("cuda");
  c.framework = "simclr";
  TrainConfig g = c;
  g.cuda_graphs = true;
  Trainer plain(c, c.steps), graphed(g, g.steps);
  Generator gen(12);
  for (int64_t step = 0; step < 12; ++step) {
    Tensor xa = Tensor::randn({4, 6, 16, 16, 3}, &gen).to(Device::cuda(0));
    Tensor xb = Tensor::randn({4, 6, 16, 16, 3}, &gen).to(Device::cuda(0));
    EXPECT_EQ(plain.train_step(xa, xb, step).loss, graphed.train_step(xa, xb, step).loss) << step;
  }
  auto a = plain.model().state_dict(), b = graphed.model().state_dict();
  for (size_t i = 0; i < a.size(); ++i) expect_same(a[i].second, b[i].second, "simclr " + a[i].first);
  // No graph lives, so the failed captures' blocks went back to the ordinary cache.
  EXPECT_EQ(cuda::memory_stats().graph_pool_bytes, 0u);
}
