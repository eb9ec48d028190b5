// tests/test_cli_train.cpp: the training subcommands called in-process on
// tiny synthetic data: `pretrain` (a run stopped after 2 of 3 steps and
// resumed from its own config.txt gives the same losses, bit for bit, as an
// uninterrupted run; run directory files; its checkpoint loads in
// `retrieve`; a --blocks 1,1,1,1 run's checkpoint builds its own encoder in
// retrieve, linear and finetune from its model card, refuses a contradicting
// key, and a checkpoint without a card is loaded strictly),
// `bench` (one JSON line), `demo` (three rows, reports, plots); each with
// its error cases; and docs/CONFIG.md against the --help texts.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/test_cli_util.h"
#include "layers/checkpoint.h"
#include "layers/safetensors.h"
#include "vididi/config/train_config.h"
#include "vididi/run_dir.h"

using namespace cli_test;

namespace {
// 16x16 synthetic videos of 8 frames, 2 per class (20 videos), width/16
// R3D-18, 4-frame clips, batch 4: a step takes tens of milliseconds.
const std::vector<std::string> kTinyData{"--synth_size", "16", "--synth_frames", "8", "--synth_train_per_class",
                                         "2", "--synth_test_per_class", "1", "--device", "cpu"};
const std::vector<std::string> kTinyTrain{"--width_divisor", "16", "--projector_dim", "32", "--frames", "4",
                                          "--crop", "16", "--batch", "4", "--workers", "1", "--warmup_steps", "1",
                                          "--log_every", "1"};

std::vector<std::string> pretrain_args(const std::string& out, const std::vector<std::string>& more = {}) {
  return with(with(with({"pretrain", "--steps", "3", "--out", out}, kTinyData), kTinyTrain), more);
}

std::vector<double> losses(const std::string& dir) {
  std::vector<double> l;
  for (const auto& r : vd::vididi::read_metrics(dir + "/metrics.jsonl")) l.push_back(r.loss);
  return l;
}

}  // namespace

TEST(CliPretrain, StoppedAndResumedEqualsUninterrupted) {
  const std::string whole = fresh_dir("cli_pretrain_whole");
  const std::string parts = fresh_dir("cli_pretrain_parts");
  Result a = cli(pretrain_args(whole));
  ASSERT_EQ(a.code, 0) << a.err;
  for (const char* f : {"config.txt", "run.json", "metrics.jsonl", "loss.png", "checkpoint.vdc", "report.md"})
    EXPECT_TRUE(exists(whole + "/" + f)) << f;
  EXPECT_NE(a.out.find("report:"), std::string::npos) << a.out;
  ASSERT_EQ(losses(whole).size(), 3u);

  Result b = cli(pretrain_args(parts, {"--stop_after", "2"}));
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("stopped after step 2 of 3"), std::string::npos) << b.out;
  ASSERT_EQ(losses(parts).size(), 2u);
  const std::string run_json = read(parts + "/run.json");
  const std::string started = run_json.substr(run_json.find("\"started\": \"") + 12, 20);
  ::sleep(1);  // a resume a second later must not move the start time
  // config.txt alone (dataset keys included) continues the run.
  Result c = cli({"pretrain", "--config", parts + "/config.txt", "--resume", "auto", "--stop_after", "0"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("resumed from"), std::string::npos) << c.out;
  EXPECT_EQ(losses(parts), losses(whole));  // bitwise: data order, augmentation and RNG all restored
  // The resumed run keeps its first call's start time and records the resume.
  auto field = [](const std::string& json, const std::string& key) {
    const size_t k = json.find("\"" + key + "\": \"");
    return k == std::string::npos ? std::string() : json.substr(k + key.size() + 5, 20);
  };
  EXPECT_EQ(field(read(parts + "/run.json"), "started"), started);
  EXPECT_FALSE(field(read(parts + "/run.json"), "resumed").empty()) << read(parts + "/run.json");
  // Progress is said from the first step on (building the model, then step 1).
  EXPECT_NE(a.out.find("building r3d_18 (width/16, blocks 2,2,2,2) with the vicreg heads on cpu"), std::string::npos)
      << a.out;
  EXPECT_NE(a.out.find("step 1/3 "), std::string::npos) << a.out;
  const std::string report = read(parts + "/report.md");
  EXPECT_NE(report.find("resumed after step 2"), std::string::npos) << report;
  EXPECT_NE(report.find("](loss.png)"), std::string::npos) << report;
  EXPECT_NE(report.find("| `synth_size` | `16` |"), std::string::npos) << report;

  // The run directory is a checkpoint for the evaluation commands (encoder.* tensors).
  Result r = cli(with(with({"retrieve", "--checkpoint", whole, "--width_divisor", "16", "--frames", "4", "--crop",
                            "16", "--clips", "1", "--workers", "1", "--ks", "1"},
                           kTinyData),
                      {}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("R@1"), std::string::npos) << r.out;

  // Resuming with a setting that changes the run is refused, naming the key.
  expect_one_line_error(cli({"pretrain", "--config", parts + "/config.txt", "--resume", "auto", "--pairs", "0-0"}),
                        "pairs");
}

// A checkpoint's model card (encoder, width divisor, blocks, clip shape)
// builds the evaluation encoder from --checkpoint alone in retrieve, linear
// and finetune; a key that contradicts the card is refused naming both
// values. A checkpoint without a card (e.g. converted from PyTorch) is
// loaded strictly: a missing or extra tensor is refused in one line naming
// the tensors and hinting at --blocks.
TEST(CliPretrain, CheckpointModelCardBuildsTheEvaluationEncoder) {
  const std::string shallow = fresh_dir("cli_pretrain_blocks_1111");
  const std::string deep = fresh_dir("cli_pretrain_blocks_1112");
  const std::vector<std::string> w8{"--width_divisor", "8", "--steps", "2"};
  ASSERT_EQ(cli(pretrain_args(shallow, with(w8, {"--blocks", "1,1,1,1"}))).code, 0);
  ASSERT_EQ(cli(pretrain_args(deep, with(w8, {"--blocks", "1,1,1,2"}))).code, 0);
  auto eval = [&](const std::string& cmd, const std::string& run, const std::vector<std::string>& more) {
    return cli(with(with({cmd, "--checkpoint", run, "--clips", "1", "--workers", "1"}, kTinyData), more));
  };
  Result r = eval("retrieve", shallow, {"--ks", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("R@1"), std::string::npos) << r.out;
  // Trained at width/8, blocks 1,1,1,1, 4-frame 16x16 clips: evaluated so, not at 16x112x112.
  EXPECT_NE(r.out.find("building r3d_18 (width/8, blocks 1,1,1,1) for 4x16x16 clips"), std::string::npos) << r.out;
  Result lin = eval("linear", shallow, {"--epochs", "1"});
  ASSERT_EQ(lin.code, 0) << lin.err;
  EXPECT_NE(lin.out.find("video top-1"), std::string::npos) << lin.out;
  Result ft = eval("finetune", shallow, {"--epochs", "1", "--warmup_epochs", "0", "--batch", "10"});
  ASSERT_EQ(ft.code, 0) << ft.err;
  EXPECT_NE(ft.out.find("step 2/2"), std::string::npos) << ft.out;
  EXPECT_NE(ft.out.find("video top-1"), std::string::npos) << ft.out;
  // A given clip length that differs from training is used, and said.
  Result f8 = eval("retrieve", shallow, {"--ks", "1", "--frames", "6"});
  ASSERT_EQ(f8.code, 0) << f8.err;
  EXPECT_NE(f8.out.find("note: frames = 6 (--frames) differs from the 4 the checkpoint was trained at"),
            std::string::npos) << f8.out;

  // The same checkpoints without their model card.
  auto strip = [](const std::string& run, const std::string& to) {
    vd::Checkpoint ck = vd::read_checkpoint(run + "/checkpoint.vdc");
    ck.meta.extra.clear();
    ck.meta.config.clear();
    vd::write_checkpoint(to, ck);
    return to;
  };
  const std::string bare_shallow = strip(shallow, ::testing::TempDir() + "cli_bare_1111.vdc");
  const std::string bare_deep = strip(deep, ::testing::TempDir() + "cli_bare_1112.vdc");
  const std::vector<std::string> given{"--width_divisor", "8", "--frames", "4", "--crop", "16"};
  const std::vector<std::string> b1111{"--blocks", "1,1,1,1"};
  for (const char* cmd : {"retrieve", "linear", "finetune"}) {
    expect_one_line_error(eval(cmd, shallow, {"--blocks", "2,2,2,2"}),
                          "blocks = 2,2,2,2 (--blocks) contradicts the checkpoint's blocks = 1,1,1,1");
    expect_one_line_error(eval(cmd, shallow, {"--encoder", "s3d"}), "contradicts the checkpoint's encoder = r3d_18");
    // Default blocks: the encoder has layer1.1 etc., the checkpoint does not.
    Result missing = eval(cmd, bare_shallow, given);
    expect_one_line_error(missing, "missing from the checkpoint: layer1.1.");
    EXPECT_NE(missing.err.find("--blocks"), std::string::npos) << missing.err;
    // A deeper checkpoint does not load silently into a shallower encoder.
    Result extra = eval(cmd, bare_deep, with(given, b1111));
    expect_one_line_error(extra, "the encoder lacks: layer4.1.");
    EXPECT_NE(extra.err.find("--blocks"), std::string::npos) << extra.err;
  }
  Result ok = eval("retrieve", bare_shallow, with(with(given, b1111), {"--ks", "1"}));
  EXPECT_EQ(ok.code, 0) << ok.err;
  expect_one_line_error(eval("retrieve", shallow, {"--blocks", "1,1,1"}), "blocks = 1,1,1 (--blocks) contradicts");
  expect_one_line_error(eval("retrieve", bare_shallow, with(given, {"--blocks", "1,1,1"})), "'blocks'");
}

// `vididi export` writes the run's encoder as .safetensors (torchvision's
// layout); `--checkpoint FILE.safetensors` evaluates it exactly as the run
// directory; a file without vididi's metadata (torchvision's own weights) is
// built from the keys and refused, naming the tensor, when they do not fit.
TEST(CliExport, SafetensorsRoundTripThroughTheEvaluation) {
  const std::string run = fresh_dir("cli_export_run");
  ASSERT_EQ(cli(pretrain_args(run, {"--steps", "2", "--blocks", "1,1,1,1"})).code, 0);
  Result ex = cli({"export", "--checkpoint", run});
  ASSERT_EQ(ex.code, 0) << ex.err;
  const std::string file = run + "/encoder.safetensors";
  EXPECT_NE(ex.out.find("wrote " + file), std::string::npos) << ex.out;
  auto table = [](const Result& r) { return r.out.substr(r.out.find("R@1")); };
  const std::vector<std::string> eval{"--clips", "1", "--workers", "1", "--ks", "1,5"};
  Result a = cli(with(with({"retrieve", "--checkpoint", run, "--name", "x"}, kTinyData), eval));
  Result b = cli(with(with({"retrieve", "--checkpoint", file, "--name", "x"}, kTinyData), eval));
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(table(b), table(a));
  EXPECT_NE(b.out.find("building r3d_18 (width/16, blocks 1,1,1,1) for 4x16x16 clips"), std::string::npos) << b.out;
  // Without the metadata: the keys must describe the model.
  vd::SafetensorsFile f = vd::read_safetensors(file);
  f.metadata.clear();
  const std::string bare = ::testing::TempDir() + "cli_export_bare.safetensors";
  vd::write_safetensors(bare, f);
  const std::vector<std::string> keys{"--width_divisor", "16", "--blocks", "1,1,1,1", "--frames", "4", "--crop", "16"};
  Result c = cli(with(with(with({"retrieve", "--checkpoint", bare, "--name", "x"}, kTinyData), eval), keys));
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(table(c), table(a));
  expect_one_line_error(cli(with(with({"retrieve", "--checkpoint", bare}, kTinyData), eval)), "expected shape");
  expect_one_line_error(cli({"export"}), "needs --checkpoint");
  expect_one_line_error(cli({"export", "--checkpoint", run, "--out", run + "/x.pt"}), "must end in .safetensors");
}

TEST(CliPretrain, Errors) {
  const std::string out = fresh_dir("cli_pretrain_errors");
  expect_one_line_error(cli(pretrain_args(out, {"--bogus", "1"})), "unknown key 'bogus'");
  expect_one_line_error(cli(pretrain_args(out, {"--batch", "x"})), "'batch'");
  expect_one_line_error(cli(pretrain_args(out, {"--batch", "1"})), "batch norm needs >= 2");
  expect_one_line_error(cli(pretrain_args(out, {"--crop", "4294967312"})), "expected an integer in [8, 4096]");
  expect_one_line_error(cli(pretrain_args(out, {"--lr", "0x10"})), "expected a finite number");
  expect_one_line_error(cli(pretrain_args(out, {"--framework", "moco"})), "moco");
  expect_one_line_error(cli(pretrain_args(out, {"--pairs", "0-3"})), "0-3");
  expect_one_line_error(cli(pretrain_args(out, {"--precision", "bf16"})), "precision = bf16");
  expect_one_line_error(cli(pretrain_args(out, {"--steps", "0"})), "set steps or epochs");
  expect_one_line_error(cli(pretrain_args(out, {"--warmup_steps", "5"})), "warmup_steps = 5");
  expect_one_line_error(cli(pretrain_args(out, {"--frames", "16"})), "longest video has 8");
  expect_one_line_error(cli(pretrain_args(out, {"--resume", "/nonexistent/ck.vdc"})), "/nonexistent/ck.vdc");
  expect_one_line_error(cli(pretrain_args(out, {"--dataset", "ucf101"})), "needs --data_root");
}

TEST(CliPretrain, HelpListsEveryTrainConfigKey) {
  Result r = cli({"pretrain", "--help"});
  ASSERT_EQ(r.code, 0);
  vd::vididi::TrainConfig c;
  vd::config::Settings table;
  vd::vididi::train_keys(table, c);
  for (const auto& k : table.keys()) EXPECT_NE(r.out.find("--" + k->name() + " "), std::string::npos) << k->name();
}

TEST(CliBench, TinyCpuStepPrintsOneJsonLine) {
  Result r = cli({"bench", "--device", "cpu", "--width_divisor", "16", "--projector_dim", "32", "--batch", "4",
                  "--frames", "4", "--size", "16", "--warmup", "1", "--iters", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  EXPECT_EQ(r.out.front(), '{') << r.out;
  for (const char* field : {"\"model\": \"r3d_18\"", "\"batch\": 4,", "\"frames\": 4,", "\"size\": 16,",
                            "\"mode\": \"fp32_cl\"", "\"step_ms\": ", "\"clips_per_s\": ", "\"peak_mem_gib\": 0.00"})
    EXPECT_NE(r.out.find(field), std::string::npos) << field << " in " << r.out;
  const double ms = std::stod(r.out.substr(r.out.find("\"step_ms\": ") + 11));
  const double cps = std::stod(r.out.substr(r.out.find("\"clips_per_s\": ") + 15));
  EXPECT_GT(ms, 0);
  EXPECT_NEAR(cps, 4 * 1000.0 / ms, 0.1 + 1e-3 * cps);  // clips per step / step time
}

TEST(CliBench, Errors) {
  expect_one_line_error(cli({"bench", "--device", "cpu", "--iters", "0"}), "'iters' (--iters): expected an integer in [1, 1000000], got 0");
  expect_one_line_error(cli({"bench", "--device", "cpu", "--size", "4"}), "'size' (--size): expected an integer in [8, 4096], got 4");
  expect_one_line_error(cli({"bench", "--device", "cpu", "--batch", "1"}), "'batch' (--batch): expected an integer in [2, ");
  expect_one_line_error(cli({"bench", "--device", "cpu", "--precision", "bf16"}), "precision = bf16");
  expect_one_line_error(cli({"bench", "--steps", "3"}), "unknown key 'steps'");
  expect_one_line_error(cli({"bench", "--encoder", "resnet50"}), "resnet50");
}

TEST(CliDemo, TinyRunPrintsThreeRowsWithIntervalsAndWritesReports) {
  const std::string dir = fresh_dir("cli_demo");
  Result r = cli(with(with({"demo", "--steps", "2", "--clips", "1", "--seeds", "0,1", "--out", dir}, kTinyData),
                      kTinyTrain));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* row : {"\n| random |", "\n| frames-only |", "\n| vididi |"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << " in " << r.out;
  EXPECT_EQ(r.out.find("frame-mAP"), std::string::npos) << "--detect is off by default";
  // The verdicts come from the paired intervals over the seeds.
  EXPECT_NE(r.out.find("vididi - frames-only at R@1: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("95% interval ["), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("over 2 seeds (paired): "), std::string::npos) << r.out;
  for (const char* f : {"report.md", "results.json", "recall.png", "config.txt", "seed0/frames-only/report.md",
                        "seed0/frames-only/loss.png", "seed1/vididi/report.md", "seed1/vididi/loss.png",
                        "seed1/vididi/checkpoint.vdc"})
    EXPECT_TRUE(exists(dir + "/" + f)) << f;
  EXPECT_NE(r.out.find("report:        " + dir + "/report.md"), std::string::npos) << r.out;
  // The frames-only run trained on pairs 0-0 only, the ViDiDi run on the alternating pairs.
  EXPECT_NE(read(dir + "/seed0/frames-only/metrics.jsonl").find("\"pair\": \"0-0\""), std::string::npos);
  EXPECT_NE(read(dir + "/seed0/vididi/metrics.jsonl").find("\"pair\": \"1-2\""), std::string::npos);
  const std::string report = read(dir + "/report.md");
  EXPECT_NE(report.find("| frames-only |"), std::string::npos) << report;
  EXPECT_NE(report.find("| 1 | "), std::string::npos) << report;  // the per-seed table
  EXPECT_NE(report.find("](recall.png)"), std::string::npos) << report;
  EXPECT_NE(report.find("](seed0/vididi/report.md)"), std::string::npos) << report;
  // One seed: the mean alone, and it says there is no interval.
  Result one = cli(with(with({"demo", "--steps", "2", "--clips", "1", "--seeds", "3", "--out", fresh_dir("cli_demo_one")},
                             kTinyData), kTinyTrain));
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_NE(one.out.find("(one seed: no interval"), std::string::npos) << one.out;
  expect_one_line_error(cli({"demo", "--clips", "0", "--steps", "2", "--out", dir}), "clips");
  expect_one_line_error(cli({"demo", "--resume", "auto"}), "unknown key 'resume'");
  expect_one_line_error(cli({"demo", "--seeds", "0,x"}), "'seeds'");
}

// docs/CONFIG.md is generated from the --help texts; it must not drift.
TEST(CliDocs, ConfigMdHoldsEveryHelpText) {
  const std::string doc = read("docs/CONFIG.md");
  ASSERT_FALSE(doc.empty()) << "docs/CONFIG.md not found (run the tests from the repository root)";
  for (const auto& c : vd::cli::commands()) {
    Result r = cli({c.name, "--help"});
    EXPECT_NE(doc.find(r.out), std::string::npos)
        << "docs/CONFIG.md is out of date for `vididi " << c.name << " --help`; regenerate it (see its header)";
  }
}

TEST(CliPretrain, RefusesAFolderHoldingARunUnlessResumeOrOverwrite) {
  const std::string out = fresh_dir("cli_pretrain_again");
  ASSERT_EQ(cli(pretrain_args(out)).code, 0);
  const std::string before = read(out + "/metrics.jsonl");
  Result again = cli(pretrain_args(out));
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.err, "vididi pretrain: error: out: " + out +
                           " already holds a run (checkpoint.vdc); expected a new or empty folder; hint: --resume "
                           "auto continues that run, --overwrite true replaces it, or choose another --out\n");
  EXPECT_EQ(read(out + "/metrics.jsonl"), before);  // nothing lost
  std::remove((out + "/checkpoint.vdc").c_str());    // metrics alone are a run too
  EXPECT_NE(cli(pretrain_args(out)).err.find("already holds a run (metrics.jsonl)"), std::string::npos);
  Result over = cli(pretrain_args(out, {"--overwrite", "true"}));
  EXPECT_EQ(over.code, 0) << over.err;
  EXPECT_EQ(losses(out).size(), 3u);
  // A demo into a folder holding a run is refused the same way.
  const std::string demo = fresh_dir("cli_demo_again");
  ASSERT_EQ(::system(("mkdir -p " + demo + "/seed0/frames-only && touch " + demo + "/seed0/frames-only/metrics.jsonl").c_str()), 0);
  Result d = cli(with(with({"demo", "--steps", "2", "--clips", "1", "--seeds", "0", "--out", demo}, kTinyData), kTinyTrain));
  EXPECT_NE(d.err.find("already holds a run (metrics.jsonl)"), std::string::npos) << d.err;
}
