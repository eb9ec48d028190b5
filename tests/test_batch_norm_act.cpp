// tests/test_batch_norm_act.cpp: the fused batch norm + residual add + ReLU
// (vd::batch_norm_act, BatchNormBase::forward_relu; issue 18) on the CPU.
// - f64 finite differences (autograd/gradcheck.h) of the fused op, with and
//   without residual, affine or not, training and eval;
// - bit-for-bit equality with the composition relu(batch_norm(x) + r) of
//   existing ops in f32: outputs, running statistics and every gradient,
//   on shapes small and large enough for the two-thread split;
// - the modules: forward_relu against fuse_act = false, Sequential's fusion,
//   SyncBatchNorm's fall-back to the composition, and whole training steps
//   (forward, backward, SGD update) of small R3D, R(2+1)D and S3D encoders
//   whose losses, gradients, parameters and buffers equal the unfused ones
//   bit for bit;
// - the bytes kept for backward (profile::live_bytes), figures by hand.
// The GPU parity tests are tests/test_cuda_batch_norm_act.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "autograd/node.h"
#include "core/profile.h"
#include "dist/communicator.h"
#include "layers/layers.h"
#include "tests/test_nn_util.h"
#include "vididi/models/encoder.h"
#include "vididi/models/r3d.h"

using namespace vd;
using namespace vd::testing;

namespace {

// Same shape, dtype and bytes (so -0 differs from +0, as a bit-for-bit claim needs).
::testing::AssertionResult same_bits(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined())
    return a.defined() == b.defined() ? ::testing::AssertionSuccess()
                                      : ::testing::AssertionFailure() << "one tensor is undefined";
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    return ::testing::AssertionFailure() << describe(a) << " vs " << describe(b);
  const Tensor ca = ops::contiguous(a), cb = ops::contiguous(b);
  const size_t es = dtype_size(a.dtype());
  const auto* pa = static_cast<const unsigned char*>(ca.data_ptr());
  const auto* pb = static_cast<const unsigned char*>(cb.data_ptr());
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (std::memcmp(pa + size_t(i) * es, pb + size_t(i) * es, es) != 0 && bad++ == 0) first = i;
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << a.numel() << " elements differ, first at "
                                       << first << ": " << a.to_vector()[size_t(first)] << " vs "
                                       << b.to_vector()[size_t(first)];
}

Tensor randn_f(const Shape& s, uint64_t seed, DType dt = DType::F32, double shift = 0) {
  Generator g(seed);
  Tensor t = ops::to_dtype(Tensor::randn(s, &g, DType::F64), dt);
  return shift == 0 ? t : ops::unary(UnaryOp::AddScalar, t, shift);
}

// One fused or composed evaluation: y, the running statistics after it and
// the gradients of sum(y * w).
struct ActRun {
  Tensor y, rm, rv, dx, dg, db, dr;
};

ActRun run_functional(bool fused, const Tensor& x0, const Tensor& r0, const Tensor& g0, const Tensor& b0,
                   bool training, const Tensor& w) {
  ActRun o;
  Tensor x = ops::clone(x0).requires_grad_();
  Tensor r = r0.defined() ? ops::clone(r0).requires_grad_() : Tensor();
  Tensor g = g0.defined() ? ops::clone(g0).requires_grad_() : Tensor();
  Tensor b = b0.defined() ? ops::clone(b0).requires_grad_() : Tensor();
  const int64_t C = x.size(-1);
  o.rm = ops::unary(UnaryOp::MulScalar, randn_f({C}, 91, x.dtype()), 0.3);
  o.rv = ops::unary(UnaryOp::AddScalar, ops::unary(UnaryOp::Abs, randn_f({C}, 92, x.dtype())), 0.5);
  if (fused) {
    o.y = batch_norm_act(x, r, g, b, o.rm, o.rv, training, 0.1, 1e-5);
  } else {
    Tensor h = batch_norm(x, g, b, o.rm, o.rv, training, 0.1, 1e-5);
    o.y = relu(r.defined() ? h + r : h);
  }
  sum(o.y * w).backward();
  o.dx = x.grad();
  if (g.defined()) o.dg = g.grad();
  if (b.defined()) o.db = b.grad();
  if (r.defined()) o.dr = r.grad();
  o.y = o.y.detach();
  return o;
}

}  // namespace

TEST(BatchNormAct, GradcheckF64WithAndWithoutResidualAffineTrainingEval) {
  for (bool video : {true, false})
    for (bool with_res : {true, false})
      for (bool affine : {true, false})
        for (bool training : {true, false}) {
          const Shape s = video ? Shape{2, 2, 3, 2, 3} : Shape{7, 3};
          // x away from 0 mean, residual of a similar scale: both signs of the sum.
          std::vector<Tensor> in = {leaf(s, 11, 1.5)};
          if (with_res) in.push_back(leaf(s, 12, 0.8));
          if (affine) {
            in.push_back(leaf({3}, 13));
            in.push_back(leaf({3}, 14));
          }
          auto f = [&](const std::vector<Tensor>& v) {
            Tensor rm = Tensor::full({3}, 0.2, DType::F64), rv = Tensor::full({3}, 1.5, DType::F64);
            size_t k = 1;
            Tensor r = with_res ? v[k++] : Tensor();
            Tensor g = affine ? v[k++] : Tensor();
            Tensor b = affine ? v[k++] : Tensor();
            return batch_norm_act(v[0], r, g, b, rm, rv, training, 0.1, 1e-5);
          };
          EXPECT_TRUE(gradcheck_ok(f, in)) << (video ? "video" : "[N, C]") << (with_res ? " residual" : "")
                                           << (affine ? " affine" : "") << (training ? " training" : " eval");
        }
}

TEST(BatchNormAct, CpuF32EqualsTheCompositionBitForBit) {
  // [2, 4, 24, 24, 8]: 4608 rows, past the two-thread split (kMinSplit 4096).
  const Shape shapes[] = {{9, 5}, {2, 3, 4, 5, 8}, {2, 4, 24, 24, 8}};
  uint64_t seed = 100;
  for (const Shape& s : shapes)
    for (bool with_res : {true, false})
      for (bool affine : {true, false})
        for (bool training : {true, false}) {
          const int64_t C = s.back();
          Tensor x = randn_f(s, seed++, DType::F32, 0.4), w = randn_f(s, seed++);
          Tensor r = with_res ? randn_f(s, seed++) : Tensor();
          Tensor g = affine ? randn_f({C}, seed++) : Tensor(), b = affine ? randn_f({C}, seed++) : Tensor();
          const ActRun f = run_functional(true, x, r, g, b, training, w);
          const ActRun c = run_functional(false, x, r, g, b, training, w);
          const std::string what = shape_str(s) + (with_res ? " residual" : "") + (affine ? " affine" : "") +
                                   (training ? " training" : " eval");
          EXPECT_TRUE(same_bits(f.y, c.y)) << what;
          EXPECT_TRUE(same_bits(f.rm, c.rm)) << what;
          EXPECT_TRUE(same_bits(f.rv, c.rv)) << what;
          EXPECT_TRUE(same_bits(f.dx, c.dx)) << what;
          EXPECT_TRUE(same_bits(f.dg, c.dg)) << what;
          EXPECT_TRUE(same_bits(f.db, c.db)) << what;
          EXPECT_TRUE(same_bits(f.dr, c.dr)) << what;
          // Not vacuous: the ReLU cut some values and let others through.
          const auto yv = f.y.to_vector();
          EXPECT_TRUE(std::count(yv.begin(), yv.end(), 0.0) > 0 && std::count(yv.begin(), yv.end(), 0.0) < int64_t(yv.size()))
              << what;
        }
}

TEST(BatchNormAct, ForwardReluMatchesTheUnfusedModuleAndSequentialFuses) {
  for (bool affine : {true, false})
    for (bool cumulative : {false, true}) {
      auto make = [&] {
        auto bn = std::make_shared<nn::BatchNorm3d>(nn::BatchNormOptions(4).affine(affine).momentum(0.2));
        bn->cumulative = cumulative;
        if (affine) {
          autograd::NoGradGuard ng;
          ops::copy_(bn->weight, randn_f({4}, 5));
          ops::copy_(bn->bias, randn_f({4}, 6));
        }
        return bn;
      };
      auto fused = make(), plain = make();
      plain->fuse_act = false;
      const Shape s{2, 3, 4, 3, 4};
      for (int step = 0; step < 3; ++step) {  // two training steps, then eval
        const bool training = step < 2;
        fused->train(training);
        plain->train(training);
        Tensor x = randn_f(s, 20 + uint64_t(step), DType::F32, 0.3), r = randn_f(s, 30 + uint64_t(step));
        Tensor w = randn_f(s, 40 + uint64_t(step));
        Tensor xa = ops::clone(x).requires_grad_(), xb = ops::clone(x).requires_grad_();
        Tensor ra = ops::clone(r).requires_grad_(), rb = ops::clone(r).requires_grad_();
        Tensor ya = fused->forward_relu(xa, ra), yb = plain->forward_relu(xb, rb);
        ASSERT_TRUE(ya.grad_fn() && yb.grad_fn());
        EXPECT_EQ(ya.grad_fn()->name, std::string("batch_norm_act"));
        EXPECT_EQ(yb.grad_fn()->name, std::string("relu"));
        sum(ya * w).backward();
        sum(yb * w).backward();
        EXPECT_TRUE(same_bits(ya, yb)) << "step " << step;
        EXPECT_TRUE(same_bits(xa.grad(), xb.grad())) << "step " << step;
        EXPECT_TRUE(same_bits(ra.grad(), rb.grad())) << "step " << step;
        const auto sa = fused->state_dict(), sb = plain->state_dict();
        ASSERT_EQ(sa.size(), sb.size());
        for (size_t i = 0; i < sa.size(); ++i) {
          EXPECT_EQ(sa[i].first, sb[i].first);
          EXPECT_TRUE(same_bits(sa[i].second, sb[i].second)) << sa[i].first << " step " << step;
          if (sa[i].second.requires_grad()) {
            EXPECT_TRUE(same_bits(sa[i].second.grad(), sb[i].second.grad())) << sa[i].first;
            Tensor pa = sa[i].second, pb = sb[i].second;  // handles to the parameters
            pa.zero_grad();
            pb.zero_grad();
          }
        }
      }
      EXPECT_EQ(fused->num_batches_tracked.item(), 2.0);
    }
  // Sequential(BN, ReLU) runs the fused op; the printed tree is unchanged.
  nn::Sequential seq{std::make_shared<nn::BatchNorm1d>(3), std::make_shared<nn::ReLU>(true)};
  Tensor x = randn_f({5, 3}, 50).requires_grad_();
  Tensor y = seq.forward(x);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->name, std::string("batch_norm_act"));
  EXPECT_EQ(nn::set_fuse_act(seq, false), 1);
  EXPECT_EQ(seq.forward(x).grad_fn()->name, std::string("relu"));
  EXPECT_NE(seq.str().find("(1): ReLU(inplace=True)"), std::string::npos) << seq.str();
}

TEST(BatchNormAct, SyncBatchNormFallsBackToTheComposition) {
  // The sync path's backward is the tape's (with the all-reduce): forward_relu
  // composes relu(sync_forward(x) + r) in training, and fuses in eval.
  auto synced = std::make_shared<nn::BatchNorm3d>(4), plain = std::make_shared<nn::BatchNorm3d>(4);
  synced->set_sync(dist::single_process(), /*at_world_1=*/true);
  plain->fuse_act = false;
  const Shape s{2, 2, 3, 3, 4};
  Tensor x = randn_f(s, 60, DType::F32, 0.5), r = randn_f(s, 61);
  Tensor xs = ops::clone(x).requires_grad_(), xp = ops::clone(x).requires_grad_();
  Tensor ys = synced->forward_relu(xs, r);
  Tensor want = relu(synced->forward(ops::clone(x)) + r);  // the same module's composition
  ASSERT_TRUE(ys.grad_fn());
  EXPECT_EQ(ys.grad_fn()->name, std::string("relu"));
  EXPECT_TRUE(same_bits(ys, want));
  Tensor yp = plain->forward_relu(xp, r);
  EXPECT_LT(max_abs_diff(ys, yp), 1e-5);  // sync statistics: docs/DISTRIBUTED_GRADIENTS.md
  synced->eval();
  Tensor ye = synced->forward_relu(xs, r);
  EXPECT_EQ(ye.grad_fn()->name, std::string("batch_norm_act"));
}

namespace {

struct Steps {
  std::vector<Tensor> losses, grads, state;  // per step; per step and parameter; at the end
};

// Two SGD steps (lr 0.3) of an encoder in training mode on fixed clips.
Steps train_two_steps(const std::string& name, bool fuse, const Shape& clip) {
  Generator gen(3);
  models::EncoderOptions opt;
  opt.width_divisor = name == "s3d" ? 16 : 8;
  if (name != "s3d") opt.blocks = {1, 1, 1, 1};
  opt.gen = &gen;
  auto enc = models::make_encoder(name, opt);
  EXPECT_GT(nn::set_fuse_act(*enc, fuse), 0);
  enc->train();
  Steps out;
  for (int step = 0; step < 2; ++step) {
    Tensor x = randn_f(clip, 70);  // the same clip: the loss moves by the update alone
    Tensor loss = mean(square(enc->forward(x) - 0.5));
    out.losses.push_back(loss.detach());
    loss.backward();
    for (auto& [pname, p] : enc->named_parameters()) {
      out.grads.push_back(ops::clone(p.grad()));
      autograd::NoGradGuard ng;
      Tensor d = p.detach();
      ops::binary_(BinaryOp::Sub, d, ops::unary(UnaryOp::MulScalar, p.grad(), 0.3));
      p.zero_grad();
    }
  }
  for (auto& [sname, t] : enc->state_dict()) out.state.push_back(ops::clone(t));
  return out;
}

}  // namespace

TEST(BatchNormAct, EncoderTrainingStepsEqualTheUnfusedOnesBitForBit) {
  for (const std::string name : {"r3d_18", "r2plus1d_18", "s3d"}) {
    const Shape clip = name == "s3d" ? Shape{2, 8, 32, 32, 3} : Shape{2, 4, 24, 24, 3};
    const Steps a = train_two_steps(name, true, clip), b = train_two_steps(name, false, clip);
    ASSERT_EQ(a.grads.size(), b.grads.size()) << name;
    ASSERT_EQ(a.state.size(), b.state.size()) << name;
    for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(same_bits(a.losses[i], b.losses[i])) << name << " loss " << i;
    for (size_t i = 0; i < a.grads.size(); ++i) EXPECT_TRUE(same_bits(a.grads[i], b.grads[i])) << name << " grad " << i;
    for (size_t i = 0; i < a.state.size(); ++i) EXPECT_TRUE(same_bits(a.state[i], b.state[i])) << name << " state " << i;
    EXPECT_NE(a.losses[0].item(), a.losses[1].item()) << name << ": the step moved nothing";
  }
}

namespace {

// Storage bytes that stay alive (kept for backward, or the output) after f().
template <class F>
int64_t kept_bytes(F f) {
  const int64_t before = profile::live_bytes();
  Tensor y = f();
  EXPECT_TRUE(y.requires_grad());
  return profile::live_bytes() - before;
}

}  // namespace

TEST(BatchNormAct, KeepsEachActivationOnceLikeTheComposition) {
  // One layer, f32, x [2, 3, 4, 5, 8]: M = 120 rows, C = 8, one activation
  // 4 M C = 3840 bytes; mean and invstd [C] f32 are 32 bytes each.
  const Shape s{2, 3, 4, 5, 8};
  const int64_t act = 4 * 120 * 8, stats = 2 * 4 * 8;
  Tensor x = randn_f(s, 80, DType::F32, 0.2).requires_grad_(), r = randn_f(s, 81).requires_grad_();
  nn::BatchNorm3d bn(8);
  auto fused = [&](const Tensor& res) { return kept_bytes([&] { return bn.forward_relu(x, res); }); };
  // Fused: the output y and the statistics (x and r are the caller's).
  EXPECT_EQ(fused(r), act + stats);
  EXPECT_EQ(fused(Tensor()), act + stats);
  bn.fuse_act = false;
  // Composed, the same: the tape's edges hold no activation (ENGINE.md,
  // "Autograd"), relu keeps its output and add nothing, so the batch norm's
  // output and the residual sum are freed as soon as relu has run.
  EXPECT_EQ(fused(r), act + stats);
  EXPECT_EQ(fused(Tensor()), act + stats);

  // A BasicBlock with downsample (4 -> 8 planes, stride 2) on [2, 4, 8, 8, 4]
  // keeps the same bytes fused and composed: what fusion removes is kernels
  // and traffic (docs/CPU_PERFORMANCE.md), not saved tensors.
  Generator gen(9);
  models::BasicBlock block(models::ResNetConv::Simple3d, 4, 8, 2, &gen);
  Tensor xb = randn_f({2, 4, 8, 8, 4}, 82).requires_grad_();
  auto run_block = [&](bool on) {
    nn::set_fuse_act(block, on);
    return kept_bytes([&] { return block.forward(xb); });
  };
  run_block(false);  // warm-up: any scratch a kernel keeps is allocated once
  const int64_t with = run_block(true), without = run_block(false);
  EXPECT_EQ(with, without) << "fused " << with << ", composed " << without;
  EXPECT_GT(with, 0);
}
