// Golden parity of the encoders with torchvision (tests/golden/encoders_*.vdg,
// written by tests/golden/make_golden.py in float64; names in docs/GOLDEN.md).
// Parameters come from the deterministic fill rule in PyTorch layout and are
// permuted to ours; the input is fill('input', ...) likewise. Full width:
// features in eval and train mode (R3D-18 and R(2+1)D-18 on 2x3x8x32x32, S3D on
// 1x3x13x209x209 where torchvision's AvgPool3d((2,7,7)) applies, and on
// 2x3x16x64x64 with mean pooling). Width / 8: features, every parameter
// gradient of sum(features * r) and every BN buffer after that training step.
// Worst relative errors are printed and reported in docs/MODELS.md.
#include <gtest/gtest.h>

#include <cstdio>

#include "autograd/functions.h"
#include "tests/test_models_util.h"

using namespace vd;
using namespace vd::models;
using namespace vd::models::testing;

namespace {

const std::map<std::string, golden::Entry>& full_file() {
  static const auto f = golden::load("tests/golden/encoders_full.vdg");
  return f;
}
const std::map<std::string, golden::Entry>& narrow_file() {
  static const auto f = golden::load("tests/golden/encoders_narrow.vdg");
  return f;
}

// Computed in f64 (as the goldens); the golden values are stored in f32, so
// the tolerances sit just above f32 rounding of values and of the 2^-24
// relative error that a float32 golden carries.
constexpr double kFeatureTol = 2e-6;
constexpr double kGradTol = 2e-5;

// modes: "eval", "train" or both; each mode is one full-width f64 forward.
void full_width_case(const char* model, const char* gcase, std::vector<std::string> modes) {
  const auto& f = full_file();
  std::string p = std::string(model) + "/" + gcase + "/";
  Shape in = entry_shape(golden::get(f, p + "input_shape"));
  Encoder& m = shared_full_model(model);
  m.to(DType::F64);
  golden_fill(m);  // every parameter and buffer, so earlier uses leave no trace
  Tensor x = golden_input(in, DType::F64);
  autograd::NoGradGuard ng;
  for (const std::string& mode : modes) {  // eval first: train moves the running stats
    m.train(mode == "train");
    double e = rel_error(m.forward(x), golden::get(f, p + "features_" + mode));
    std::printf("[golden] %s/%s input %s: features (%s) rel err %.2e\n", model, gcase,
                shape_str(in).c_str(), mode.c_str(), e);
    EXPECT_LT(e, kFeatureTol) << mode;
  }
}

TEST(ModelsGoldenFull, R3D18Features) { full_width_case("r3d_18", "full", {"eval", "train"}); }
TEST(ModelsGoldenFull, R2Plus1D18Features) {
  full_width_case("r2plus1d_18", "full", {"eval", "train"});
}
// At 13x209x209 the last map is 2x7x7: torchvision's fixed AvgPool3d((2,7,7))
// equals our mean over T, H, W. (One mode per S3D case keeps the test short;
// the narrow S3D case checks train mode with gradients.)
TEST(ModelsGoldenFull, S3DFeaturesAtTorchvisionPoolingSize) {
  full_width_case("s3d", "full", {"eval"});
}
TEST(ModelsGoldenFull, S3DFeaturesMeanPooled) { full_width_case("s3d", "full_gap", {"train"}); }

void narrow_case(const char* model) {
  const auto& f = narrow_file();
  std::string p = std::string(model) + "/narrow8/";
  EncoderOptions opt;
  opt.width_divisor = int64_t(golden::get(f, p + "divisor").values[0]);
  auto m = make_encoder(model, opt);
  m->to(DType::F64);
  golden_fill(*m);
  m->train();
  Tensor x = golden_input(entry_shape(golden::get(f, p + "input_shape")), DType::F64);
  const golden::Entry& r = golden::get(f, p + "r");
  Tensor feats = m->forward(x);
  double e_feat = rel_error(feats, golden::get(f, p + "features"));
  EXPECT_LT(e_feat, kFeatureTol);
  Tensor rt = Tensor::from_vector(r.values, Shape(r.shape));
  sum(feats * rt).backward();

  double worst_grad = 0, worst_state = 0;
  std::string worst_grad_name;
  int n_grad = 0, n_state = 0;
  for (auto& [name, t] : m->named_parameters()) {
    ASSERT_TRUE(t.grad().defined()) << name;
    double e = rel_error(t.grad(), golden::get(f, p + "grad/" + name));
    EXPECT_LT(e, kGradTol) << name;
    if (e > worst_grad) worst_grad = e, worst_grad_name = name;
    ++n_grad;
  }
  for (auto& [name, t] : m->named_buffers()) {
    double e = rel_error(t, golden::get(f, p + "state/" + name));
    EXPECT_LT(e, kFeatureTol) << name;
    worst_state = std::max(worst_state, e);
    ++n_state;
  }
  // Every golden gradient was compared (no parameter missing on our side).
  int golden_grads = 0;
  for (auto& [k, e] : f)
    if (k.rfind(p + "grad/", 0) == 0) ++golden_grads;
  EXPECT_EQ(n_grad, golden_grads);
  std::printf("[golden] %s/narrow8: features %.2e; %d gradients, worst %.2e (%s); %d BN buffers, "
              "worst %.2e\n",
              model, e_feat, n_grad, worst_grad, worst_grad_name.c_str(), n_state, worst_state);
}

TEST(ModelsGoldenNarrow, R3D18GradientsAndRunningStats) { narrow_case("r3d_18"); }
TEST(ModelsGoldenNarrow, R2Plus1D18GradientsAndRunningStats) { narrow_case("r2plus1d_18"); }
TEST(ModelsGoldenNarrow, S3DGradientsAndRunningStats) { narrow_case("s3d"); }

}  // namespace
