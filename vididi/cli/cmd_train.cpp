// vididi/cli/cmd_train.cpp: the subcommands that train. `pretrain` runs the
// self-supervised loop (pretrain_driver.h) into a run directory; `bench`
// times single training steps on random clips; `demo` is the `make run` job
// (synthetic data, random vs frames-only vs ViDiDi retrieval).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "core/backend.h"
#include "core/random.h"
#include "vididi/schedule.h"
#include "vididi/cli/cli.h"
#include "vididi/cli/pretrain_driver.h"
#include "vididi/cli/report.h"
#include "vididi/eval/features.h"
#include "vididi/models/encoder.h"
#include "cuda/api.h"

namespace vd::cli {

namespace {
void add_pretrain_keys(Settings& s, const char* steps, const char* batch) {
  s.add("framework", "vicreg", "self-supervised framework (byol needs the trainer, not yet wired)", KeyType::Choice, {"vicreg", "simclr"});
  s.add("pairs", "0-1,1-2,2-0", "derivative-order pairs; 0-0 = the plain framework (frames only)");
  s.add("schedule", "alternate", "how steps use the pairs", KeyType::Choice, {"alternate", "sum", "random"});
  s.add("steps", steps, "optimizer steps", KeyType::Int);
  s.add("batch", batch, "videos per step (two clips each)", KeyType::Int);
  s.add("frames", "16", "frames per view (T); clips read T + highest order", KeyType::Int);
  s.add("stride", "1", "frame step within a clip", KeyType::Int);
  s.add("crop", "112", "training crop side (random resized crop)", KeyType::Int);
  s.add("projector_dim", "2048", "projector width", KeyType::Int);
  s.add("optimizer", "lars", "optimizer", KeyType::Choice, {"lars", "sgd", "adamw"});
  s.add("lr", "0.3", "peak learning rate after warm-up (cosine to lr/1000)", KeyType::Float);
  s.add("weight_decay", "0.000001", "weight decay (not on biases and BN)", KeyType::Float);
  s.add("warmup_steps", "10", "linear warm-up steps", KeyType::Int);
  s.add("workers", "0", "data loader threads (0 = one per core)", KeyType::Int);
  s.add("seed", "0", "seed of the init, the data order and augmentation", KeyType::Int);
  s.add("log_every", "10", "print a progress line every this many steps", KeyType::Int);
}

PretrainOptions pretrain_options(const Settings& s, Device device) {
  PretrainOptions o;
  o.framework = s.str("framework");
  o.pairs = s.str("pairs");
  o.schedule = s.str("schedule");
  o.steps = s.integer("steps");
  o.batch = int(s.integer("batch"));
  o.frames = int(s.integer("frames"));
  o.stride = int(s.integer("stride"));
  o.crop = int(s.integer("crop"));
  o.projector_dim = s.integer("projector_dim");
  o.optimizer = s.str("optimizer");
  o.lr = s.real("lr");
  o.weight_decay = s.real("weight_decay");
  o.warmup_steps = s.integer("warmup_steps");
  o.workers = int(s.integer("workers"));
  o.seed = uint64_t(s.integer("seed"));
  o.log_every = int(std::max<int64_t>(1, s.integer("log_every")));
  o.device = device;
  if (o.frames < 1 || o.stride < 1 || o.crop < 8 || o.projector_dim < 2 || o.lr <= 0 || o.workers < 0)
    throw UsageError("bad value: expected frames >= 1, stride >= 1, crop >= 8, projector_dim >= 2, lr > 0, workers >= 0");
  try {
    vididi::parse_pairs(o.pairs);
  } catch (const std::exception& e) {
    throw UsageError(std::string("bad value for 'pairs': ") + e.what());
  }
  return o;
}

std::string loss_summary(const PretrainResult& r) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(3);
  size_t n = r.loss.size(), w = std::max<size_t>(1, n / 10);
  auto mean = [&](size_t a, size_t b) {
    double m = 0;
    for (size_t i = a; i < b; ++i) m += r.loss[i];
    return m / double(b - a);
  };
  os << "loss (mean of the first / last " << w << " steps): " << mean(0, w) << " -> " << mean(n - w, n)
     << "; " << std::setprecision(1) << r.clips_per_s << " clips/s, " << r.seconds << " s";
  return os.str();
}

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}
}  // namespace

int cmd_pretrain(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  add_dataset_keys(s);
  add_encoder_keys(s);
  add_device_keys(s);
  add_pretrain_keys(s, "1000", "32");
  s.add("out", "", "run directory (default runs/pretrain-<time>)", KeyType::Path);
  const char* summary =
      "Self-supervised pretraining: two clips per video, derivative views by the pair schedule,\n"
      "encoder + projector, VICReg or SimCLR. Writes metrics.jsonl, last.ckpt, config.txt, report.md.";
  if (parse_or_help(s, args, "pretrain", summary, out)) return 0;
  Device device = pick_device(s);
  PretrainOptions o = pretrain_options(s, device);
  auto source = open_dataset(s, data::Subset::train);
  o.out = s.str("out").empty() ? "runs/pretrain-" + timestamp() : s.str("out");
  make_dirs(o.out);
  write_resolved_config(s, o.out);
  auto enc = build_encoder(s, device, o.seed);
  o.print = [&](const std::string& line) { out << line << "\n" << std::flush; };
  out << "pretraining " << s.str("encoder") << " (width/" << s.str("width_divisor") << ") with "
      << o.framework << ", pairs " << o.pairs << " (" << o.schedule << ") on " << device.str() << ", "
      << dataset_description(s) << "\n";
  PretrainResult r = pretrain(*enc, source, o);
  out << loss_summary(r) << "\n";
  Report rep;
  rep.title = "vididi pretrain";
  rep.command = command_line("pretrain", args);
  rep.config = s.resolved();
  rep.sections.push_back({"Results", loss_summary(r) + "\n\nPer-step losses and pairs: `metrics.jsonl`; weights: `last.ckpt` "
                                     "(use `--checkpoint " + o.out + "`).\n"});
  out << "run directory " << o.out << ", checkpoint " << r.checkpoint << ", report " << write_report(o.out, rep) << "\n";
  return 0;
}

int cmd_bench(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  add_encoder_keys(s);
  add_device_keys(s);
  s.add("batch", "32", "clips per view (N)", KeyType::Int);
  s.add("frames", "16", "frames per clip (T)", KeyType::Int);
  s.add("size", "112", "clip height and width (S)", KeyType::Int);
  s.add("framework", "vicreg", "loss", KeyType::Choice, {"vicreg", "simclr"});
  s.add("pairs", "0-1", "derivative orders of the two views", KeyType::String);
  s.add("projector_dim", "2048", "projector width", KeyType::Int);
  s.add("warmup", "3", "untimed steps first", KeyType::Int);
  s.add("steps", "10", "timed steps (the median is reported)", KeyType::Int);
  const char* summary =
      "Time one training step (two views of N clips through encoder + projector, loss, backward,\n"
      "optimizer) on random clips: step_ms_median, clips_per_s, peak_mem_GiB.";
  if (parse_or_help(s, args, "bench", summary, out)) return 0;
  Device device = pick_device(s);
  const int64_t N = s.integer("batch"), T = s.integer("frames"), S = s.integer("size");
  const int64_t warm = s.integer("warmup"), steps = s.integer("steps");
  if (N < 2 || T < 1 || S < 8 || warm < 0 || steps < 1)
    throw UsageError("bad value: expected batch >= 2, frames >= 1, size >= 8, warmup >= 0, steps >= 1");
  auto enc = build_encoder(s, device, 0);
  PretrainOptions o;
  o.framework = s.str("framework");
  o.pairs = s.str("pairs");
  o.schedule = "alternate";
  o.batch = int(N);
  o.frames = int(T);
  o.projector_dim = s.integer("projector_dim");
  o.optimizer = "lars";
  o.lr = 0.1;
  o.warmup_steps = 0;
  o.steps = warm + steps;
  o.device = device;
  SSLStep step(*enc, o);
  Generator gen(0);
  const int64_t Tk = T + step.max_order();
  Tensor xa = Tensor::randn({N, Tk, S, S, 3}, &gen, DType::F32, device);
  Tensor xb = Tensor::randn({N, Tk, S, S, 3}, &gen, DType::F32, device);
  if (device.is_cuda()) cuda::reset_peak_memory();
  std::vector<double> ms;
  for (int64_t i = 0; i < warm + steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    step.run(xa, xb, i);  // loss.item() synchronises the device
    if (device.is_cuda()) cuda::synchronize();
    double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warm) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  const double peak = device.is_cuda() ? double(cuda::memory_stats().peak_bytes) / double(1ull << 30) : 0.0;
  out << std::fixed << "model=" << models::canonical_encoder_name(s.str("encoder")) << "/w" << s.str("width_divisor")
      << " N=" << N << " T=" << T << " S=" << S << " mode=" << device.str() << "-" << s.str("precision")
      << " step_ms_median=" << std::setprecision(2) << median << " clips_per_s=" << std::setprecision(1)
      << double(N) * 1000.0 / median << " peak_mem_GiB=" << std::setprecision(2) << peak
      << (device.is_cuda() ? "" : " (peak memory is tracked on the GPU only)") << "\n";
  return 0;
}

}  // namespace vd::cli
