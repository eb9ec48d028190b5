// vididi/cli/cmd_train.cpp: the subcommands that train, both on
// vididi::Trainer (vididi/trainer.h) with TrainConfig's keys
// (train_settings.h). `pretrain` runs Trainer::run into a run directory
// (resumable) and writes report.md; `bench` times Trainer::train_step on
// random clips of a chosen shape and prints one JSON line shaped like
// shared/bench/torch_step.py's. The `make run` job is cmd_demo.cpp.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <sstream>

#include "core/backend.h"
#include "core/random.h"
#include "cuda/api.h"
#include "vididi/cli/cli.h"
#include "vididi/cli/train_settings.h"
#include "vididi/models/encoder.h"

namespace vd::cli {

int cmd_pretrain(const std::vector<std::string>& args, std::ostream& out) {
  Settings s = pretrain_settings();
  const char* summary =
      "Self-supervised pretraining (vididi::Trainer): two clips per video, derivative views by the pair\n"
      "schedule, one encoder, the framework's head and loss (VICReg, BYOL or SimCLR). Writes a run\n"
      "directory: config.txt, run.json, metrics.jsonl, loss.png, checkpoint.vdc, report.md.\n"
      "Continue a stopped run with: vididi pretrain --config <out>/config.txt --resume auto\n"
      "(its keys are docs/CONFIG.md's and vididi/config.h's TrainConfig, plus the dataset keys).";
  if (parse_or_help(s, args, "pretrain", summary, out)) return 0;
  auto source = open_dataset(s, data::Subset::train);
  vididi::TrainConfig c = train_config(s, source.get());
  if (c.out.empty()) c.out = default_run_dir("pretrain");
  make_dirs(c.out);
  const Settings run = pretrain_settings_of(s, c);
  out << "pretraining " << c.encoder << " (width/" << c.width_divisor << ") with " << c.framework << ", pairs "
      << c.pairs << " (" << c.schedule << "), " << dataset_description(s) << "\n" << std::flush;
  vididi::Trainer trainer(c, source, [&](const std::string& line) { out << line << "\n" << std::flush; });
  trainer.set_run_config_text(run.as_config_file());
  vididi::TrainResult r = trainer.run();
  const std::string report =
      write_pretrain_report(run, r, command_line("pretrain", args), dataset_description(s), trainer.device().str());
  out << loss_summary(vididi::read_metrics(c.out + "/metrics.jsonl")) << "\n"
      << (r.finished ? "finished" : "stopped") << " after step " << r.steps_done << " of " << r.total_steps
      << "\nrun directory: " << c.out << "\ncheckpoint:    " << r.checkpoint << "\nreport:        " << report
      << "\nloss curves:   " << c.out << "/loss.png\n";
  return 0;
}

namespace {
// Bench never reads a video: the Trainer is handed this stand-in so that its
// up-front checks (batch, clip length) see the requested shape.
class ShapeOnlySource : public data::VideoSource {
 public:
  ShapeOnlySource(size_t videos, int frames) : videos_(videos), frames_(frames) {}
  size_t size() const override { return videos_; }
  int num_classes() const override { return 1; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int label(size_t) const override { return 0; }
  int num_frames(size_t) const override { return frames_; }
  std::string name(size_t v) const override { return "bench:" + std::to_string(v); }
  data::Clip load(size_t, const std::vector<int>&) const override {
    throw UsageError("bench: the benchmark source holds no frames (a bug: bench times train_step only)");
  }

 private:
  size_t videos_;
  int frames_;
  std::vector<std::string> names_{"bench"};
};
}  // namespace

int cmd_bench(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  // TrainConfig's keys minus those about data, length and the run directory.
  add_train_keys(s, {"crop", "stride", "same_clip", "scale_min", "flip_p", "jitter_p", "grayscale_p", "workers",
                     "epochs", "steps", "out", "log_every", "checkpoint_every", "resume", "stop_after", "quiet"});
  s.add("size", "112", "S: clip height and width", KeyType::Int);
  s.add("warmup", "3", "untimed steps first (cuDNN autotuning, allocator cache)", KeyType::Int);
  s.add("iters", "10", "timed steps; the median is reported", KeyType::Int);
  s.add("conv_benchmark", "true", "GPU: choose cuDNN algorithms by timing (the PyTorch peer sets cudnn.benchmark)",
        KeyType::Bool);
  // The step of shared/bench/torch_step.py: frames vs 1st difference, SGD.
  s.set("pairs", "0-1", "default");
  s.set("optimizer", "sgd", "default");
  s.set("lr", "0.01", "default");
  s.set("warmup_steps", "0", "default");
  const char* summary =
      "Time one training step (Trainer::train_step: two views of N clips of T x S x S through encoder and\n"
      "projector, loss, backward, optimizer) on random clips. Prints one JSON line with the keys of\n"
      "shared/bench/torch_step.py: model, batch (N), frames (T), size (S), mode, step_ms (median over\n"
      "iters, the device synchronised before each clock read), clips_per_s (N / step time; each clip\n"
      "is encoded twice), peak_mem_gib (the CUDA caching allocator's peak over the timed steps; 0 on CPU).";
  if (parse_or_help(s, args, "bench", summary, out)) return 0;
  const int64_t N = s.integer("batch"), T = s.integer("frames"), S = s.integer("size");
  const int64_t warm = s.integer("warmup"), iters = s.integer("iters");
  if (S < 8 || warm < 0 || iters < 1)
    throw UsageError("bad value: expected size >= 8, warmup >= 0, iters >= 1, got size = " + std::to_string(S) +
                     ", warmup = " + std::to_string(warm) + ", iters = " + std::to_string(iters));
  Settings with_length = s;
  with_length.add("steps", std::to_string(warm + iters), "", KeyType::Int);
  with_length.add("quiet", "true", "", KeyType::Bool);
  const int k = train_config(with_length).max_order();
  auto source = std::make_shared<ShapeOnlySource>(size_t(std::max<int64_t>(N, 2)), int(T + k));
  vididi::TrainConfig c = train_config(with_length, source.get());
  vididi::Trainer trainer(c, source);
  const Device device = trainer.device();
  if (device.is_cuda()) cuda::set_conv_benchmark(s.flag("conv_benchmark"));
  Generator gen(c.seed + 1);
  Tensor xa = Tensor::randn({N, T + k, S, S, 3}, &gen, DType::F32, device);
  Tensor xb = Tensor::randn({N, T + k, S, S, 3}, &gen, DType::F32, device);
  std::vector<double> ms;
  for (int64_t i = 0; i < warm + iters; ++i) {
    if (i == warm && device.is_cuda()) {
      cuda::synchronize();
      cuda::reset_peak_memory();
    }
    const auto t0 = std::chrono::steady_clock::now();
    trainer.train_step(xa, xb, i);
    if (device.is_cuda()) cuda::synchronize();
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warm) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  const double peak = device.is_cuda() ? double(cuda::memory_stats().peak_bytes) / double(1ull << 30) : 0.0;
  std::ostringstream js;
  js << std::fixed << "{\"peer\": \"vididi\", \"device\": \""
     << (device.is_cuda() ? cuda::device_name(device.index) : std::string("cpu")) << "\", \"model\": \""
     << models::canonical_encoder_name(c.encoder) << "\", \"width_divisor\": " << c.width_divisor
     << ", \"batch\": " << N << ", \"frames\": " << T << ", \"size\": " << S << ", \"mode\": \"" << c.precision
     << "_cl\", \"pairs\": \"" << c.pairs << "\", \"projector\": " << c.projector_dim
     << ", \"step_ms\": " << std::setprecision(2) << median << ", \"clips_per_s\": " << std::setprecision(1)
     << double(N) * 1000.0 / median << ", \"peak_mem_gib\": " << std::setprecision(2) << peak << "}";
  out << js.str() << "\n";
  return 0;
}

}  // namespace vd::cli
