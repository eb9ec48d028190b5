// conv3d, pools, batch norm, softmax, cross-entropy, normalize and the cosine
// matrix against PyTorch's values and gradients stored in tests/golden/ops.vdg
// (tests/golden/make_golden.py; format docs/GOLDEN.md). PyTorch's NCDHW tensors
// and [Cout, Cin, kT, kH, kW] weights are permuted to channels-last here.
#include <gtest/gtest.h>

#include "tests/golden/golden_io.h"
#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::testing;

namespace {

const std::map<std::string, golden::Entry>& ops_file() {
  static const auto file = golden::load("tests/golden/ops.vdg");
  return file;
}

const golden::Entry& entry(const std::string& name) { return golden::get(ops_file(), name); }

// An f64 leaf holding the entry; 5-D tensors go from channels-first to channels-last.
Tensor tensor(const std::string& name) {
  const golden::Entry& e = entry(name);
  Tensor t = Tensor::from_vector(e.values, e.shape.empty() ? Shape{} : Shape(e.shape));
  if (t.dim() == 5) t = ops::contiguous(ops::permute(t, {0, 2, 3, 4, 1}));
  t.requires_grad_(true);
  return t;
}

std::array<int64_t, 3> triple(const std::string& name) {
  const auto& v = entry(name).values;
  return {int64_t(v.at(0)), int64_t(v.at(1)), int64_t(v.at(2))};
}

// Checks y against `prefix/y`, then backpropagates sum(y * r) and checks each
// input's gradient against `prefix/d<name>`.
void check(const std::string& prefix, const Tensor& y, const std::vector<std::pair<std::string, Tensor>>& inputs,
           double tol = 1e-10) {
  EXPECT_LT(max_abs_diff(y, tensor(prefix + "/y")), tol) << prefix << " y";
  (y * tensor(prefix + "/r")).sum().backward();
  for (const auto& [name, t] : inputs)
    EXPECT_LT(max_abs_diff(t.grad(), tensor(prefix + "/d" + name)), tol) << prefix << " d" << name;
}

const char* kConvCases[] = {"k333_s1_p1_bias", "k333_s2_p1", "k177_s122_p033", "k311_s211_p100",
                            "k111_s2_p0", "k233_d122_p022_bias", "k323_s123_p102_bias"};

}  // namespace

TEST(NnGolden, Conv3dMatchesPyTorch) {
  for (std::string c : kConvCases) {
    const std::string p = "conv3d/" + c;
    Tensor x = tensor(p + "/x"), w = tensor(p + "/w");
    const bool has_bias = ops_file().count(p + "/b") > 0;
    Tensor b = has_bias ? tensor(p + "/b") : Tensor();
    const Window3d win = window({w.size(1), w.size(2), w.size(3)}, triple(p + "/stride"), triple(p + "/padding"),
                                triple(p + "/dilation"));
    std::vector<std::pair<std::string, Tensor>> in{{"x", x}, {"w", w}};
    if (has_bias) in.push_back({"b", b});
    check(p, conv3d(x, w, b, win), in);
  }
}

TEST(NnGolden, PoolsMatchPyTorch) {
  for (const char* op : {"max_pool3d", "avg_pool3d"})
    for (const char* c : {"k133_s122_p011", "k333_s222_p111", "k222_s222_p0", "k333_s1_p1", "k277_s1_p0"}) {
      const std::string p = std::string(op) + "/" + c;
      if (!ops_file().count(p + "/x")) continue;  // not every case exists for both ops
      Tensor x = tensor(p + "/x");
      const Window3d win = window(triple(p + "/kernel"), triple(p + "/stride"), triple(p + "/padding"));
      check(p, op[0] == 'm' ? max_pool3d(x, win) : avg_pool3d(x, win, true), {{"x", x}});
    }
}

TEST(NnGolden, BatchNormTrainAndEvalMatchPyTorch) {
  for (const char* c : {"nc", "ncthw"}) {
    const std::string p = std::string("batch_norm/") + c;
    Tensor x = tensor(p + "/x"), g = tensor(p + "/weight"), b = tensor(p + "/bias");
    Tensor rm = tensor(p + "/running_mean_in").detach(), rv = tensor(p + "/running_var_in").detach();
    const double momentum = entry(p + "/momentum").values[0], eps = entry(p + "/eps").values[0];
    Tensor rm0 = ops::clone(rm), rv0 = ops::clone(rv);
    check(p, batch_norm(x, g, b, rm, rv, true, momentum, eps), {{"x", x}, {"weight", g}, {"bias", b}});
    EXPECT_LT(max_abs_diff(rm, tensor(p + "/running_mean_out")), 1e-12) << p;
    EXPECT_LT(max_abs_diff(rv, tensor(p + "/running_var_out")), 1e-12) << p;
    EXPECT_LT(max_abs_diff(batch_norm(x, g, b, rm0, rv0, false, momentum, eps), tensor(p + "/y_eval")), 1e-10)
        << p;
  }
}

TEST(NnGolden, SoftmaxCrossEntropyNormalizeCosineMatchPyTorch) {
  for (const char* op : {"softmax", "log_softmax"}) {
    Tensor x = tensor(std::string(op) + "/x");
    check(op, op[0] == 's' ? softmax(x) : log_softmax(x), {{"x", x}});
  }
  Tensor logits = tensor("cross_entropy/logits");
  std::vector<int64_t> labels;
  for (double v : entry("cross_entropy/labels").values) labels.push_back(int64_t(v));
  Tensor loss = cross_entropy(logits, labels);
  EXPECT_NEAR(loss.item(), entry("cross_entropy/loss").values[0], 1e-12);
  loss.backward();
  EXPECT_LT(max_abs_diff(logits.grad(), tensor("cross_entropy/dlogits")), 1e-12);

  Tensor xn = tensor("normalize/x");
  check("normalize", l2_normalize(xn, 1, entry("normalize/eps").values[0]), {{"x", xn}});
  Tensor a = tensor("cosine_matrix/a"), b = tensor("cosine_matrix/b");
  check("cosine_matrix", cosine_similarity_matrix(a, b, 1e-12), {{"a", a}, {"b", b}});
}
