// tests/test_autograd_memory.cpp: what the tape keeps alive between forward
// and backward, and when it lets go. Edges (autograd/node.h) hold no
// non-leaf input, a backward captures only what it reads, and a node's saved
// tensors are dropped as soon as it has run (unless retain_graph). The bytes
// are the live Storage bytes of core/profile.h, counted by hand per graph;
// each graph here kept more under the former tape, whose edges owned their
// input tensors and whose one-input ops saved both input and output.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/profile.h"
#include "core/random.h"

using namespace vd;

namespace {
constexpr int64_t kN = 1000;            // elements of the vectors below
constexpr int64_t kF32 = kN * 4;        // bytes of one such f32 vector
constexpr int64_t kScalarF32 = 4;       // a sum()'s result
constexpr int64_t kScalarF64 = 8;

Tensor vec(uint64_t seed, bool grad) {
  Generator gen(seed);
  Tensor t = Tensor::randn({kN}, &gen);
  if (grad) t.requires_grad_(true);
  return t;
}

std::weak_ptr<Storage> storage_of(const Tensor& t) { return t.impl().storage; }
}  // namespace

TEST(AutogradMemory, ReluMulSumKeepsOnlyTheReluOutput) {
  // s = sum(relu(x) * c), c a constant: relu keeps its output y (not x),
  // mul keeps c (alive anyway) and not y (c wants no gradient), sum keeps
  // shapes. So between forward and backward: y and s. (Formerly also z =
  // y * c, held by sum's edge.)
  Tensor x = vec(1, true), c = vec(2, false);
  const int64_t base = profile::live_bytes();
  Tensor s = sum(relu(x) * c);
  EXPECT_EQ(profile::live_bytes() - base, kF32 + kScalarF32);
  s.backward();
  // The graph is released: s and x.grad remain.
  EXPECT_EQ(profile::live_bytes() - base, kScalarF32 + kF32);
  const std::vector<double> xv = x.to_vector(), cv = c.to_vector(), gv = x.grad().to_vector();
  for (int64_t i = 0; i < kN; ++i) EXPECT_EQ(gv[size_t(i)], xv[size_t(i)] > 0 ? cv[size_t(i)] : 0.0);
}

TEST(AutogradMemory, AChainOfAddsKeepsNothing) {
  // Three adds and a sum capture nothing, and no edge holds the sums in
  // between: only s is alive. (Formerly the three intermediates.)
  Tensor x = vec(1, true), w = vec(2, true);
  const int64_t base = profile::live_bytes();
  Tensor s = sum(((x + w) + w) + x);
  EXPECT_EQ(profile::live_bytes() - base, kScalarF32);
  s.backward();
  EXPECT_EQ(profile::live_bytes() - base, kScalarF32 + 2 * kF32);
  EXPECT_EQ(x.grad().to_vector(), std::vector<double>(size_t(kN), 2.0));
  EXPECT_EQ(w.grad().to_vector(), std::vector<double>(size_t(kN), 2.0));
}

TEST(AutogradMemory, ACastKeepsNothing) {
  // The f64 copy of x is only sum's input: freed after the forward.
  Tensor x = vec(1, true);
  const int64_t base = profile::live_bytes();
  Tensor s = sum(x.to(DType::F64));
  EXPECT_EQ(profile::live_bytes() - base, kScalarF64);
  s.backward();
  EXPECT_EQ(x.grad().dtype(), DType::F32);
  EXPECT_EQ(x.grad().to_vector(), std::vector<double>(size_t(kN), 1.0));
}

TEST(AutogradMemory, AViewChainKeepsOnlyShapes) {
  // a = 2x (mul_scalar captures nothing), then four views of a and a sum:
  // the views' nodes keep shapes, no edge keeps a's storage.
  Tensor x = Tensor::arange(24).reshape({4, 6}).detach();
  x.requires_grad_(true);
  const int64_t base = profile::live_bytes();
  std::weak_ptr<Storage> a_storage;
  Tensor s;
  {
    Tensor a = x * 2.0;
    a_storage = storage_of(a);
    Tensor v = a.reshape({6, 4}).transpose(0, 1).narrow(0, 1, 2).select(1, 3);  // a'[1..2, 3]
    s = sum(v);
  }
  EXPECT_TRUE(a_storage.expired());
  EXPECT_EQ(profile::live_bytes() - base, kScalarF32);
  s.backward();
  // v = [a'[3][1], a'[3][2]] of a' = a.reshape(6, 4): flat elements 13 and 14.
  std::vector<double> expected(24, 0.0);
  expected[13] = expected[14] = 2.0;
  EXPECT_EQ(x.grad().to_vector(), expected);
}

TEST(AutogradMemory, AConstantInputIsNotKeptByItsEdge) {
  Tensor x = vec(1, true);
  std::weak_ptr<Storage> c_storage;
  Tensor s;
  {
    Tensor c = vec(2, false);
    c_storage = storage_of(c);
    s = sum(x + c);
  }
  EXPECT_TRUE(c_storage.expired());
  s.backward();
  EXPECT_EQ(x.grad().to_vector(), std::vector<double>(size_t(kN), 1.0));
}

TEST(AutogradMemory, AnOperandIsKeptOnlyForTheOtherOperandsGradient) {
  // The first conv's clip wants no gradient, so its (here non-leaf, as a
  // bf16 cast of the weight is) weight is not kept; likewise linear's and
  // matmul's weights when x wants none. The clips themselves are kept (dw).
  Generator gen(3);
  Tensor clip = Tensor::randn({1, 2, 3, 3, 2}, &gen);
  Tensor w = Tensor::randn({4, 1, 1, 1, 2}, &gen);
  w.requires_grad_(true);
  std::weak_ptr<Storage> conv_w, lin_w, mm_w, mm_x;
  Tensor s;
  {
    Tensor w2 = w * 1.0, lw = w.reshape({4, 2}) * 1.0, mw = w.reshape({2, 4}) * 1.0;
    conv_w = storage_of(w2);
    lin_w = storage_of(lw);
    mm_w = storage_of(mw);
    Tensor rows = Tensor::randn({3, 2}, &gen);
    mm_x = storage_of(rows);
    s = sum(conv3d(clip, w2, Tensor(), Window3d{})) + sum(linear(rows, lw, Tensor())) +
        sum(matmul(rows, mw));
  }
  EXPECT_TRUE(conv_w.expired());
  EXPECT_TRUE(lin_w.expired());
  EXPECT_TRUE(mm_w.expired());
  EXPECT_FALSE(mm_x.expired());  // needed for dw of linear and matmul
  s.backward();
  EXPECT_TRUE(mm_x.expired());  // (the gradients themselves: test_gradcheck_*)
}

TEST(AutogradMemory, SavedTensorsAreFreedAsSoonAsTheirNodeHasRun) {
  // a = x + 1 (nothing saved), b = square(a) (keeps a), c = b * w (keeps b
  // and w), s = sum(c). Backward runs sum, mul, square, add_scalar; w is
  // reported right after mul, x after add_scalar.
  Tensor x = vec(1, true), w = vec(2, true);
  const int64_t base = profile::live_bytes();
  std::weak_ptr<Storage> a_storage, b_storage;
  Tensor s;
  {
    Tensor a = x + 1.0;
    Tensor b = square(a);
    a_storage = storage_of(a);
    b_storage = storage_of(b);
    s = sum(b * w);
  }
  EXPECT_EQ(profile::live_bytes() - base, 2 * kF32 + kScalarF32);  // a, b, s
  struct Seen {
    bool a_alive, b_alive;
    int64_t bytes;
  };
  std::vector<std::pair<const TensorImpl*, Seen>> seen;
  autograd::backward(s, Tensor(), false, [&](const Tensor& leaf) {
    seen.push_back({&leaf.impl(), {!a_storage.expired(), !b_storage.expired(),
                                   profile::live_bytes() - base}});
  });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, &w.impl());
  EXPECT_TRUE(seen[0].second.a_alive);    // square has not run yet
  EXPECT_FALSE(seen[0].second.b_alive);   // mul has run: b is gone
  EXPECT_EQ(seen[1].first, &x.impl());
  EXPECT_FALSE(seen[1].second.a_alive);   // square has run: a is gone
  // At the last report: s, the root's gradient of ones, w.grad, x.grad.
  // (Formerly add_scalar also kept a until after this report.)
  EXPECT_EQ(seen[1].second.bytes, kScalarF32 + kScalarF32 + 2 * kF32);
  EXPECT_EQ(profile::live_bytes() - base, kScalarF32 + 2 * kF32);
}

TEST(AutogradMemory, RetainGraphKeepsTheSavedTensorsUntilTheLastPass) {
  Tensor x = vec(1, true);
  std::weak_ptr<Storage> a_storage;
  Tensor s;
  {
    Tensor a = x + 1.0;
    a_storage = storage_of(a);
    s = sum(square(a));
  }
  s.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_FALSE(a_storage.expired());
  const std::vector<double> once = x.grad().to_vector();
  s.backward();
  EXPECT_TRUE(a_storage.expired());
  const std::vector<double> xv = x.to_vector(), twice = x.grad().to_vector();
  for (int64_t i = 0; i < kN; ++i) {
    EXPECT_FLOAT_EQ(float(once[size_t(i)]), float(2 * (xv[size_t(i)] + 1)));
    EXPECT_EQ(twice[size_t(i)], float(once[size_t(i)] + once[size_t(i)]));
  }
  try {
    s.backward();
    FAIL() << "expected an error on a freed graph";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("already freed"), std::string::npos) << what;
    EXPECT_NE(what.find("retain_graph"), std::string::npos) << what;
  }
}

TEST(AutogradMemory, ALeafThatStopsWantingAGradientAfterTheForwardGetsNone) {
  // The edge reads the leaf's requires_grad at backward time, as before.
  Tensor x = vec(1, true), w = vec(2, true);
  Tensor s = sum(x * w);
  w.requires_grad_(false);
  s.backward();
  EXPECT_FALSE(w.grad().defined());
  EXPECT_EQ(x.grad().to_vector(), w.to_vector());
}
