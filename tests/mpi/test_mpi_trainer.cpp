// Data-parallel training equals one large batch (run by mpirun with 2 ranks,
// from tests/test_dist_training.cpp): for VICReg, SimCLR and BYOL, with and
// without SyncBN, 2 ranks with batch B/2 each reach the losses and
// parameters of one process with batch B after 4 SGD steps. The reference
// is an independent single-process step written here on the same initial
// model (not the trainer's own step): the encoder runs on the whole batch
// (SyncBN's statistics) or on each half separately (each rank's own
// batch-norm statistics), the framework's loss is taken on the whole batch,
// then backward and SGD. Also: the resume of a 2-rank run equals the
// uninterrupted run bitwise, and a 2-rank checkpoint is refused by 1 rank.
//
// Both runs compute in f64 (Trainer::to), and the tolerance is
// |a - b| <= 1e-9 + 1e-7 |b| on every loss and parameter. Why f64: in f32
// the runs agree to 3e-7 after one step (the gradient is right), but the
// roundings of sums taken in other orders (batch-norm sums over halves
// joined by an all-reduce, products over B/2 rows, (g0 + g1) / 2) flip a
// ReLU or VICReg's hinge of this small network within 3 steps, and the
// parameters then part by 1e-4. In f64 the largest difference measured
// after 5 steps was 6e-11, while a wrong semantics (local statistics, a
// missing factor of the world size, a rank's rows taken twice) moves
// parameters by 1e-4 and more.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <unistd.h>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/random.h"
#include "data/synthetic.h"
#include "layers/checkpoint.h"
#include "layers/optim/sgd.h"
#include "tests/mpi/mpi_util.h"
#include "vididi/derivatives.h"
#include "vididi/losses.h"
#include "vididi/train_loop.h"

using namespace vd;
using namespace vd::vididi;

namespace {

// The tolerance of the comparisons (see the header comment).
constexpr double kAbs = 1e-9, kRel = 1e-7;

TrainConfig small_config(const std::string& framework, bool sync_bn, int64_t batch) {
  TrainConfig c;
  c.framework = framework;
  c.model.width_divisor = 16;
  c.model.blocks = "1,1,1,1";
  c.projector_dim = 32;
  c.byol_hidden = 32, c.byol_dim = 16;
  c.simclr_hidden = 32, c.simclr_dim = 16;
  c.clip.frames = 4, c.clip.crop = 16;
  c.pairs = "0-1";
  c.batch = batch;
  c.steps = 3;
  c.optimizer = "sgd", c.lr = 0.01, c.final_lr = 0.01, c.warmup_steps = 0, c.momentum = 0.9;
  c.exclude_bias_bn = false;
  c.dist.sync_bn = sync_bn;
  c.device = "cpu";
  c.quiet = true;
  c.workers = 1;
  return c;
}

// One step of the reference on the whole batch xa, xb: [B, T + 1, H, W, C].
// parts = 1: the encoder sees all B clips at once; parts = 2: each half alone.
double reference_step(SSLModel& m, optim::SGD& opt, const Tensor& xa, const Tensor& xb, int parts, int64_t step,
                      int64_t total, const TrainConfig& c) {
  const bool byol = c.framework == "byol";
  const int64_t n = xa.size(0) / parts;
  std::vector<Tensor> za, zb, ta, tb;
  for (int p = 0; p < parts; ++p) {
    Tensor va = derivative_view(ops::narrow(xa, 0, p * n, n), 0, c.clip.frames);
    Tensor vb = derivative_view(ops::narrow(xb, 0, p * n, n), 1, c.clip.frames);
    za.push_back(m.online(va));
    if (byol) ta.push_back(m.target(va));
    zb.push_back(m.online(vb));
    if (byol) tb.push_back(m.target(vb));
  }
  auto cat = [](const std::vector<Tensor>& v) { return v.empty() ? Tensor() : vd::concat(v, 0); };
  LossResult r = m.loss(cat(za), cat(zb), cat(ta), cat(tb));
  opt.zero_grad();
  r.loss.backward();
  opt.step();
  if (byol) m.update_target(byol_momentum(step, total, c.byol_momentum));
  return r.loss.item();
}

void expect_close(const nn::NamedTensors& got, const nn::NamedTensors& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const std::vector<double> a = got[i].second.to_vector(), b = want[i].second.to_vector();
    ASSERT_EQ(a.size(), b.size()) << got[i].first;
    double worst = 0;
    for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]) / (kAbs + kRel * std::abs(b[k])));
    EXPECT_LE(worst, 1.0) << what << ": " << got[i].first << " differs beyond the tolerance (x" << worst << ")";
  }
}

void check_equivalence(const std::string& framework, bool sync_bn) {
  auto world = mpitest::world();
  ASSERT_EQ(world->world_size(), 2);
  const int64_t B = 8, steps = 4;
  // The reference: one process, batch B, on every rank (each computes it alone).
  TrainConfig rc = small_config(framework, sync_bn, B);
  Trainer ref(rc, steps, {}, single_process(Device::cpu()));
  ref.to(DType::F64);
  optim::SGD opt({optim::make_group(ref.model().trainable_parameters(), rc.lr, rc.weight_decay)},
                 optim::SGDOptions(rc.lr).momentum(rc.momentum).weight_decay(rc.weight_decay));
  // The data-parallel run: batch B / 2 on each of the 2 ranks.
  Parallel par = single_process(Device::cpu());
  par.comm = world;
  Trainer dp(small_config(framework, sync_bn, B / 2), steps, {}, par);
  dp.to(DType::F64);
  Generator gen(11);
  for (int64_t s = 0; s < steps; ++s) {
    Tensor xa = Tensor::randn({B, 5, 16, 16, 3}, &gen, DType::F64), xb = Tensor::randn({B, 5, 16, 16, 3}, &gen, DType::F64);
    const double want = reference_step(ref.model(), opt, xa, xb, sync_bn ? 1 : 2, s, steps, rc);
    const int64_t r = world->rank();
    const StepRecord got = dp.train_step(ops::contiguous(ops::narrow(xa, 0, r * B / 2, B / 2)),
                                         ops::contiguous(ops::narrow(xb, 0, r * B / 2, B / 2)), s);
    EXPECT_NEAR(got.loss, want, kAbs + kRel * std::abs(want)) << framework << " step " << s;
  }
  expect_close(dp.model().trainable_parameters(), ref.model().trainable_parameters(), framework);
  if (sync_bn) expect_close(dp.model().named_buffers(), ref.model().named_buffers(), framework + " buffers");
}

}  // namespace

TEST(MpiTrainer, VicregMatchesOneLargeBatch) { check_equivalence("vicreg", false); }
TEST(MpiTrainer, VicregSyncBnMatchesOneLargeBatch) { check_equivalence("vicreg", true); }
TEST(MpiTrainer, SimclrMatchesOneLargeBatch) { check_equivalence("simclr", false); }
TEST(MpiTrainer, SimclrSyncBnMatchesOneLargeBatch) { check_equivalence("simclr", true); }
TEST(MpiTrainer, ByolMatchesOneLargeBatch) { check_equivalence("byol", false); }
TEST(MpiTrainer, ByolSyncBnMatchesOneLargeBatch) { check_equivalence("byol", true); }

// The reference's step is the trainer's: on one process with parts = 1 both
// give the same losses (guards the test above against a reference that
// drifted from the real step).
TEST(MpiTrainer, ReferenceStepIsTheTrainersStep) {
  TrainConfig c = small_config("vicreg", false, 4);
  Trainer a(c, 3, {}, single_process(Device::cpu())), b(c, 3, {}, single_process(Device::cpu()));
  optim::SGD opt({optim::make_group(b.model().trainable_parameters(), c.lr, c.weight_decay)},
                 optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
  Generator gen(5);
  for (int64_t s = 0; s < 3; ++s) {
    Tensor xa = Tensor::randn({4, 5, 16, 16, 3}, &gen), xb = Tensor::randn({4, 5, 16, 16, 3}, &gen);
    EXPECT_DOUBLE_EQ(a.train_step(xa, xb, s).loss, reference_step(b.model(), opt, xa, xb, 1, s, 3, c));
  }
  expect_close(a.model().trainable_parameters(), b.model().trainable_parameters(), "one process");
}

namespace {
std::shared_ptr<data::SyntheticDynamics> videos() {
  data::SyntheticConfig sc;
  sc.height = sc.width = 16;
  sc.frames = 8;
  sc.videos_per_class = 2;
  sc.seed = 3;
  return std::make_shared<data::SyntheticDynamics>(sc);
}

// A folder every rank names alike (rank 0's choice), removed first.
std::string shared_dir(const std::string& name) {
  auto world = mpitest::world();
  std::string d = ::testing::TempDir() + name + "_" + std::to_string(::getpid());
  world->broadcast_text(d, 0);
  if (world->is_root()) std::filesystem::remove_all(d);
  world->barrier();
  return d;
}
}  // namespace

// Resume of a 2-rank run: stopped after 2 of 4 steps and resumed, it ends
// with the checkpoint of the uninterrupted run, bit for bit; the checkpoint
// is refused by a run of 1 rank, naming both world sizes.
TEST(MpiTrainer, ResumeOfATwoRankRunIsBitwiseAndNeedsTwoRanks) {
  auto world = mpitest::world();
  auto src = videos();
  Parallel par = single_process(Device::cpu());
  par.comm = world;
  auto run = [&](const std::string& out, int64_t stop_after, const std::string& resume) {
    TrainConfig c = small_config("vicreg", false, 2);
    c.steps = 4, c.warmup_steps = 1, c.final_lr = 0;
    c.flip_p = 0;
    c.out = out, c.stop_after = stop_after, c.resume = resume;
    Trainer t(c, planned_steps(c, *src, world->world_size()), {}, par);
    return train(t, src);
  };
  const std::string whole = shared_dir("mpi_whole"), parts = shared_dir("mpi_parts");
  run(whole, 0, "");
  run(parts, 2, "");
  TrainResult r = run(parts, 0, "auto");
  EXPECT_EQ(r.first_step, 2);
  world->barrier();  // rank 0 wrote both checkpoints
  const Checkpoint a = read_checkpoint(whole + "/checkpoint.vdc"), b = read_checkpoint(parts + "/checkpoint.vdc");
  ASSERT_EQ(a.model.size(), b.model.size());
  for (size_t i = 0; i < a.model.size(); ++i)
    EXPECT_EQ(a.model[i].second.to_vector(), b.model[i].second.to_vector()) << a.model[i].first;
  EXPECT_EQ(a.meta.extra.at("world_size"), "2");

  TrainConfig one = small_config("vicreg", false, 2);
  one.steps = 4, one.warmup_steps = 1, one.final_lr = 0, one.flip_p = 0;
  Trainer t(one, 4, {}, single_process(Device::cpu()));
  try {
    t.restore(whole + "/checkpoint.vdc");
    FAIL() << "a 2-rank checkpoint was resumed by 1 rank";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("2 rank(s)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("has 1"), std::string::npos) << e.what();
  }
}

// lr_scale = linear multiplies the learning rate by the world size (off by
// default: the same lr with more ranks is a larger batch at the same rate).
TEST(MpiTrainer, LinearLrScaleMultipliesByTheWorldSize) {
  auto world = mpitest::world();
  Parallel par = single_process(Device::cpu());
  par.comm = world;
  TrainConfig c = small_config("byol", false, 2);
  Generator gen(3);
  Tensor xa = Tensor::randn({2, 5, 16, 16, 3}, &gen), xb = Tensor::randn({2, 5, 16, 16, 3}, &gen);
  Trainer plain(c, 3, {}, par);
  EXPECT_DOUBLE_EQ(plain.train_step(xa, xb, 1).lr, c.lr);
  c.dist.lr_scale = "linear";
  Trainer scaled(c, 3, {}, par);
  EXPECT_DOUBLE_EQ(scaled.train_step(xa, xb, 1).lr, c.lr * world->world_size());
}
