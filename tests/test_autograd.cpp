// The autograd engine: accumulation into leaves, gradients of tensors used
// several times, broadcast reduction, no_grad, detach, retain_graph, and the
// deterministic order of summation.
#include <gtest/gtest.h>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"

using namespace vd;

static Tensor leaf(std::vector<double> v, Shape s) {
  Tensor t = Tensor::from_vector(v, s);
  t.requires_grad_(true);
  return t;
}

TEST(Autograd, ChainRuleOnHandComputedExample) {
  // y = sum(x * x + 3 x) -> dy/dx = 2x + 3
  Tensor x = leaf({1, -2, 0.5}, {3});
  (x * x + 3.0 * x).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5, -1, 4}));
}

TEST(Autograd, TensorUsedSeveralTimesSumsItsGradients) {
  Tensor x = leaf({2}, {1});
  Tensor y = x * x * x + x;  // 3x^2 + 1 = 13
  y.sum().backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 13.0);
}

TEST(Autograd, LeafGradientsAccumulateAcrossBackwards) {
  Tensor x = leaf({1, 2}, {2});
  (x * 2.0).sum().backward();
  (x * 3.0).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5, 5}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, BroadcastGradientsReduceToInputShape) {
  Tensor a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = leaf({10, 20, 30}, {3});
  Tensor c = leaf({7}, {1, 1});
  (a * b + c).sum().backward();
  EXPECT_EQ(b.grad().shape(), (Shape{3}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(c.grad().shape(), (Shape{1, 1}));
  EXPECT_EQ(c.grad().item(), 6.0);
}

TEST(Autograd, NoGradAndDetachRecordNothing) {
  Tensor x = leaf({1, 2}, {2});
  {
    autograd::NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.same_storage(x));
  Tensor y = x * d;  // d is a constant
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 2}));
}

TEST(Autograd, GraphIsFreedUnlessRetained) {
  Tensor x = leaf({3}, {1});
  Tensor y = (x * x).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 12.0);
  try {
    y.backward();
    FAIL() << "expected an error on a freed graph";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST(Autograd, BackwardErrorsAreClear) {
  Tensor x = Tensor::ones({2});
  try {
    x.sum().backward();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not require grad"), std::string::npos);
  }
  Tensor y = leaf({1, 2}, {2}) * 2.0;
  try {
    y.backward();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2]"), std::string::npos) << e.what();
  }
}

TEST(Autograd, RepeatsBitForBit) {
  auto run = [] {
    Generator g(3);
    Tensor w = Tensor::randn({16, 8}, &g, DType::F32);
    w.requires_grad_(true);
    Tensor x = Tensor::randn({32, 8}, &g, DType::F32);
    Tensor h = relu(linear(x, w, Tensor()));
    (h * h).mean().backward();
    return w.grad().to_vector();
  };
  EXPECT_EQ(run(), run());
}

TEST(Autograd, GradcheckCatchesAWrongGradient) {
  // A deliberately wrong backward must fail the checker (it can fail).
  auto wrong_square = [](const std::vector<Tensor>& in) {
    Tensor out = ops::unary(UnaryOp::Square, in[0]);
    autograd::record("wrong", {in[0]}, out, [](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g};  // should be 2 x g
    });
    return out;
  };
  Generator gen(1);
  Tensor x = Tensor::randn({5}, &gen, DType::F64);
  auto res = autograd::gradcheck(wrong_square, {x});
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.message.find("analytic"), std::string::npos);
  Tensor x2 = Tensor::randn({5}, &gen, DType::F64);
  EXPECT_TRUE(autograd::gradcheck([](const std::vector<Tensor>& in) { return square(in[0]); }, {x2}).ok);
}
