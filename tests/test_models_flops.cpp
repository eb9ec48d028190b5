// FLOP counter (vididi/models/flops.h) against PyTorch's: exact totals of
// torch.utils.flop_counter.FlopCounterMode for one 16x112x112 clip (command in
// docs/MODELS.md), a layer counted by hand, and propagated shapes against real
// forwards (so the shape walk cannot drift from the networks).
#include <gtest/gtest.h>

#include "vididi/models/encoder.h"
#include "vididi/models/r3d.h"
#include "tests/test_models_util.h"

using namespace vd;
using namespace vd::models;
using vd::models::testing::shared_full_model;

namespace {

TEST(ModelsFlops, TotalsEqualPyTorchFlopCounterPerClip) {
  // FlopCounterMode totals (aten.convolution only), torch 2.15 / torchvision 0.29,
  // input 1x3x16x112x112, encoder without head.
  const std::pair<const char*, int64_t> cases[] = {
      {"r3d_18", 81392697344}, {"r2plus1d_18", 81037752320}, {"s3d", 8947980288}};
  for (auto& [name, expected] : cases) {
    Encoder& m = shared_full_model(name);  // the head (not run by forward) is not counted
    FlopReport r = count_flops(m, {1, 16, 112, 112, 3});
    EXPECT_EQ(r.total, expected) << name;
    EXPECT_EQ(shape_str(r.output), shape_str({1, m.feature_dim()})) << name;
    // Linear in the batch: no per-call constant.
    EXPECT_EQ(count_flops(m, {3, 16, 112, 112, 3}).total, 3 * expected) << name;
  }
}

TEST(ModelsFlops, StemConvCountedByHand) {
  FlopReport r = count_flops(shared_full_model("r3d_18"), {1, 16, 112, 112, 3});
  ASSERT_FALSE(r.layers.empty());
  const LayerCost& stem = r.layers.front();
  EXPECT_EQ(stem.name, "stem.0");
  EXPECT_EQ(shape_str(stem.out), "[1, 16, 56, 56, 64]");
  // 2 * (16*56*56 outputs * 64 channels) * (3 * 3*7*7 taps)
  EXPECT_EQ(stem.flops, int64_t(2) * 16 * 56 * 56 * 64 * 3 * 3 * 7 * 7);
  // 20 convolutions: stem, 16 block convs, 3 downsamples.
  EXPECT_EQ(r.layers.size(), 20u);
}

TEST(ModelsFlops, HeadCountedWhenTracedAndShapesMatchForwardPasses) {
  EncoderOptions opt;
  opt.width_divisor = 8;
  opt.num_classes = 7;
  for (const char* name : {"r3d_18", "r2plus1d_18", "s3d"}) {
    auto m = make_encoder(name, opt);
    m->eval();
    for (Shape in : {Shape{2, 8, 32, 32, 3}, Shape{1, 5, 24, 40, 3}}) {
      Tensor y = m->forward(Tensor::uniform(in, -1, 1));
      EXPECT_EQ(shape_str(count_flops(*m, in).output), shape_str(y.shape())) << name;
    }
    // A head traced on its own: a Linear (fc) is counted as 2 * in * out per row.
    if (auto* r = dynamic_cast<VideoResNet*>(m.get())) {
      EXPECT_EQ(count_flops(*r->fc, {4, 64}).total, 2 * 4 * 64 * 7);
    }
  }
}

TEST(ModelsFlops, UnknownModulesAreNamedInTheError) {
  struct Opaque : nn::Module {
    Opaque() : nn::Module("Opaque") {}
  } m;
  try {
    count_flops(m, {1, 2, 3, 4, 5});
    FAIL() << "expected vd::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Opaque"), std::string::npos) << e.what();
  }
}

}  // namespace
