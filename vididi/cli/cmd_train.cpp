// vididi/cli/cmd_train.cpp: the subcommands that train. `pretrain` runs
// vididi::train (train_loop.h) into a run directory (resumable) and writes
// report.md; `bench` times Trainer::train_step on random clips of a chosen
// shape and prints one JSON line shaped like shared/bench/torch_step.py's.
// The `make run` job is cmd_demo.cpp.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <sstream>

#include "core/backend.h"
#include "core/profile.h"
#include "core/random.h"
#include "cuda/api.h"
#include "vididi/cli/cli.h"
#include "vididi/cli/pretrain_report.h"
#include "vididi/models/encoder.h"

namespace vd::cli {

int cmd_pretrain(const std::vector<std::string>& args, std::ostream& all_out) {
  DatasetSpec d;
  vididi::TrainConfig c;
  Settings s;
  dataset_keys(s, d);
  vididi::train_keys(s, c, {"out"});
  s.add("out", c.out, "run directory (empty = runs/pretrain-<date>-<time>)").path();
  const char* summary =
      "Self-supervised pretraining (vididi/train_loop.h): two clips per video, derivative views by the pair\n"
      "schedule, one encoder, the framework's head and loss (VICReg, BYOL or SimCLR). Writes a run\n"
      "directory: config.txt, run.json, metrics.jsonl, loss.png, checkpoint.vdc, report.md.\n"
      "Continue a stopped run with: vididi pretrain --config <out>/config.txt --resume auto";
  if (parse_or_help(s, args, "pretrain", summary, all_out)) return 0;
  c.validate();  // refuse bad keys before the dataset is read
  const vididi::Parallel par = vididi::start_parallel(c.dist, c.device, c.precision);
  std::ostream null_out(nullptr);
  std::ostream& out = par.comm->is_root() ? all_out : null_out;  // rank 0 alone prints
  auto source = open_dataset(d, data::Subset::train, &out);
  c.validate(*source, par.world());
  if (c.out.empty()) {  // one name for every rank: rank 0's clock
    if (par.comm->is_root()) c.out = default_run_dir("pretrain");
    par.comm->broadcast_text(c.out, 0);
  }
  out << "pretraining " << c.model.encoder << " (width/" << c.model.width_divisor << ") with " << c.framework
      << ", pairs " << c.pairs << " (" << c.schedule << "), " << dataset_description(d) << "\n" << std::flush;
  vididi::Trainer trainer(c, vididi::planned_steps(c, *source, par.world()),
                          [&](const std::string& line) { out << line << "\n" << std::flush; }, par);
  vididi::TrainResult r = vididi::train(trainer, source, s.as_config_file());
  if (!par.comm->is_root()) return 0;
  const std::string report = write_pretrain_report(c, s.resolved(), r, command_line("pretrain", args),
                                                   dataset_description(d), trainer.device().str());
  out << loss_summary(vididi::read_metrics(c.out + "/metrics.jsonl")) << "\n"
      << (r.finished ? "finished" : "stopped") << " after step " << r.steps_done << " of " << r.total_steps
      << "\nrun directory: " << c.out << "\ncheckpoint:    " << r.checkpoint << "\nreport:        " << report
      << "\nloss curves:   " << c.out << "/loss.png\n";
  return 0;
}

namespace {
// The table of `bench --profile true` (docs/CPU_PERFORMANCE.md, "Profiling a step").
void print_profile(std::ostream& out, const profile::Stats& st, int64_t iters, double mean_ms, bool gpu) {
  const double per = 1.0 / double(iters), mib = 1.0 / double(1 << 20);
  std::ostringstream o;
  o << std::fixed << "profile over " << iters << " timed steps, per step (mean step " << std::setprecision(2)
    << mean_ms << " ms, profiler on):\n";
  auto row = [&](const std::string& name, const profile::KindStats& k) {
    o << std::left << std::setw(16) << name << std::right << std::setprecision(1) << std::setw(10)
      << double(k.count) * per << std::setw(12) << double(k.bytes) * per * mib << std::setprecision(3)
      << std::setw(14) << k.host_ms * per;
    if (gpu)
      o << std::setw(12) << k.gpu_ms * per;
    else
      o << std::setw(12) << "-";
    o << "\n";
  };
  o << std::left << std::setw(16) << "kind" << std::right << std::setw(10) << "ops" << std::setw(12) << "MiB"
    << std::setw(14) << "host ms" << std::setw(12) << "GPU ms" << "\n";
  for (size_t k = 0; k < profile::kKinds; ++k)
    if (st.kinds[k].count > 0) row(profile::kind_name(profile::Kind(k)), st.kinds[k]);
  const profile::KindStats total = st.total();
  row("total", total);
  const double steps = double(std::max<int64_t>(1, st.steps));
  o << std::setprecision(1) << "saved for backward: " << double(st.saved_bytes) * mib / steps
    << " MiB per step (Storage bytes created since the step began, alive when backward begins); forward peak "
    << double(st.forward_peak_bytes) * mib / steps << " MiB above the step's start\n";
  if (st.nested > 0)
    o << std::setprecision(1) << double(st.nested) * per
      << " ops per step ran inside another op's kernel (counted in that op, not above)\n";
  o << "host dispatch: " << std::setprecision(2) << total.host_ms * per << " ms of a " << mean_ms << " ms step ("
    << std::setprecision(1) << 100.0 * total.host_ms * per / mean_ms << "%)"
    << (gpu ? "" : "; on the CPU the dispatch call runs the kernel, so this is kernel time") << "\n";
  out << o.str();
}
}  // namespace

int cmd_bench(const std::vector<std::string>& args, std::ostream& out) {
  vididi::TrainConfig c;
  // The step of shared/bench/torch_step.py: frames vs 1st difference, SGD.
  c.pairs = "0-1", c.optimizer = "sgd", c.lr = 0.01, c.warmup_steps = 0;
  int64_t size = 112, warmup = 3, iters = 10;
  bool conv_benchmark = true, conv_deterministic = true;
  Settings s;
  // TrainConfig's keys minus those about data, length and the run directory
  // (input_transfer too: bench's random clips are made on the device and
  // never cross PCIe, so there is no upload for it to choose).
  vididi::train_keys(s, c, {"crop", "stride", "same_clip", "scale_min", "flip_p", "jitter_p", "grayscale_p",
                            "workers", "input_transfer", "epochs", "steps", "out", "log_every", "checkpoint_every", "resume",
                            "stop_after", "quiet"});
  s.add("size", size, "S: clip height and width").range(8, 4096);
  s.add("warmup", warmup, "untimed steps first (cuDNN autotuning, allocator cache)").range(0, 1e6);
  s.add("iters", iters, "timed steps; the median is reported").range(1, 1e6);
  s.add("conv_benchmark", conv_benchmark,
        "GPU: choose cuDNN algorithms by timing (the PyTorch peer sets cudnn.benchmark)");
  s.add("deterministic", conv_deterministic,
        "GPU: only cuDNN algorithms whose results repeat bit for bit (false measures the filter's cost; the "
        "PyTorch peer does not filter); --profile true lists the algorithm chosen per convolution");
  bool prof = false;
  s.add("profile", prof,
        "after the JSON line, a table per op kind over the timed steps (ops, bytes, host dispatch ms, GPU ms), the "
        "bytes the forward keeps for backward and host dispatch as a share of the step (docs/CPU_PERFORMANCE.md, "
        "Profiling a step); the timed steps run with the profiler on");
  const char* summary =
      "Time one training step (Trainer::train_step: two views of N clips of T x S x S through encoder and\n"
      "projector, loss, backward, optimizer) on random clips. Prints one JSON line with the keys of\n"
      "shared/bench/torch_step.py: model, batch (N), frames (T), size (S), mode, step_ms (median over\n"
      "iters, the device synchronised before each clock read), clips_per_s (N x ranks / step time; each\n"
      "clip is encoded twice), peak_mem_gib (the CUDA caching allocator's peak over the timed steps; 0 on\n"
      "CPU). Under a launcher (mpirun -np R, srun, RANK/WORLD_SIZE) every rank steps on N clips and rank 0\n"
      "prints world_size, clips_per_s (all ranks), clips_per_s_per_rank and comm_wait_ms (the mean per\n"
      "step and rank spent waiting on collectives); step_ms is the slowest rank's median.";
  if (parse_or_help(s, args, "bench", summary, out)) return 0;
  c.steps = warmup + iters;
  c.quiet = true;
  vididi::Trainer trainer(c, c.steps, {}, vididi::start_parallel(c.dist, c.device, c.precision));
  dist::Communicator& comm = trainer.comm();
  const Device device = trainer.device();
  if (device.is_cuda()) cuda::set_conv_benchmark(conv_benchmark);
  if (device.is_cuda()) cuda::set_conv_deterministic(conv_deterministic);
  const int64_t N = c.batch, T = c.clip.frames + c.max_order(), S = size;
  Generator gen(c.seed + 1);
  Tensor xa = Tensor::randn({N, T, S, S, 3}, &gen, DType::F32, device);
  Tensor xb = Tensor::randn({N, T, S, S, 3}, &gen, DType::F32, device);
  std::vector<double> ms;
  double wait0 = 0;
  struct ProfileOff {  // also when a step throws
    ~ProfileOff() { profile::enable(false); }
  } profile_off;
  for (int64_t i = 0; i < warmup + iters; ++i) {
    if (i == warmup && device.is_cuda()) {
      cuda::synchronize();
      cuda::reset_peak_memory();
    }
    if (i == warmup) wait0 = trainer.comm_wait_seconds();
    if (i == warmup && prof) profile::enable(true);
    const auto t0 = std::chrono::steady_clock::now();
    trainer.train_step(xa, xb, i);
    if (device.is_cuda()) cuda::synchronize();
    const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warmup) ms.push_back(t);
    if (prof && i >= warmup) profile::stats();  // sums (and recycles) this step's GPU events, untimed
  }
  profile::Stats pst;
  if (prof) {
    pst = profile::stats();
    profile::enable(false);
  }
  double mean_ms = 0;
  for (double t : ms) mean_ms += t / double(ms.size());
  std::sort(ms.begin(), ms.end());
  // Over ranks: the slowest rank's median step (every step ends with the
  // slowest rank's gradients), the mean wait on collectives, the largest peak.
  const double world = comm.world_size();
  const double wait_ms = (trainer.comm_wait_seconds() - wait0) * 1000.0 / double(iters);
  std::vector<double> slowest{ms[ms.size() / 2]}, waits{wait_ms},
      peaks{device.is_cuda() ? double(cuda::memory_stats().peak_bytes) / double(1ull << 30) : 0.0};
  for (auto* v : {&slowest, &peaks}) {  // the maximum: each rank fills its own slot of a sum
    std::vector<double> each(size_t(world), 0.0);
    each[size_t(comm.rank())] = (*v)[0];
    comm.all_reduce_host(each, dist::Reduce::Sum);
    (*v)[0] = *std::max_element(each.begin(), each.end());
  }
  comm.all_reduce_host(waits, dist::Reduce::Average);
  if (!comm.is_root()) return 0;
  const double median = slowest[0], peak = peaks[0];
  std::ostringstream js;
  js << std::fixed << "{\"peer\": \"vididi\", \"device\": \""
     << (device.is_cuda() ? cuda::device_name(device.index) : std::string("cpu")) << "\", \"model\": \""
     << models::canonical_encoder_name(c.model.encoder) << "\", \"width_divisor\": " << c.model.width_divisor
     << ", \"batch\": " << N << ", \"frames\": " << c.clip.frames << ", \"size\": " << S << ", \"mode\": \""
     << c.precision << "_cl\", \"pairs\": \"" << c.pairs << "\", \"projector\": " << c.projector_dim
     << ", \"step_ms\": " << std::setprecision(2) << median << ", \"clips_per_s\": " << std::setprecision(1)
     << double(N) * world * 1000.0 / median << ", \"world_size\": " << int(world) << ", \"clips_per_s_per_rank\": "
     << double(N) * 1000.0 / median << ", \"comm_wait_ms\": " << std::setprecision(2) << waits[0]
     << ", \"peak_mem_gib\": " << peak << ", \"conv_deterministic\": " << (conv_deterministic ? "true" : "false")
     << ", \"cuda_graphs\": " << (c.cuda_graphs ? "true" : "false");
  const double per = 1.0 / double(iters), mib = 1.0 / double(1 << 20);
  if (prof)  // extra keys only with --profile (torch_step.py's keys are unchanged)
    js << ", \"profile_ops_per_step\": " << std::setprecision(1) << double(pst.total().count) * per
       << ", \"profile_saved_mib_per_step\": " << double(pst.saved_bytes) * mib / double(std::max<int64_t>(1, pst.steps));
  js << "}";
  out << js.str() << "\n";
  if (prof) print_profile(out, pst, iters, mean_ms, device.is_cuda());
  if (prof && device.is_cuda()) {
    const std::vector<std::string> algos = cuda::conv_choices();
    out << "cuDNN algorithms (" << (conv_deterministic ? "deterministic only" : "any") << ", "
        << (conv_benchmark ? "by timing" : "heuristic") << "), " << algos.size() << " convolutions:\n";
    for (const std::string& a : algos) out << "  " << a << "\n";
  }
  return 0;
}

}  // namespace vd::cli
