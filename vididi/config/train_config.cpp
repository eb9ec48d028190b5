// vididi/config/train_config.cpp: the key tables of ModelSpec, ClipSpec and
// TrainConfig, and the checks across keys (see train_config.h).
#include "vididi/config/train_config.h"

#include <algorithm>

#include "vididi/config/device.h"
#include "vididi/models/encoder.h"
#include "vididi/schedule.h"

namespace vd::vididi {

using config::Settings;

std::vector<int64_t> ModelSpec::block_counts() const { return config::integer_list("blocks", blocks, 4, 1, 64); }

void model_keys(Settings& s, ModelSpec& m) {
  s.add("encoder", m.encoder, "encoder architecture").choices(models::encoder_names());
  s.add("width_divisor", m.width_divisor, "divide every encoder width by this (8 for CPU-sized runs)").range(1, 64);
  s.add("blocks", m.blocks, "VideoResNet blocks per stage (2,2,2,2 = torchvision)");
}

void clip_keys(Settings& s, ClipSpec& c, bool with_clips) {
  if (with_clips) s.add("clips", c.clips, "evaluation clips per video, evenly spaced").range(1, 1000);
  s.add("frames", c.frames, "T: frames per clip (training samples T + k frames, k = highest order)").range(1, 4096);
  s.add("stride", c.stride, "frame step within a clip").range(1, 1024);
  s.add("crop", c.crop, "crop side in pixels (random resized crop in training, centre crop in evaluation)")
      .range(8, 4096);
  s.add("short_video", c.short_video,
        "a video shorter than a clip: pad (repeat its last frame; its differences there are 0), loop, skip "
        "(leave it out) or stop (refuse naming it); the count is reported")
      .choices({"pad", "loop", "skip", "stop"});
}

void train_keys(Settings& s, TrainConfig& c, const std::vector<std::string>& skip) {
  Settings all;  // the whole table; the keys in `skip` are left out of `s` below
  all.add("framework", c.framework, "self-supervised framework").choices({"vicreg", "byol", "simclr"});
  all.add("pairs", c.pairs, "derivative-order pairs (clip A order - clip B order), e.g. 0-1,1-2,2-0; 0-0 = frames only");
  all.add("schedule", c.schedule, "alternate (one pair per step, in turn) | sum (all pairs every step, losses summed) | random")
      .choices({"alternate", "sum", "random"});
  all.add("gain", c.gain, "gain of the views of order 0,1,2 (ablation)");
  all.add("standardize", c.standardize, "standardise each clip of a derivative view to zero mean, unit variance (ablation)");
  model_keys(all, c.model);
  all.add("projector_dim", c.projector_dim, "VICReg projector width (Linear-BN-ReLU x2 + Linear)").range(1, 1 << 20);
  all.add("byol_hidden", c.byol_hidden, "BYOL projector/predictor hidden width").range(1, 1 << 20);
  all.add("byol_dim", c.byol_dim, "BYOL projection width").range(1, 1 << 20);
  all.add("simclr_hidden", c.simclr_hidden, "SimCLR projector hidden width").range(1, 1 << 20);
  all.add("simclr_dim", c.simclr_dim, "SimCLR projection width").range(1, 1 << 20);
  all.add("temperature", c.temperature, "SimCLR NT-Xent temperature").range(1e-4, 100);
  all.add("byol_momentum", c.byol_momentum, "BYOL target momentum at step 0 (cosine to 1 at the end)").range(0, 1);
  all.add("byol_predictor_lr", c.byol_predictor_lr,
          "BYOL predictor's learning rate as a multiple of lr (schedule included; 1 = the same)")
      .range(1e-3, 1e3);
  all.add("vicreg_inv", c.vicreg_inv, "VICReg invariance weight").range(0, 1e6);
  all.add("vicreg_var", c.vicreg_var, "VICReg variance weight").range(0, 1e6);
  all.add("vicreg_cov", c.vicreg_cov, "VICReg covariance weight").range(0, 1e6);
  clip_keys(all, c.clip, false);
  all.add("same_clip", c.same_clip, "both clips of a video start at the same frame (augmentation still differs)");
  all.add("scale_min", c.scale_min, "random resized crop: smallest crop area, as a fraction of the frame").range(1e-3, 1);
  all.add("flip_p", c.flip_p, "horizontal flip probability per clip (0 when the class is a direction, e.g. synthetic)")
      .range(0, 1);
  all.add("jitter_p", c.jitter_p, "colour jitter probability per clip (brightness, contrast, saturation 0.4, hue 0.1)")
      .range(0, 1);
  all.add("grayscale_p", c.grayscale_p, "grayscale probability per clip").range(0, 1);
  all.add("workers", c.workers, "data loader threads (0 = one per hardware thread)").range(0, 1024);
  all.add("load_errors", c.load_errors,
          "a video that fails to load in training: stop the run, or substitute (retry once, then render another "
          "video chosen from seed, epoch and item, counted and reported; SlowFast's practice on Kinetics)")
      .choices({"stop", "substitute"});
  all.add("input_transfer", c.input_transfer,
          "how the clips reach the device: f32 (normalised floats), u8 (bytes rounded before normalisation, a "
          "quarter of the transfer, normalised on the device; docs/DATA.md) or auto (u8 on cuda, f32 on the cpu)")
      .choices({"auto", "f32", "u8"});
  all.add("epochs", c.epochs, "passes over the dataset (used when steps = 0)").range(0, 1e9);
  all.add("steps", c.steps, "optimizer steps (wins over epochs when > 0)").range(0, 1e12);
  all.add("batch", c.batch, "videos per step (two clips each); batch norm needs >= 2").range(2, 1 << 20);
  all.add("optimizer", c.optimizer, "optimizer").choices({"lars", "sgd", "adamw"});
  all.add("lr", c.lr, "peak learning rate after warm-up").at_least(0);
  all.add("final_lr", c.final_lr, "learning rate at the end of the cosine").at_least(0);
  all.add("weight_decay", c.weight_decay, "weight decay").range(0, 10);
  all.add("momentum", c.momentum, "LARS/SGD momentum").range(0, 1);
  all.add("lars_eta", c.lars_eta, "LARS trust coefficient").range(0, 10);
  all.add("beta1", c.beta1, "AdamW beta1").range(0, 1);
  all.add("beta2", c.beta2, "AdamW beta2").range(0, 1);
  all.add("warmup_steps", c.warmup_steps, "linear warm-up steps from 0").range(0, 1e12);
  all.add("exclude_bias_bn", c.exclude_bias_bn, "no weight decay / LARS adaptation for biases and BN parameters");
  all.add("grad_clip", c.grad_clip, "clip the global gradient norm to this (0 = off)").range(0, 1e9);
  all.add("fused_optimizer", c.fused_optimizer,
          "optimizer step over flat buffers, one fused kernel per step (docs/OPTIMIZER.md); auto = on for "
          "CUDA, off on the CPU (whose runs stay bit for bit those of the plain step)")
      .choices({"auto", "on", "off"});
  all.add("nan_check_every", c.nan_check_every,
          "check gradients and parameters for NaN/inf every this many steps (0 = the loss only)")
      .range(0, 1e12);
  device_keys(all, c.device, c.precision);
  all.add("cuda_graphs", c.cuda_graphs,
          "GPU: replay the steady-state forward + backward as a CUDA graph, one per pair set, after 2 uncaptured "
          "steps of each (docs/CUDA.md, CUDA graphs); the cpu refuses it");
  parallel_keys(all, c.dist, true);
  all.add("seed", c.seed, "seed of initialisation, data sampling, augmentation and the random schedule");
  all.add("out", c.out, "run directory (empty = write nothing)").path();
  all.add("log_every", c.log_every, "progress line every this many steps").range(1, 1e12);
  all.add("checkpoint_every", c.checkpoint_every, "steps between checkpoints (0 = only at the end)").range(0, 1e12);
  all.add("overwrite", c.overwrite,
          "start afresh in an out folder that already holds a run (its checkpoint and metrics are replaced)");
  all.add("resume", c.resume, "checkpoint to resume from, or auto (<out>/checkpoint.vdc when present)").path();
  all.add("stop_after", c.stop_after, "stop after this many steps in total, saving a checkpoint (0 = run to the end)")
      .range(0, 1e12);
  all.add("quiet", c.quiet, "no progress lines");
  // Re-declare in `s` what is not skipped, with the same binding and range:
  // the table above stays the one place a key is written.
  s.adopt(all, skip);
}

std::string TrainConfig::to_text() const {
  TrainConfig copy = *this;
  Settings s;
  train_keys(s, copy);
  std::string text;
  for (const auto& [k, v] : s.resolved()) text += k + " = " + config::quote_value(v) + "\n";
  return text;
}

void TrainConfig::parse(const std::string& text, const std::string& origin) {
  Settings s;
  train_keys(s, *this);
  s.apply_text(text, origin);
}

std::vector<double> TrainConfig::gains() const { return config::real_list("gain", gain, 3); }

int TrainConfig::max_order() const {
  return PairSchedule(ScheduleKind::Sum, parse_pairs(pairs)).max_order();
}

int64_t TrainConfig::total_steps(size_t videos, int world) const {
  return steps > 0 ? steps : epochs * int64_t(videos / size_t(std::max<int64_t>(batch, 1) * std::max(world, 1)));
}

void TrainConfig::validate() const {
  max_order();  // checks pairs
  gains();
  model.block_counts();
  auto refuse = [](const std::string& key, const std::string& what) { throw UsageError(what, key); };
  if (steps == 0 && epochs == 0) refuse("steps", "set steps or epochs (both are 0); hint: steps = 1000");
  if (steps > 0 && warmup_steps >= steps)
    refuse("warmup_steps", "warmup_steps = " + std::to_string(warmup_steps) + " must be below steps = " +
                               std::to_string(steps) + " (the cosine needs a step after the warm-up); hint: "
                               "warmup_steps = " + std::to_string(steps / 10));
}

void TrainConfig::validate(const data::VideoSource& source, int world) const {
  validate();
  const std::string n = std::to_string(source.size());
  if (source.size() < size_t(batch) * size_t(world))
    throw UsageError("batch = " + std::to_string(batch) +
                         (world > 1 ? " on each of " + std::to_string(world) + " ranks" : std::string()) +
                         " but the dataset has only " + n + " videos", "batch");
  const int64_t total = total_steps(source.size(), world);
  if (warmup_steps >= total)
    throw UsageError("warmup_steps = " + std::to_string(warmup_steps) + " must be below the run's " +
                         std::to_string(total) + " steps (" + std::to_string(epochs) + " epochs of " +
                         std::to_string(source.size() / size_t(batch * world)) + " batches); hint: warmup_steps = " +
                         std::to_string(total / 10),
                     "warmup_steps");
  // A clip spans (T + k - 1) * stride + 1 frames; if no video is that long,
  // every clip would end in repeated frames whose derivatives are zero.
  const int64_t k = max_order(), span = (clip.frames + k - 1) * clip.stride + 1;
  int64_t longest = 0;
  for (size_t v = 0; v < source.size(); ++v) longest = std::max<int64_t>(longest, source.num_frames(v));
  if (longest < span)
    throw UsageError("clips of frames + k = " + std::to_string(clip.frames) + " + " + std::to_string(k) +
                         " at stride " + std::to_string(clip.stride) + " span " + std::to_string(span) +
                         " frames, but the longest video has " + std::to_string(longest) +
                         "; hint: lower frames or stride, or drop order-" + std::to_string(k) + " pairs",
                     "frames");
}

}  // namespace vd::vididi
