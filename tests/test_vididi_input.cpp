// tests/test_vididi_input.cpp: the training input's transfer (issue 18) on
// the CPU. The input_transfer key parses, resolves (auto: u8 on cuda, f32 on
// the cpu) and refuses what it does not know; a CPU run with
// input_transfer = f32 (and auto) gives the losses of the loop as it was
// before the uploader, bit for bit (the old loop is re-written here: loader,
// memcpy, train_step); a CPU run with u8 normalises on the "device" and gives
// close but different losses; the uploader refuses a loader of the wrong kind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/ops.h"
#include "data/synthetic.h"
#include "vididi/input_upload.h"
#include "vididi/train_loop.h"

using namespace vd;
using namespace vd::vididi;

namespace {

std::shared_ptr<data::SyntheticDynamics> synthetic(int per_class) {
  data::SyntheticConfig c;
  c.height = c.width = 32;
  c.frames = 16;
  c.videos_per_class = per_class;
  c.seed = 3;
  return std::make_shared<data::SyntheticDynamics>(c);
}

// As tests/test_vididi_trainer.cpp's tiny_config: R3D-18 / 8, one block per stage.
TrainConfig tiny_config() {
  TrainConfig c;
  c.model.encoder = "r3d_18";
  c.model.width_divisor = 8;
  c.model.blocks = "1,1,1,1";
  c.projector_dim = 64;
  c.clip.frames = 4;
  c.clip.crop = 32;
  c.batch = 4;
  c.steps = 7;  // crosses an epoch: 10 videos give 2 batches of 4
  c.warmup_steps = 1;
  c.workers = 2;
  c.device = "cpu";
  c.quiet = true;
  return c;
}

std::vector<double> losses(const TrainResult& r) {
  std::vector<double> l;
  for (const StepRecord& s : r.records) l.push_back(s.loss);
  return l;
}

std::vector<double> run(const TrainConfig& c, std::shared_ptr<const data::VideoSource> src) {
  Trainer t(c, c.total_steps(src->size()));
  return losses(train(t, src));
}

// The pretraining loop before the uploader (vididi/train_loop.cpp up to issue
// 18): the loader's f32 views, each memcpy'd into a fresh CPU tensor, one
// batch at a time.
std::vector<double> run_the_old_loop(const TrainConfig& c, std::shared_ptr<const data::VideoSource> src) {
  Trainer trainer(c, c.total_steps(src->size()));
  data::ClipConfig clip;
  clip.frames = int(c.clip.frames);
  clip.extra_frames = trainer.schedule().max_order();
  clip.stride = int(c.clip.stride);
  clip.views = 2;
  clip.same_clip = c.same_clip;
  clip.train = true;
  clip.short_video = data::parse_short_video(c.clip.short_video);
  clip.augment.out_h = clip.augment.out_w = int(c.clip.crop);
  clip.augment.scale_min = float(c.scale_min);
  clip.augment.flip_p = float(c.flip_p);
  clip.augment.jitter_p = float(c.jitter_p);
  clip.augment.grayscale_p = float(c.grayscale_p);
  data::LoaderConfig lc;
  lc.batch_size = int(c.batch);
  lc.workers = int(c.workers);
  lc.seed = c.seed;
  lc.shuffle = lc.drop_last = true;
  data::Loader loader(src, clip, lc);
  auto view = [](const data::Batch& b, int v) {
    const data::ViewBatch& vb = b.views[size_t(v)];
    Tensor t = Tensor::empty({vb.N, vb.T, vb.H, vb.W, vb.C});
    std::memcpy(t.data<float>(), vb.data.get(), vb.numel() * sizeof(float));
    return t;
  };
  std::vector<double> l;
  int64_t epoch = 0;
  data::Batch batch;
  for (int64_t step = 0; step < trainer.total_steps(); ++step) {
    if (!loader.next(batch)) {
      loader.start_epoch(++epoch);
      EXPECT_TRUE(loader.next(batch));
    }
    l.push_back(trainer.train_step(view(batch, 0), view(batch, 1), step).loss);
  }
  return l;
}

TEST(VididiInput, KeyParsesResolvesAndRefuses) {
  TrainConfig c;
  EXPECT_EQ(c.input_transfer, "auto");
  c.parse("input_transfer = u8\n");
  EXPECT_EQ(c.input_transfer, "u8");
  c.parse("input_transfer = f32\n");
  EXPECT_EQ(c.input_transfer, "f32");
  EXPECT_NE(c.to_text().find("input_transfer = f32"), std::string::npos);
  try {
    c.parse("input_transfer = fp16\n");
    ADD_FAILURE() << "fp16 was accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(e.key(), "input_transfer");
    EXPECT_NE(std::string(e.what()).find("u8"), std::string::npos) << e.what();
  }
  EXPECT_EQ(resolve_input_transfer("auto", Device::cpu()), InputTransfer::F32);
  EXPECT_EQ(resolve_input_transfer("auto", Device::cuda(0)), InputTransfer::U8);
  EXPECT_EQ(resolve_input_transfer("f32", Device::cuda(0)), InputTransfer::F32);
  EXPECT_EQ(resolve_input_transfer("u8", Device::cpu()), InputTransfer::U8);
  EXPECT_THROW(resolve_input_transfer("bf16", Device::cpu()), UsageError);
  data::LoaderConfig lc;
  configure_loader(lc, InputTransfer::U8, Device::cpu());
  EXPECT_TRUE(lc.frames_u8);
  EXPECT_FALSE(lc.allocator);  // pageable buffers on the CPU
}

TEST(VididiInput, F32TransferOnTheCpuIsTheOldLoopBitForBit) {
  auto src = synthetic(1);
  TrainConfig c = tiny_config();
  const std::vector<double> old = run_the_old_loop(c, src);
  ASSERT_EQ(old.size(), 7u);
  c.input_transfer = "f32";
  const std::vector<double> f32 = run(c, src);
  c.input_transfer = "auto";
  const std::vector<double> autos = run(c, src);
  for (size_t i = 0; i < old.size(); ++i) {
    EXPECT_EQ(f32[i], old[i]) << "step " << i;  // bitwise: same doubles
    EXPECT_EQ(autos[i], old[i]) << "step " << i;
  }
}

TEST(VididiInput, U8TransferOnTheCpuGivesCloseLosses) {
  auto src = synthetic(1);
  TrainConfig c = tiny_config();
  c.input_transfer = "f32";
  const std::vector<double> f32 = run(c, src);
  c.input_transfer = "u8";
  const std::vector<double> u8 = run(c, src);
  ASSERT_EQ(u8.size(), f32.size());
  // Step 0 (lr 0: the same weights on both sides) sees only the rounding of
  // the input, which the first and second differences of these faint
  // textures amplify: 0.4% measured. Later steps move the weights by the
  // different gradients and drift further apart (LARS at lr 0.3 on 4 clips:
  // up to 7% measured by step 6); the bound there only says "same run".
  // That the inputs themselves agree to 0.5 / 255 is
  // AugmentU8.U8LoaderGivesTheF32LoadersBatchesUpToTheRounding.
  bool differs = false;
  for (size_t i = 0; i < f32.size(); ++i) {
    ASSERT_TRUE(std::isfinite(u8[i])) << "step " << i;
    EXPECT_NEAR(u8[i], f32[i], (i == 0 ? 1e-2 : 0.15) * std::abs(f32[i])) << "step " << i;
    differs = differs || u8[i] != f32[i];
  }
  EXPECT_TRUE(differs) << "the u8 run gave the f32 losses exactly: was the rounding applied?";
}

TEST(VididiInput, UploaderRefusesTheWrongKindOfViewsAndOverfilling) {
  data::Batch b;
  data::ViewBatch v;
  v.N = 1, v.T = 1, v.H = 2, v.W = 2;
  v.data = data::default_allocator(v.numel());
  b.views.push_back(v);
  InputUploader u8(Device::cpu(), InputTransfer::U8);
  EXPECT_THROW(u8.issue(b), Error);
  InputUploader f32(Device::cpu(), InputTransfer::F32);
  EXPECT_THROW(f32.take(), Error);
  std::fill(v.data.get(), v.data.get() + v.numel(), 0.25f);
  f32.issue(b);
  f32.issue(b);
  EXPECT_THROW(f32.issue(b), Error);  // two in flight at most
  const std::vector<Tensor> t = f32.take();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].to_vector(), std::vector<double>(12, 0.25));
  EXPECT_EQ(f32.in_flight(), 1u);
}

}  // namespace
