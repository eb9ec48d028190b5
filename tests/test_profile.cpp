// The op profiler (core/profile.h) on the CPU: exact counts and bytes of
// hand-built ops (one raw conv3d forward, backward-data and backward-filter,
// a relu, an add, a cast), the conv counts of an autograd forward + backward,
// ops inside a kernel counted as nested only, nothing recorded when off,
// ProfileScope's attribution, the saved-bytes
// marks, a training step whose loss and parameters are bitwise the same with
// and without profiling, and `vididi bench --profile true`'s table.
#include <gtest/gtest.h>

#include <cstring>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/profile.h"
#include "core/random.h"
#include "tests/test_cli_util.h"
#include "vididi/trainer.h"

using namespace vd;
using profile::Kind;

namespace {

const profile::KindStats& of(const profile::Stats& s, Kind k) { return s.kinds[size_t(k)]; }

// Leaves profiling off whatever a test does.
struct ProfileOff {
  ~ProfileOff() { profile::enable(false); }
};

Window3d win3() {
  Window3d w;
  w.kernel = {3, 3, 3};
  w.padding = {1, 1, 1};
  return w;
}

}  // namespace

TEST(Profile, RawOpsCountsAndBytesAreExact) {
  ProfileOff off;
  Generator gen(3);
  const Window3d win = win3();
  // x [2, 4, 6, 6, 3], w [5, 3, 3, 3, 3] -> y [2, 4, 6, 6, 5] (padding 1).
  Tensor x = Tensor::randn({2, 4, 6, 6, 3}, &gen), w = Tensor::randn({5, 3, 3, 3, 3}, &gen);
  Tensor dy = Tensor::randn({2, 4, 6, 6, 5}, &gen);
  Tensor b = Tensor::randn({1, 1, 1, 1, 3}, &gen);  // broadcast along all but the channels
  const int64_t X = 2 * 4 * 6 * 6 * 3, W = 5 * 27 * 3, Y = 2 * 4 * 6 * 6 * 5;
  profile::enable(true);
  Tensor y = ops::conv3d(x, w, win);
  Tensor dx = ops::conv3d_backward_data(dy, w, x.shape(), win);
  Tensor dw = ops::conv3d_backward_weight(x, dy, w.shape(), win);
  Tensor r = ops::unary(UnaryOp::Relu, x);
  Tensor s = ops::binary(BinaryOp::Add, x, b);
  Tensor c = ops::to_dtype(x, DType::F64);
  const profile::Stats st = profile::stats();
  EXPECT_EQ(of(st, Kind::ConvFwd).count, 1);
  EXPECT_EQ(of(st, Kind::ConvBwdData).count, 1);
  EXPECT_EQ(of(st, Kind::ConvBwdFilter).count, 1);
  EXPECT_EQ(of(st, Kind::Relu).count, 1);
  EXPECT_EQ(of(st, Kind::Add).count, 1);
  EXPECT_EQ(of(st, Kind::Cast).count, 1);
  EXPECT_EQ(st.total().count, 6);  // nothing else: the inputs were contiguous, no copies
  EXPECT_EQ(of(st, Kind::ConvFwd).bytes, 4 * (X + W + Y));
  EXPECT_EQ(of(st, Kind::ConvBwdData).bytes, 4 * (Y + W + X));
  EXPECT_EQ(of(st, Kind::ConvBwdFilter).bytes, 4 * (X + Y + W));
  EXPECT_EQ(of(st, Kind::Relu).bytes, 4 * (X + X));
  EXPECT_EQ(of(st, Kind::Add).bytes, 4 * (X + 3 + X));  // b broadcast: its 3 elements once
  EXPECT_EQ(of(st, Kind::Cast).bytes, 4 * X + 8 * X);
  EXPECT_GE(st.total().host_ms, 0.0);
  for (const auto& k : st.kinds) EXPECT_EQ(k.gpu_ms, 0.0);  // no GPU on the CPU
}

TEST(Profile, AutogradConvForwardBackwardGivesOneOfEachConvKind) {
  ProfileOff off;
  Generator gen(4);
  const Window3d win = win3();
  Tensor x = Tensor::randn({1, 3, 5, 5, 2}, &gen).requires_grad_();
  Tensor w = Tensor::randn({4, 3, 3, 3, 2}, &gen).requires_grad_();
  Tensor r = Tensor::randn({1, 3, 5, 5, 4}, &gen);
  profile::enable(true);
  Tensor loss = (relu(conv3d(x, w, Tensor(), win)) * r).sum();
  loss.backward();
  const profile::Stats st = profile::stats();
  EXPECT_EQ(of(st, Kind::ConvFwd).count, 1);
  EXPECT_EQ(of(st, Kind::ConvBwdData).count, 1);
  EXPECT_EQ(of(st, Kind::ConvBwdFilter).count, 1);
  EXPECT_EQ(of(st, Kind::Relu).count, 2);  // forward relu, backward ReluGrad
  EXPECT_GE(of(st, Kind::Reduce).count, 1);
}

TEST(Profile, OpsInsideAKernelAreCountedInIt) {
  ProfileOff off;
  Generator gen(8);
  Tensor x = Tensor::randn({6, 4}, &gen), gamma = Tensor::ones({4}), beta = Tensor::zeros({4});
  Tensor mean, invstd;
  ops::batch_norm_stats(x, 1e-5, mean, invstd);
  profile::enable(true);
  Tensor y = ops::batch_norm_apply(x, mean, invstd, gamma, beta);
  const profile::Stats st = profile::stats();
  // The CPU kernel reads gamma and beta with Tensor::to_vector (casts to
  // f64): part of the batch norm op, only counted as nested.
  EXPECT_EQ(of(st, Kind::BatchNorm).count, 1);
  EXPECT_EQ(st.total().count, 1);
  EXPECT_GE(st.nested, 1);
  EXPECT_EQ(of(st, Kind::BatchNorm).bytes, 4 * (24 + 4 + 4 + 4 + 4 + 24));
}

TEST(Profile, OffRecordsNothing) {
  ProfileOff off;
  Generator gen(5);
  Tensor x = Tensor::randn({4, 8}, &gen);
  profile::enable(true);
  profile::enable(false);  // enable(true) cleared the counts; off records nothing
  Tensor y = ops::unary(UnaryOp::Relu, ops::binary(BinaryOp::Add, x, x));
  Tensor z = ops::contiguous(transpose(y, 0, 1));
  const profile::Stats st = profile::stats();
  EXPECT_EQ(st.total().count, 0);
  EXPECT_EQ(st.total().bytes, 0);
  EXPECT_EQ(st.total().host_ms, 0.0);
}

TEST(Profile, ScopeAttributesItsOpsAndSavedBytesMarks) {
  ProfileOff off;
  Generator gen(6);
  Tensor x = Tensor::randn({16, 16}, &gen);
  profile::enable(true);
  {
    profile::ProfileScope scope(Kind::Optimizer);
    Tensor y = ops::binary(BinaryOp::Add, x, x);
    {
      profile::ProfileScope inner(Kind::Loss);
      Tensor z = ops::unary(UnaryOp::Exp, x);
    }
    Tensor v = ops::unary(UnaryOp::Relu, x);
  }
  Tensor after = ops::unary(UnaryOp::Relu, x);
  // Saved bytes: one 16x16 f32 tensor kept alive across the backward mark,
  // and a 32x32 one freed before it (it counts in the forward peak only).
  profile::mark_step_begin();
  Tensor kept = ops::unary(UnaryOp::Neg, x);
  { Tensor temp = Tensor::empty({32, 32}); }
  profile::mark_backward_begin();
  const profile::Stats st = profile::stats();
  EXPECT_EQ(of(st, Kind::Optimizer).count, 2);
  EXPECT_EQ(of(st, Kind::Loss).count, 1);
  EXPECT_EQ(of(st, Kind::Relu).count, 1);
  EXPECT_EQ(of(st, Kind::Add).count, 0);
  EXPECT_EQ(st.steps, 1);
  EXPECT_EQ(st.saved_bytes, 16 * 16 * 4);
  EXPECT_EQ(st.forward_peak_bytes, 16 * 16 * 4 + 32 * 32 * 4);
}

TEST(Profile, TrainingStepIsBitwiseTheSameWithAndWithoutProfiling) {
  ProfileOff off;
  vididi::TrainConfig c;
  c.model.encoder = "r3d_18";
  c.model.width_divisor = 16;
  c.model.blocks = "1,1,1,1";
  c.projector_dim = 32;
  c.clip.frames = 4;
  c.clip.crop = 16;
  c.batch = 2;
  c.steps = 2;
  c.warmup_steps = 1;
  c.device = "cpu";
  c.quiet = true;
  c.pairs = "0-1";
  Generator gen(7);
  const int64_t T = c.clip.frames + c.max_order();
  Tensor xa = Tensor::randn({2, T, 16, 16, 3}, &gen), xb = Tensor::randn({2, T, 16, 16, 3}, &gen);
  auto run = [&](bool prof, double& loss, std::vector<float>& params) {
    vididi::Trainer t(c, c.steps);
    profile::enable(prof);
    loss = t.train_step(xa, xb, 0).loss;
    const profile::Stats st = profile::stats();
    profile::enable(false);
    if (prof) {
      EXPECT_GT(of(st, Kind::ConvFwd).count, 0);
      EXPECT_GT(of(st, Kind::Optimizer).count, 0);
      EXPECT_GT(of(st, Kind::Loss).count, 0);
      EXPECT_GT(of(st, Kind::FiniteCheck).count, 0);  // nan_check_every = 1
      EXPECT_EQ(st.steps, 1);
      EXPECT_GT(st.saved_bytes, 0);
    }
    params.clear();
    for (const auto& [name, p] : t.model().trainable_parameters()) {
      Tensor q = ops::contiguous(p);
      const float* d = static_cast<const float*>(q.data_ptr());
      params.insert(params.end(), d, d + q.numel());
    }
  };
  double l0 = 0, l1 = 0;
  std::vector<float> p0, p1;
  run(false, l0, p0);
  run(true, l1, p1);
  EXPECT_EQ(std::memcmp(&l0, &l1, sizeof(double)), 0) << l0 << " vs " << l1;
  ASSERT_EQ(p0.size(), p1.size());
  EXPECT_EQ(std::memcmp(p0.data(), p1.data(), p0.size() * sizeof(float)), 0);
}

TEST(Profile, BenchPrintsTheTableWithConvKinds) {
  ProfileOff off;
  cli_test::Result r =
      cli_test::cli({"bench", "--device", "cpu", "--width_divisor", "16", "--projector_dim", "32", "--batch", "2",
                     "--frames", "4", "--size", "16", "--warmup", "1", "--iters", "2", "--profile", "true"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.out.front(), '{') << r.out;
  const std::string json = r.out.substr(0, r.out.find('\n'));
  for (const char* field : {"\"step_ms\": ", "\"clips_per_s\": ", "\"peak_mem_gib\": ", "\"profile_ops_per_step\": ",
                            "\"profile_saved_mib_per_step\": "})
    EXPECT_NE(json.find(field), std::string::npos) << field << " in " << json;
  // Each conv kind's row: name, then a nonzero count per step.
  for (const std::string kind : {"conv fwd ", "conv bwd-data ", "conv bwd-filter ", "optimizer ", "loss ", "total "}) {
    const size_t at = r.out.find("\n" + kind);
    ASSERT_NE(at, std::string::npos) << kind << " in " << r.out;
    EXPECT_GT(std::stod(r.out.substr(at + 1 + 16)), 0.0) << r.out;
  }
  EXPECT_NE(r.out.find("saved for backward: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("host dispatch: "), std::string::npos) << r.out;
  EXPECT_EQ(profile::enabled(), false);  // bench turns it off again
}
