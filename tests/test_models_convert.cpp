// tools/convert_checkpoint.py against the engine: a width/8 R(2+1)D-18 saved
// inside a parent module (as pretraining saves it, under `encoder.`) goes to a
// torch state_dict, loads strictly into torchvision's block classes, gives the
// same eval features in PyTorch as here, and comes back bit for bit. Runs only
// where python3 can import torch and torchvision (skipped otherwise: CI
// without torch stays fast); one python process, most of its time is the import.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "autograd/functions.h"
#include "layers/checkpoint.h"
#include "layers/layers.h"
#include "tests/test_models_util.h"

using namespace vd;
using namespace vd::models;
using namespace vd::models::testing;

namespace {

bool python_has_torch() {
  return std::system("python3 -c \"import importlib.util as u, sys; "
                     "sys.exit(0 if u.find_spec('torch') and u.find_spec('torchvision') else 1)\" "
                     ">/dev/null 2>&1") == 0;
}

struct Parent : nn::Module {
  Parent(std::shared_ptr<Encoder> e) : nn::Module("Parent"), encoder(e) {
    register_module("encoder", e);
    register_module("projector", std::make_shared<nn::Linear>(e->feature_dim(), 4));
  }
  std::shared_ptr<Encoder> encoder;
};

TEST(ModelsConvert, RoundTripThroughTorchvisionStateDict) {
  if (!python_has_torch()) GTEST_SKIP() << "python3 cannot import torch/torchvision";
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("vd_models_convert_" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::create_directories(dir);

  EncoderOptions opt;
  opt.width_divisor = 8;
  auto enc = make_encoder("r2plus1d_18", opt);
  golden_fill(*enc);
  Shape in = {2, 3, 8, 32, 32};
  Tensor x = golden_input(in, DType::F32);
  {
    autograd::NoGradGuard ng;
    enc->train();
    enc->forward(x);  // moves running stats and num_batches_tracked off their defaults
  }
  enc->eval();
  Tensor ours;
  {
    autograd::NoGradGuard ng;
    ours = enc->forward(x);
  }
  Parent parent(enc);
  std::string a = (dir / "a.vdck").string(), pt = (dir / "a.pt").string(),
              b = (dir / "b.vdck").string(), feats = (dir / "f.vdg").string();
  save_checkpoint(a, parent, nullptr, CheckpointMeta{});

  std::string cmd = "python3 tools/convert_checkpoint.py roundtrip " + a + " " + pt + " " + b +
                    " --arch r2plus1d_18 --divisor 8 --features-out " + feats +
                    " --input-shape 2,3,8,32,32 > " + (dir / "log.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << " (see " << (dir / "log.txt").string() << ")";

  // Back: exactly the encoder's entries, same order, bit-identical values.
  Checkpoint back = read_checkpoint(b);
  nn::NamedTensors expect = enc->state_dict();
  ASSERT_EQ(back.model.size(), expect.size());
  for (size_t i = 0; i < expect.size(); ++i) {
    EXPECT_EQ(back.model[i].first, expect[i].first);
    EXPECT_EQ(back.model[i].second.shape(), expect[i].second.shape()) << expect[i].first;
    EXPECT_EQ(back.model[i].second.to_vector(), expect[i].second.to_vector()) << expect[i].first;
  }
  // PyTorch (f64 on the converted f32 weights) computes the same eval features.
  auto f = golden::load(feats);
  double err = rel_error(ours, golden::get(f, "features"));
  std::printf("[convert] r2plus1d_18/8 eval features, ours (f32) vs torch: rel err %.2e\n", err);
  EXPECT_LT(err, 1e-5);
  fs::remove_all(dir);
}

}  // namespace
