// Tests of issue 13, item 1: NaN and infinity never pass silently. The
// trainer's guard on gradients and parameters (nan_check_every), the loss
// guard on data holding a NaN, and checkpoints holding non-finite values or
// impossible metadata refused naming the tensor; resume over a torn metrics
// line. Not here: feature files and the other files (test_reliability_files.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "autograd/functions.h"
#include "core/ops.h"
#include "data/synthetic.h"
#include "layers/checkpoint.h"
#include "tests/test_util.h"
#include "vididi/train_loop.h"

using namespace vd;
using namespace vd::vididi;
using vd::testing::error_of;

namespace {

std::shared_ptr<data::SyntheticDynamics> small_synthetic() {
  data::SyntheticConfig c;
  c.height = c.width = 32;
  c.frames = 16;
  c.videos_per_class = 2;
  c.seed = 3;
  return std::make_shared<data::SyntheticDynamics>(c);
}

// The CPU-sized run of test_vididi_trainer.cpp: R3D-18 at width/8, one block per stage.
TrainConfig tiny() {
  TrainConfig c;
  c.model.width_divisor = 8;
  c.model.blocks = "1,1,1,1";
  c.projector_dim = 64;
  c.clip.frames = 4;
  c.clip.crop = 32;
  c.batch = 4;
  c.steps = 6;
  c.warmup_steps = 0;
  c.workers = 2;
  c.device = "cpu";
  c.quiet = true;
  return c;
}

std::string tmp_dir(const std::string& name) {
  std::string d = "/tmp/vididi_rel_" + name + "_" + std::to_string(::getpid());
  std::system(("rm -rf " + d).c_str());
  return d;
}

// The message of the vd::UsageError f throws; "(no usage error)" otherwise.
template <class F>
std::string usage_error_of(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not a usage error) ") + e.what();
  }
  return "(no usage error)";
}

}  // namespace

TEST(ReliabilityNan, FirstNonFiniteNamesTheFirstBadTensor) {
  nn::NamedTensors t = {{"a", Tensor::from_vector(std::vector<float>{1, 2, 3e38f}, {3})},
                        {"b", Tensor::from_vector(std::vector<float>{1, 2, 3}, {3})},
                        {"empty", Tensor::zeros({0})}};
  EXPECT_EQ(first_non_finite(t), "");  // 3e38 + 3e38 would overflow a plain sum: no false alarm
  t[1].second.data<float>()[2] = std::numeric_limits<float>::infinity();
  t.emplace_back("c", Tensor::from_vector(std::vector<float>{NAN}, {1}));
  EXPECT_EQ(first_non_finite(t), "b");
  t[1].second.data<float>()[2] = 0;
  EXPECT_EQ(first_non_finite(t), "c");
  EXPECT_EQ(first_non_finite({{"undefined", Tensor()}}), "");
}

TEST(ReliabilityNan, ParameterOverflowStopsAtTheStepItAppears) {
  auto src = small_synthetic();
  TrainConfig c = tiny();
  c.optimizer = "sgd";
  c.momentum = 0;
  c.lr = 1e38;  // the first update overflows the weights; the loss of step 0 is still finite
  c.out = tmp_dir("overflow");
  {
    Trainer t(c, c.total_steps(src->size()));
    const std::string msg = error_of([&] { train(t, src); });
    EXPECT_NE(msg.find("training stopped: after the update, parameter or buffer '"), std::string::npos) << msg;
    EXPECT_NE(msg.find("' holds NaN or inf at step 0 (pair 0-1; loss "), std::string::npos) << msg;
    EXPECT_NE(msg.find("last good checkpoint: none written yet"), std::string::npos) << msg;
  }
  // nan_check_every = 0 leaves only the loss guard: the same run stops a step later.
  std::system(("rm -rf " + c.out).c_str());
  c.nan_check_every = 0;
  Trainer t(c, c.total_steps(src->size()));
  const std::string msg = error_of([&] { train(t, src); });
  EXPECT_NE(msg.find("training stopped: the loss is"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("at step 0"), std::string::npos) << msg;
  std::system(("rm -rf " + c.out).c_str());
}

TEST(ReliabilityNan, InfiniteGradientStopsBeforeTheUpdate) {
  // test_vididi_trainer.cpp's lr = 1e30 run: step 1's loss is still finite,
  // its gradient is not; the guard stops there, before the update is applied.
  auto src = small_synthetic();
  TrainConfig c = tiny();
  c.optimizer = "sgd";
  c.lr = 1e30;
  c.steps = 20;
  c.checkpoint_every = 1;
  c.out = tmp_dir("grad");
  Trainer t(c, c.total_steps(src->size()));
  const std::string msg = error_of([&] { train(t, src); });
  EXPECT_NE(msg.find("training stopped: the gradient of 'encoder."), std::string::npos) << msg;
  EXPECT_NE(msg.find("' holds NaN or inf at step 1 (pair 1-2; loss "), std::string::npos) << msg;
  EXPECT_NE(msg.find("last good checkpoint: " + c.out + "/checkpoint.vdc (after step 1)"), std::string::npos) << msg;
  std::system(("rm -rf " + c.out).c_str());
}

TEST(ReliabilityNan, NanInTheInputStopsAtThatStep) {
  TrainConfig c = tiny();
  Trainer t(c, 6);
  Tensor xa = Tensor::uniform({4, 6, 32, 32, 3}, 0, 1), xb = Tensor::uniform({4, 6, 32, 32, 3}, 0, 1);
  EXPECT_NO_THROW(t.train_step(xa, xb, 0));
  xb.data<float>()[17] = NAN;
  const std::string msg = error_of([&] { t.train_step(xa, xb, 1); });
  // Max pooling drops the NaN from the forward pass (NaN compares false), so
  // the loss stays finite; the gradient does not, and the guard names it.
  EXPECT_NE(msg.find("training stopped: the gradient of 'encoder.stem.0.weight' holds NaN or inf at step 1 (pair 1-2"),
            std::string::npos) << msg;
}

TEST(ReliabilityNan, NanCheckEveryIsAKeyWithARange) {
  TrainConfig c;
  EXPECT_EQ(c.nan_check_every, 1);
  c.parse("nan_check_every = 0\n");
  EXPECT_EQ(c.nan_check_every, 0);
  const std::string msg = usage_error_of([&] { c.parse("nan_check_every = -1\n", "run.cfg"); });
  EXPECT_NE(msg.find("nan_check_every"), std::string::npos) << msg;
  EXPECT_NE(msg.find("run.cfg"), std::string::npos) << msg;
}

TEST(ReliabilityNan, CheckpointWithNonFiniteValuesIsRefusedNamingTheTensor) {
  const std::string path = tmp_dir("ck") + ".vdc";
  for (DType dt : {DType::F32, DType::F64, DType::BF16}) {
    Checkpoint ck;
    Tensor w = ops::to_dtype(Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}), dt);
    ck.model = {{"ok", Tensor::zeros({3})}, {"layer.weight", w}};
    write_checkpoint(path, ck);
    EXPECT_NO_THROW(read_checkpoint(path));
    ck.model[1].second = ops::to_dtype(Tensor::from_vector(std::vector<float>{1, 2, INFINITY, 4}, {2, 2}), dt);
    write_checkpoint(path, ck);
    EXPECT_EQ(usage_error_of([&] { read_checkpoint(path); }),
              "checkpoint " + path + ": tensor 'model/layer.weight' (shape [2, 2]) holds NaN or inf at element 2; "
              "expected finite values; hint: the run that wrote it diverged, use an earlier checkpoint");
  }
  Checkpoint ck;
  ck.optimizer = {{"m", Tensor::from_vector(std::vector<float>{NAN}, {1})}};
  write_checkpoint(path, ck);
  EXPECT_NE(usage_error_of([&] { read_checkpoint(path); }).find("tensor 'optim/m' (shape [1]) holds NaN"),
            std::string::npos);
  std::remove(path.c_str());
}

TEST(ReliabilityNan, CheckpointStepBeyondTwoPow53AndFolderAreRefused) {
  const std::string path = tmp_dir("step") + ".vdc";
  Checkpoint ck;
  ck.meta.step = (int64_t(1) << 53) - 1;
  write_checkpoint(path, ck);
  EXPECT_EQ(read_checkpoint(path).meta.step, (int64_t(1) << 53) - 1);
  ck.meta.step = -1;  // written as 2^64 - 1
  write_checkpoint(path, ck);
  EXPECT_EQ(usage_error_of([&] { read_checkpoint(path); }),
            "checkpoint " + path + ": meta/step is -1; expected a step in [0, 2^53); hint: the file is damaged");
  std::remove(path.c_str());
  const std::string dir = tmp_dir("ckdir");
  std::system(("mkdir -p " + dir).c_str());
  EXPECT_EQ(usage_error_of([&] { read_checkpoint(dir); }),
            "checkpoint " + dir + ": expected a file, got a folder; hint: name the checkpoint file inside it, e.g. " +
                dir + "/checkpoint.vdc");
  std::system(("rm -rf " + dir).c_str());
}

TEST(ReliabilityNan, GeneratorStateInACheckpointIsParsedChecked) {
  TrainConfig c = tiny();
  Trainer t(c, 6);
  const std::string path = tmp_dir("gen") + ".vdc";
  t.save(path, 2);
  EXPECT_EQ(t.restore(path), 2);
  Checkpoint ck = read_checkpoint(path);
  for (const char* bad : {"12", "1:0x10", "1:99999999999999999999", "-1:3"}) {
    ck.meta.extra["generator"] = bad;
    write_checkpoint(path, ck);
    const std::string msg = usage_error_of([&] { t.restore(path); });
    EXPECT_EQ(msg.rfind("checkpoint " + path + ": meta/extra/generator = '" + bad + "': expected", 0), 0u) << msg;
  }
  std::remove(path.c_str());
}

TEST(ReliabilityRunDir, ResumeAfterATornMetricsLineFinishesAndRepairsTheLog) {
  auto src = small_synthetic();
  TrainConfig c = tiny();
  c.out = tmp_dir("torn");
  c.stop_after = 3;
  {
    Trainer t(c, c.total_steps(src->size()));
    train(t, src);
  }
  {  // the process was killed while writing step 3's line
    FILE* f = std::fopen((c.out + "/metrics.jsonl").c_str(), "ab");
    std::fputs("{\"step\": 3, \"epoch\": 0, \"pair\": \"1-", f);
    std::fclose(f);
  }
  c.stop_after = 0;
  c.resume = "auto";
  Trainer t(c, c.total_steps(src->size()));
  TrainResult r = train(t, src);  // hung forever in plot_losses' read_metrics before
  EXPECT_TRUE(r.finished);
  std::vector<StepRecord> log = read_metrics(c.out + "/metrics.jsonl", [](const std::string& w) {
    ADD_FAILURE() << "the resumed run left a bad line: " << w;
  });
  ASSERT_EQ(log.size(), 6u);
  for (int64_t s = 0; s < 6; ++s) EXPECT_EQ(log[size_t(s)].step, s);
  std::system(("rm -rf " + c.out).c_str());
}
