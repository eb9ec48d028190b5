// Tests of the pretraining configuration, heads, plot, and trainer: refusals
// up front, BYOL's target, exact resume (bitwise-equal losses), the
// non-finite-loss guard, crash-safe checkpoints, and that the method learns
// on the synthetic dynamics dataset (loss falls, retrieval R@1 rises above a
// randomly initialised encoder's).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/random.h"
#include "data/synthetic.h"
#include "layers/checkpoint.h"
#include "vididi/eval/features.h"
#include "vididi/eval/retrieval.h"
#include "vididi/plot.h"
#include "vididi/train_loop.h"
#include "tests/test_nn_util.h"

using namespace vd;
using namespace vd::vididi;

namespace {

std::shared_ptr<data::SyntheticDynamics> synthetic(int per_class, data::Subset subset = data::Subset::train,
                                                   int size = 32, int frames = 16) {
  data::SyntheticConfig c;
  c.height = c.width = size;
  c.frames = frames;
  c.videos_per_class = per_class;
  c.seed = 3;
  c.subset = subset;
  return std::make_shared<data::SyntheticDynamics>(c);
}

// A CPU-sized run: R3D-18 at width/8 with one block per stage, 32x32 crops.
TrainConfig tiny_config() {
  TrainConfig c;
  c.model.encoder = "r3d_18";
  c.model.width_divisor = 8;
  c.model.blocks = "1,1,1,1";
  c.projector_dim = 64;
  c.byol_hidden = 64, c.byol_dim = 32;
  c.simclr_hidden = 64, c.simclr_dim = 32;
  c.clip.frames = 4;
  c.clip.crop = 32;
  c.batch = 4;
  c.steps = 6;
  c.warmup_steps = 1;  // below steps: validate() refuses a warm-up as long as the run
  c.workers = 2;
  c.device = "cpu";
  c.quiet = true;
  return c;
}

// A whole training run of `c` on `src`, as `vididi pretrain` runs it.
TrainResult run_on(const TrainConfig& c, std::shared_ptr<const data::VideoSource> src) {
  Trainer t(c, c.total_steps(src->size()));
  return train(t, src);
}

// `key = value` set through the config's key table, as a config file would.
void set_key(TrainConfig& c, const std::string& key, const std::string& value) { c.parse(key + " = " + value + "\n"); }

std::string temp_dir(const std::string& name) {
  std::string d = "/tmp/vididi_test_" + name + "_" + std::to_string(::getpid());
  std::system(("rm -rf " + d).c_str());
  return d;
}

std::string expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected vd::Error";
  return "";
}

}  // namespace

TEST(VididiConfig, EveryKeyIsDocumentedAndRoundTrips) {
  TrainConfig c;
  config::Settings table;
  train_keys(table, c);
  for (const auto& k : table.keys()) {
    EXPECT_FALSE(k->help().empty()) << k->name();
    EXPECT_EQ(k->text(), k->default_text()) << k->name();
  }
  c.parse("framework = byol  # comment\n\n# full-line comment\nbatch=8\ngain = 1, 0.5, 2\nsame_clip = true\n");
  EXPECT_EQ(c.framework, "byol");
  EXPECT_EQ(c.batch, 8);
  EXPECT_EQ(c.gains(), (std::vector<double>{1, 0.5, 2}));
  EXPECT_TRUE(c.same_clip);
  c.out = "runs/a #b \"c\"";  // a comment mark and quotes in a path read back unchanged
  TrainConfig d;
  d.parse(c.to_text());
  EXPECT_EQ(d.to_text(), c.to_text());
  EXPECT_EQ(d.out, c.out);
  EXPECT_NE(expect_error([&] { set_key(c, "batchsize", "3"); }).find("unknown key 'batchsize'"), std::string::npos);
  EXPECT_NE(expect_error([&] { c.parse("x\n", "run.cfg"); }).find("run.cfg:1"), std::string::npos);
  EXPECT_NE(expect_error([&] { set_key(c, "batch", "eight"); }).find("'batch'"), std::string::npos);
  EXPECT_NE(expect_error([&] { set_key(c, "batch", "eight"); }).find("expected an integer"), std::string::npos);
}

TEST(VididiConfig, RefusesSettingsThatCannotWork) {
  auto src = synthetic(2, data::Subset::train, 32, 8);
  // Refused by the key table, by validate() against the dataset, or by the
  // trainer's device resolver: before any model is built.
  auto refused = [&](const std::string& key, const std::string& value, const std::string& words) {
    TrainConfig c = tiny_config();
    std::string msg = expect_error([&] {
      set_key(c, key, value);
      c.validate(*src);
      Trainer t(c, c.total_steps(src->size()));
    });
    EXPECT_NE(msg.find(words), std::string::npos) << key << "=" << value << ": " << msg;
  };
  refused("batch", "1", "batch norm needs >= 2");
  refused("framework", "moco", "expected one of vicreg, byol, simclr");
  refused("schedule", "cyclic", "expected one of alternate, sum, random");
  refused("pairs", "0-3", "orders 0, 1 or 2");
  refused("optimizer", "adam", "expected one of lars, sgd, adamw");
  refused("frames", "7", "longest video has 8");  // 7 + 2 frames > 8
  refused("precision", "bf16", "needs a GPU");
  refused("encoder", "resnet50", "resnet50");
  refused("crop", "4294967312", "expected an integer in [8, 4096]");  // once read as 16 by a 32-bit int
  refused("lr", "0x10", "expected a finite number");
  refused("lr", "nan", "expected a finite number");
  refused("gain", "1,nan,1", "gain");
  refused("blocks", "2,2,2", "expected 4 comma-separated integers");
  refused("warmup_steps", "6", "warmup_steps = 6 must be below steps = 6");
  TrainConfig ok = tiny_config();
  ok.clip.frames = 6;
  EXPECT_NO_THROW(ok.validate(*src));  // 6 + 2 = 8 frames fit
  ok.pairs = "0-0";
  ok.clip.frames = 8;
  EXPECT_NO_THROW(ok.validate(*src));  // frames only: no extra frames
}

// R3D-18 at width/8 with one block per stage: the heads tests' encoder.
static std::shared_ptr<models::Encoder> small_encoder() {
  models::EncoderOptions eo;
  eo.width_divisor = 8;
  eo.blocks = {1, 1, 1, 1};
  return models::make_encoder("r3d_18", eo);
}

TEST(VididiHeads, ProjectorsHaveThePinnedShapes) {
  Generator g(1);
  auto factory = small_encoder;
  HeadOptions h;
  h.vicreg_width = 48;
  SSLModel vic(factory, h, &g);
  EXPECT_EQ(vic.named_tensor("projector.0.weight").shape(), (Shape{48, 64}));
  EXPECT_EQ(vic.named_tensor("projector.1.running_var").shape(), (Shape{48}));
  EXPECT_EQ(vic.named_tensor("projector.6.weight").shape(), (Shape{48, 48}));  // Lin-BN-ReLU x2 + Lin
  h.framework = Framework::SimCLR;
  h.simclr_hidden = 40, h.simclr_dim = 16;
  SSLModel sim(factory, h, &g);
  EXPECT_EQ(sim.named_tensor("projector.3.weight").shape(), (Shape{16, 40}));
}

TEST(VididiHeads, ByolTargetStartsAsACopyAndFollowsTheEma) {
  Generator g(2);
  auto factory = small_encoder;
  HeadOptions h;
  h.framework = Framework::BYOL;
  h.byol_hidden = 32, h.byol_dim = 16;
  SSLModel m(factory, h, &g);
  Tensor on = m.named_tensor("projector.0.weight"), tg = m.named_tensor("target_projector.0.weight");
  EXPECT_EQ(on.to_vector(), tg.to_vector());
  EXPECT_FALSE(tg.requires_grad());
  for (auto& kv : m.trainable_parameters()) EXPECT_EQ(kv.first.rfind("target_", 0), std::string::npos);
  // Move the online weights, then one EMA step: t' = m t + (1 - m) o.
  std::vector<double> t0 = tg.to_vector();
  {
    autograd::NoGradGuard ng;
    ops::fill_(on, 0.5);
  }
  m.update_target(0.9);
  std::vector<double> t1 = tg.to_vector();
  for (size_t i = 0; i < t0.size(); ++i) ASSERT_NEAR(t1[i], 0.9 * t0[i] + 0.1 * 0.5, 1e-6);
  Tensor x = Tensor::randn({2, 4, 32, 32, 3}, &g);
  Tensor t = m.target(x);
  EXPECT_FALSE(t.requires_grad());
  EXPECT_EQ(t.shape(), (Shape{2, 16}));
}

TEST(VididiPlot, DrawsCurvesAndWritesPng) {
  Series a{"loss", {0, 1, 2, 3}, {4, 3, 2.5, 2}}, b{"inv", {0, 1, 2, 3}, {1, NAN, 0.5, 0.4}};
  PlotOptions o;
  o.width = 320, o.height = 200;
  std::vector<unsigned char> px = render_line_plot({a, b}, o);
  ASSERT_EQ(px.size(), size_t(320 * 200 * 3));
  int blue = 0, orange = 0;
  for (size_t i = 0; i < px.size(); i += 3) {
    blue += px[i] == 31 && px[i + 1] == 119 && px[i + 2] == 180;
    orange += px[i] == 255 && px[i + 1] == 127 && px[i + 2] == 14;
  }
  EXPECT_GT(blue, 100);
  EXPECT_GT(orange, 30);
  std::string path = temp_dir("plot") + ".png";
  write_line_plot(path, {a, b}, o);
  std::ifstream f(path, std::ios::binary);
  char sig[8] = {0};
  f.read(sig, 8);
  EXPECT_EQ(std::string(sig + 1, 3), "PNG");
  std::remove(path.c_str());
}

TEST(VididiTrainer, ResumeContinuesWithBitwiseEqualLosses) {
  auto src = synthetic(2);  // 20 videos, 5 batches of 4 per epoch: the run crosses an epoch
  for (const char* framework : {"vicreg", "byol"}) {
    TrainConfig c = tiny_config();
    c.framework = framework;
    c.steps = 8;
    c.warmup_steps = 2;
    c.optimizer = "lars";
    c.lr = 0.2;
    c.out = temp_dir(std::string("full_") + framework);
    TrainResult full = run_on(c, src);
    ASSERT_EQ(full.records.size(), 8u);

    c.out = temp_dir(std::string("split_") + framework);
    c.stop_after = 3;
    TrainResult first = run_on(c, src);
    EXPECT_FALSE(first.finished);
    EXPECT_EQ(first.steps_done, 3);
    c.stop_after = 0;
    c.resume = "auto";
    TrainResult second = run_on(c, src);
    EXPECT_TRUE(second.finished);
    EXPECT_EQ(second.first_step, 3);
    ASSERT_EQ(first.records.size() + second.records.size(), 8u);
    for (int64_t s = 0; s < 8; ++s) {
      const StepRecord& r = s < 3 ? first.records[size_t(s)] : second.records[size_t(s - 3)];
      EXPECT_EQ(r.loss, full.records[size_t(s)].loss) << framework << " step " << s;  // bitwise
      EXPECT_EQ(r.pair, full.records[size_t(s)].pair);
    }
    // The metrics log of the resumed run holds each step once, in order.
    std::vector<StepRecord> log = read_metrics(c.out + "/metrics.jsonl");
    ASSERT_EQ(log.size(), 8u);
    for (int64_t s = 0; s < 8; ++s) EXPECT_EQ(log[size_t(s)].step, s);
    EXPECT_EQ(log[4].pair, "1-2");
    std::ifstream png(c.out + "/loss.png"), cfg(c.out + "/config.txt"), run(c.out + "/run.json");
    EXPECT_TRUE(png.good() && cfg.good() && run.good());
    // A resume with a changed method setting is refused naming the key.
    c.resume = c.out + "/checkpoint.vdc";
    c.lr = 0.1;
    EXPECT_NE(expect_error([&] { run_on(c, src); }).find("resume: lr"), std::string::npos);
    std::system(("rm -rf " + c.out + " " + temp_dir(std::string("full_") + framework)).c_str());
  }
}

TEST(VididiTrainer, NonFiniteLossStopsNamingStepAndCheckpoint) {
  auto src = synthetic(2);
  TrainConfig c = tiny_config();
  c.optimizer = "sgd";
  c.lr = 1e30;  // the weights overflow after the first updates
  c.nan_check_every = 0;  // the loss guard alone (the gradient guard stops this run earlier: test_reliability_nan.cpp)
  c.warmup_steps = 0;
  c.steps = 20;
  c.checkpoint_every = 1;
  c.out = temp_dir("nan");
  std::string msg = expect_error([&] { run_on(c, src); });
  EXPECT_NE(msg.find("training stopped: the loss is"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at step"), std::string::npos) << msg;
  EXPECT_NE(msg.find("last good checkpoint: " + c.out + "/checkpoint.vdc (after step"), std::string::npos) << msg;
  std::system(("rm -rf " + c.out).c_str());
}

TEST(VididiTrainer, KillDuringSaveLeavesTheLatestCheckpointReadable) {
  auto src = synthetic(2);
  TrainConfig c = tiny_config();
  c.projector_dim = 1024;  // a larger file: saves take long enough to be interrupted
  c.out = temp_dir("kill");
  Trainer t(c, c.total_steps(src->size()));
  std::string path = c.out + "/checkpoint.vdc";
  std::system(("mkdir -p " + c.out).c_str());
  CheckpointMeta meta;
  save_checkpoint(path, t.model(), nullptr, meta);
  for (int trial = 0; trial < 4; ++trial) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (;;) save_checkpoint(path, t.model(), nullptr, meta);  // killed mid-write
    }
    ::usleep(useconds_t(20000 + 13000 * trial));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    EXPECT_NO_THROW(read_checkpoint(path)) << "trial " << trial;
  }
  std::system(("rm -rf " + c.out).c_str());
}

TEST(VididiTrainer, ByolPredictorLrScalesOnlyThePredictorsStep) {
  using vd::testing::max_abs_diff;
  // One plain-SGD step (no momentum, decay or warm-up) from the same start:
  // with byol_predictor_lr = 10 the predictor moves 10 times as far and
  // everything else exactly as far as with 1 (same gradients at step 0).
  auto src = synthetic(1);
  auto one_step = [&](double predictor_lr, nn::NamedTensors& before) {
    TrainConfig c = tiny_config();
    c.framework = "byol";
    c.optimizer = "sgd";
    c.momentum = 0;
    c.weight_decay = 0;
    c.steps = 1;
    c.warmup_steps = 0;
    c.lr = 0.05;
    c.byol_predictor_lr = predictor_lr;
    c.out = temp_dir("byol_plr");
    Trainer t(c, c.total_steps(src->size()));
    for (const auto& [name, p] : t.model().named_parameters()) before.emplace_back(name, ops::clone(p));
    train(t, src);
    std::system(("rm -rf " + c.out).c_str());
    nn::NamedTensors after;
    for (const auto& [name, p] : t.model().named_parameters()) after.emplace_back(name, ops::clone(p));
    return after;
  };
  nn::NamedTensors start1, start10;
  nn::NamedTensors p1 = one_step(1, start1), p10 = one_step(10, start10);
  ASSERT_EQ(p1.size(), p10.size());
  int predictor = 0;
  for (size_t i = 0; i < p1.size(); ++i) {
    const std::string& name = p1[i].first;
    ASSERT_EQ(name, p10[i].first);
    EXPECT_EQ(max_abs_diff(start1[i].second, start10[i].second), 0.0) << name;
    if (name.rfind("predictor.", 0) == 0) {
      Tensor d1 = p1[i].second - start1[i].second, d10 = p10[i].second - start10[i].second;
      // Differences of f32 values near 1 carry rounding of ~1e-7 (a bias
      // before batch norm barely moves); judge the others at 1e-4 relative.
      const double moved = max_abs_diff(d10, Tensor::zeros(d10.shape()));
      EXPECT_LE(max_abs_diff(d10, d1 * 10.0), 1e-4 * moved + 1e-7) << name;
      if (moved > 1e-4) ++predictor;
    } else if (name.rfind("target_", 0) != 0) {
      EXPECT_EQ(max_abs_diff(p1[i].second, p10[i].second), 0.0) << name;  // bitwise
    }
  }
  EXPECT_GE(predictor, 2);  // at least the two weight matrices moved measurably
}
