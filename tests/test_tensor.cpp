// Tensor basics: creation, views sharing storage, contiguity, copies, casts,
// printing and the error messages of bad shapes and indices.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include "autograd/functions.h"
#include "core/bf16.h"
#include "core/ops.h"
#include "core/random.h"

using namespace vd;

static std::vector<double> vals(const Tensor& t) { return t.to_vector(); }

TEST(Tensor, CreationAndInspection) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.strides(), (Shape{3, 1}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(vals(Tensor::full({2}, 2.5)), (std::vector<double>{2.5, 2.5}));
  EXPECT_EQ(vals(Tensor::arange(4, DType::F64)), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(Tensor::ones({1}).item(), 1.0);
  EXPECT_EQ(z.size(-1), 3);
}

TEST(Tensor, RandomIsSeededAndPlausible) {
  Generator a(7), b(7), c(8);
  std::vector<double> x = vals(Tensor::randn({1000}, &a, DType::F64));
  EXPECT_EQ(x, vals(Tensor::randn({1000}, &b, DType::F64)));
  EXPECT_NE(x, vals(Tensor::randn({1000}, &c, DType::F64)));
  double m = 0, v = 0;
  for (double e : x) m += e / 1000;
  for (double e : x) v += (e - m) * (e - m) / 999;
  EXPECT_NEAR(m, 0, 0.1);
  EXPECT_NEAR(v, 1, 0.15);
  for (double u : vals(Tensor::uniform({200}, -2, 3, &a, DType::F64))) {
    EXPECT_GE(u, -2);
    EXPECT_LT(u, 3);
  }
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::arange(24, DType::F64).reshape({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_TRUE(p.same_storage(t));
  Tensor n = t.narrow(2, 1, 2);
  EXPECT_EQ(vals(n.select(0, 1).select(0, 2)), (std::vector<double>{21, 22}));
  // Writing through a view changes the base.
  Tensor v = t.select(1, 0);
  ops::fill_(v, -1);
  EXPECT_EQ(vals(t.narrow(2, 0, 1).reshape({6})), (std::vector<double>{-1, 4, 8, -1, 16, 20}));
  // contiguous() of a permuted view is a row-major copy.
  Tensor c = p.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.same_storage(t));
  // c[0,0,1] = p[0,0,1] = t[0,1,0]
  EXPECT_EQ(vals(c)[1], vals(t.select(0, 0).select(0, 1).select(0, 0))[0]);
}

TEST(Tensor, ConcatStackAndCasts) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector(std::vector<double>{5, 6}, {1, 2});
  EXPECT_EQ(vals(concat({a, b}, 0)), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(stack({b, b}, 0).shape(), (Shape{2, 1, 2}));
  Tensor f = a.to(DType::F32);
  EXPECT_EQ(f.dtype(), DType::F32);
  EXPECT_EQ(vals(f), vals(a));
  Tensor h = ops::to_dtype(Tensor::from_vector(std::vector<float>{1.0f, 3.140625f, -2.5f}, {3}), DType::BF16);
  EXPECT_EQ(vals(h), (std::vector<double>{1.0, 3.140625, -2.5}));  // exactly representable
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.00390625f)), 1.0f);     // ties round to even
}

TEST(Tensor, PrintingShowsShapeDtypeAndValues) {
  Tensor t = Tensor::arange(3);
  std::string s = t.str();
  EXPECT_NE(s.find("[3] f32 cpu"), std::string::npos) << s;
  EXPECT_NE(s.find("{0 1 2}"), std::string::npos) << s;
  EXPECT_NE(Tensor::zeros({100}).str().find("..."), std::string::npos);
}

using vd::testing::error_of;

TEST(TensorErrors, NameShapesAndValues) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 3});
  std::string e = error_of([&] { a + b; });
  EXPECT_NE(e.find("[2, 3]"), std::string::npos) << e;
  EXPECT_NE(e.find("[4, 3]"), std::string::npos) << e;
  e = error_of([&] { a.reshape({5}); });
  EXPECT_NE(e.find("[5]"), std::string::npos) << e;
  e = error_of([&] { a.select(0, 7); });
  EXPECT_NE(e.find("index 7"), std::string::npos) << e;
  e = error_of([&] { a.narrow(1, 2, 2); });
  EXPECT_NE(e.find("[2, 4)"), std::string::npos) << e;
  e = error_of([&] { a.permute({0, 0}); });
  EXPECT_NE(e.find("repeated"), std::string::npos) << e;
  e = error_of([&] { a + Tensor::zeros({2, 3}, DType::F64); });
  EXPECT_NE(e.find("f64"), std::string::npos) << e;
  e = error_of([&] { matmul(a, a); });
  EXPECT_NE(e.find("inner sizes"), std::string::npos) << e;
  e = error_of([&] { a.item(); });
  EXPECT_NE(e.find("one element"), std::string::npos) << e;
  e = error_of([&] { Device::parse("tpu"); });
  EXPECT_NE(e.find("'tpu'"), std::string::npos) << e;
  e = error_of([] { ops::to_dtype(Tensor::ones({2}).to(DType::F32), DType::BF16) + 1.0; });
  EXPECT_NE(e.find("bf16"), std::string::npos) << e;
}

TEST(TensorErrors, MessagesCarryFileAndLine) {
  std::string e = error_of([] { Tensor::zeros({2}).reshape({3}); });
  EXPECT_NE(e.find("ops.cpp:"), std::string::npos) << e;
}

TEST(Tensor, MatmulMatchesHandComputed) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector(std::vector<double>{1, 0, 0, 1, 1, 1}, {3, 2});
  EXPECT_EQ(vals(matmul(a, b)), (std::vector<double>{4, 5, 10, 11}));
  EXPECT_EQ(vals(ops::matmul(a, a, false, true)), (std::vector<double>{14, 32, 32, 77}));
  Tensor ab = stack({a, a}, 0), bb = stack({b, b}, 0);
  EXPECT_EQ(vals(matmul(ab, bb)), (std::vector<double>{4, 5, 10, 11, 4, 5, 10, 11}));
}

TEST(Tensor, ReductionsAndBroadcast) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 5, 3, 4, 2, 6}, {2, 3});
  EXPECT_EQ(vals(sum(a, {0})), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(vals(sum(a, {1}, true)), (std::vector<double>{9, 12}));
  EXPECT_EQ(sum(a, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(vals(amax(a, {1})), (std::vector<double>{5, 6}));
  EXPECT_DOUBLE_EQ(var(a).item(), 3.5);
  EXPECT_DOUBLE_EQ(var(a, {}, 0).item(), 35.0 / 12.0);
  Tensor col = Tensor::from_vector(std::vector<double>{10, 20}, {2, 1});
  EXPECT_EQ(vals(a + col), (std::vector<double>{11, 15, 13, 24, 22, 26}));
  EXPECT_EQ(vals(ops::sum_to(Tensor::ones({4, 2, 3}, DType::F64), {2, 1})), (std::vector<double>{12, 12}));
}
