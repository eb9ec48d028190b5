// Encoder structure against torchvision: every state_dict name, order and
// shape (after the conv-weight permutation) equals torchvision 0.26's
// (tests/test_models_torchvision_shapes.inc, from shared/anchors), parameter
// counts without head, R(2+1)D mid widths, small variants, heads and errors.
// Numerical parity is in test_models_golden.cpp, FLOPs in test_models_flops.cpp.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "autograd/functions.h"
#include "core/random.h"
#include "vididi/models/r3d.h"
#include "vididi/models/s3d.h"
#include "tests/test_models_util.h"

using namespace vd;
using namespace vd::models;
using vd::models::testing::shared_full_model;

namespace {

struct TvModel {
  int64_t params_encoder = 0, params_head = 0;
  std::vector<std::pair<std::string, Shape>> state;  // state_dict order, torch layout
};

const std::map<std::string, TvModel>& torchvision_models() {
  static const std::map<std::string, TvModel> models = [] {
    static const char* text =
#include "tests/test_models_torchvision_shapes.inc"
        ;
    std::map<std::string, TvModel> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string model, name;
      if (!(ls >> model >> name)) continue;
      TvModel& m = out[model];
      if (name == "params_encoder") {
        std::string tag;
        ls >> m.params_encoder >> tag >> m.params_head;
        continue;
      }
      Shape s;
      for (int64_t d; ls >> d;) s.push_back(d);
      m.state.emplace_back(name, s);
    }
    return out;
  }();
  return models;
}

const char* const kEncoders[] = {"r3d_18", "r2plus1d_18", "s3d"};

TEST(ModelsStructure, StateDictNamesOrderAndShapesEqualTorchvision) {
  for (const char* model : kEncoders) {
    const TvModel& tv = torchvision_models().at(model);
    nn::NamedTensors ours = shared_full_model(model).state_dict();
    ASSERT_EQ(ours.size(), tv.state.size()) << model;
    for (size_t i = 0; i < ours.size(); ++i) {
      EXPECT_EQ(ours[i].first, tv.state[i].first) << model << " entry " << i;
      EXPECT_EQ(shape_str(torch_shape(ours[i].second.shape())), shape_str(tv.state[i].second))
          << model << " " << ours[i].first;
    }
  }
}

TEST(ModelsStructure, ParameterCountsWithoutAndWithHead) {
  static const std::map<std::string, int64_t> design = {
      {"r3d_18", 33166272}, {"r2plus1d_18", 31300125}, {"s3d", 7910048}};  // DESIGN.md section 5
  for (const char* model : kEncoders) {
    const TvModel& tv = torchvision_models().at(model);
    Encoder& m = shared_full_model(model);
    int64_t head = 0;
    for (auto& [name, t] : m.named_parameters())
      if (name.rfind("fc.", 0) == 0 || name.rfind("classifier.", 0) == 0) head += t.numel();
    EXPECT_EQ(m.parameter_count() - head, design.at(model)) << model;
    EXPECT_EQ(m.parameter_count() - head, tv.params_encoder) << model;
    EXPECT_EQ(head, tv.params_head) << model;
    EXPECT_EQ(m.feature_dim(), std::string(model) == "s3d" ? 1024 : 512) << model;
  }
}

TEST(ModelsStructureR2Plus1D, MidplanesAreTorchvisionsIntegerFormula) {
  // (in*out*27) // (in*9 + 3*out), by hand.
  EXPECT_EQ(r2plus1d_midplanes(64, 64), 144);    // 110592 / 768
  EXPECT_EQ(r2plus1d_midplanes(64, 128), 230);   // 221184 / 960 = 230.4
  EXPECT_EQ(r2plus1d_midplanes(128, 128), 288);  // 442368 / 1536
  EXPECT_EQ(r2plus1d_midplanes(256, 512), 921);  // 3538944 / 3840 = 921.6
  EXPECT_EQ(r2plus1d_midplanes(8, 16), 28);      // 3456 / 120 = 28.8 (divisor 8)
}

TEST(ModelsStructureSmall, WidthAndDepthSettingsGiveSmallNetworks) {
  EncoderOptions opt;
  opt.width_divisor = 8;
  opt.blocks = {1, 1, 1, 1};
  for (const char* name : {"r3d_18", "r2plus1d_18"}) {
    auto m = make_encoder(name, opt);
    EXPECT_EQ(m->feature_dim(), 64);
    EXPECT_EQ(std::dynamic_pointer_cast<VideoResNet>(m)->layer1->size(), 1u);
    EXPECT_EQ(m->named_tensor("stem.0.weight").size(0), std::string(name) == "r3d_18" ? 8 : 5);
    Tensor y = m->forward(Tensor::uniform({2, 4, 16, 16, 3}, -1, 1));
    EXPECT_EQ(shape_str(y.shape()), "[2, 64]");
  }
  opt.blocks = {2, 2, 2, 2};
  auto s3d = make_encoder("S3D", opt);
  s3d->eval();  // the last map is 1x1x1: batch statistics of one value are refused
  EXPECT_EQ(s3d->feature_dim(), 128);  // (384 + 384 + 128 + 128) / 8
  EXPECT_EQ(shape_str(s3d->forward(Tensor::uniform({1, 8, 32, 32, 3}, -1, 1)).shape()), "[1, 128]");
}

TEST(ModelsStructureHead, HeadsMapFeaturesToClasses) {
  EncoderOptions opt;
  opt.width_divisor = 8;
  opt.num_classes = 5;
  for (const char* name : {"r3d_18", "s3d"}) {
    auto m = make_encoder(name, opt);
    Tensor x = Tensor::uniform({2, 8, 32, 32, 3}, -1, 1);
    m->eval();
    Tensor f = m->forward(x);
    Tensor logits = m->logits(x);
    EXPECT_EQ(shape_str(logits.shape()), "[2, 5]");
    // The head is linear in the features: logits = W f + b, with W from the
    // 2-D (fc) or 1x1x1 conv (classifier.1) weight.
    bool s3d = std::string(name) == "s3d";
    Tensor w = m->named_tensor(s3d ? "classifier.1.weight" : "fc.weight");
    Tensor b = m->named_tensor(s3d ? "classifier.1.bias" : "fc.bias");
    Tensor ref = linear(f, reshape(w, {5, m->feature_dim()}), b);
    std::vector<double> a = logits.to_vector(), r = ref.to_vector();
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], r[i], 1e-5);
  }
  auto bare = make_encoder("r3d_18", EncoderOptions{8, {1, 1, 1, 1}, 0, nullptr});
  EXPECT_FALSE(bare->has_head());
  EXPECT_THROW(bare->classify(Tensor::zeros({2, 64})), Error);
}

TEST(ModelsStructureErrors, WrongInputsAndNamesAreRefusedWithHints) {
  auto m = make_encoder("r3d_18", EncoderOptions{8, {1, 1, 1, 1}, 0, nullptr});
  try {
    m->forward(Tensor::zeros({1, 3, 4, 16, 16}));  // NCDHW by mistake
    FAIL() << "expected vd::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("[N, T, H, W, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1, 3, 4, 16, 16]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("hint"), std::string::npos) << msg;
  }
  EXPECT_THROW(make_encoder("resnet50"), Error);
  EXPECT_THROW(make_encoder("s3d", EncoderOptions{8, {1, 1, 1, 1}, 0, nullptr}), Error);
  EXPECT_THROW(make_encoder("r3d_18", EncoderOptions{8, {2, 2}, 0, nullptr}), Error);
  EXPECT_EQ(canonical_encoder_name("R(2+1)D-18"), "r2plus1d_18");
  EXPECT_EQ(canonical_encoder_name("R3D-18"), "r3d_18");
}

TEST(ModelsStructureLayout, ConvWeightsPermuteBetweenLayouts) {
  // ours [Cout, kT, kH, kW, Cin] <-> torch [Cout, Cin, kT, kH, kW]
  EXPECT_EQ(shape_str(torch_shape({64, 3, 7, 7, 3})), "[64, 3, 3, 7, 7]");
  EXPECT_EQ(shape_str(our_shape({64, 3, 3, 7, 7})), "[64, 3, 7, 7, 3]");
  EXPECT_EQ(shape_str(torch_shape({400, 512})), "[400, 512]");
  Tensor t = Tensor::arange(2 * 3 * 1 * 2 * 2).reshape({2, 3, 1, 2, 2});  // torch layout, Cin 3
  Tensor o = from_torch_layout(t);
  EXPECT_EQ(shape_str(o.shape()), "[2, 1, 2, 2, 3]");
  // element (co=1, ci=2, t=0, h=1, w=0) = 1*12 + 2*4 + 0 + 1*2 + 0 = 22
  EXPECT_EQ(o.to_vector()[((1 * 1 + 0) * 2 + 1) * 2 * 3 + 0 * 3 + 2], 22);
  EXPECT_EQ(to_torch_layout(o).to_vector(), t.to_vector());
}

}  // namespace
