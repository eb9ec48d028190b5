// vididi/config/train_config.h: what a pretraining run is, as plain structs.
// ModelSpec (the encoder's architecture) and ClipSpec (the clip shape) are
// shared with the evaluation commands and recorded in every checkpoint;
// TrainConfig adds the method, heads, augmentation, optimisation and run
// keys. Each struct's key table (name, default, range, help) is its *_keys
// function, the only place a key is declared; validate() holds the checks
// across keys. Not here: the dataset choice (vididi/cli/datasets.h), the
// training loop (vididi/train_loop.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/source.h"
#include "vididi/config/parallel.h"
#include "vididi/config/settings.h"

namespace vd::vididi {

// The encoder's architecture: enough to build it and to load its weights.
struct ModelSpec {
  std::string encoder = "r3d_18";  // r3d_18 | r2plus1d_18 | s3d
  int64_t width_divisor = 1;       // every channel width divided by this
  std::string blocks = "2,2,2,2";  // VideoResNet blocks per stage
  std::vector<int64_t> block_counts() const;  // checked: four counts in 1..64
};

// The clips an encoder sees: T frames `stride` apart, square crops of `crop`
// pixels; evaluation averages `clips` evenly spaced clips per video.
struct ClipSpec {
  int64_t frames = 16, stride = 1, crop = 112;
  int64_t clips = 10;  // evaluation only
  // A video shorter than a clip: pad (repeat its last frame), loop, skip
  // (leave it out), stop (refuse naming it); data/sampling.h.
  std::string short_video = "pad";
};

void model_keys(config::Settings& s, ModelSpec& m);
// frames, stride, crop; and clips when `with_clips` (evaluation).
void clip_keys(config::Settings& s, ClipSpec& c, bool with_clips);

struct TrainConfig {
  // --- method
  std::string framework = "vicreg";   // vicreg | byol | simclr
  std::string pairs = "0-1,1-2,2-0";  // order pairs; 0-0 = the plain framework
  std::string schedule = "alternate"; // alternate | sum | random
  std::string gain = "1,1,1";         // multiplier of the views of order 0,1,2
  bool standardize = false;           // per-clip standardisation of derivative views
  // --- encoder and heads
  ModelSpec model;
  int64_t projector_dim = 2048;       // VICReg projector width
  int64_t byol_hidden = 4096, byol_dim = 256;
  int64_t simclr_hidden = 2048, simclr_dim = 128;
  double temperature = 0.1;
  double byol_momentum = 0.996;
  double byol_predictor_lr = 1;       // BYOL predictor's lr as a multiple of lr
  double vicreg_inv = 25, vicreg_var = 25, vicreg_cov = 1;
  // --- data
  ClipSpec clip;
  bool same_clip = false;
  // Clip-consistent augmentation (data/augment.h): random resized crop area
  // fraction from scale_min to 1, horizontal flip probability, colour jitter
  // probability and grayscale probability. flip_p = 0 for data whose class
  // is a direction (synthetic dynamics: a flipped MoveRight is MoveLeft).
  double scale_min = 0.3, flip_p = 0.5, jitter_p = 0.8, grayscale_p = 0.2;
  int64_t workers = 0;
  std::string load_errors = "stop";  // stop | substitute (data/loader.h)
  // How the input crosses to the device (issue 18; vididi/input_upload.h):
  // f32 (normalised floats, as before), u8 (bytes, normalised on the
  // device), auto (u8 on a CUDA device, f32 on the CPU).
  std::string input_transfer = "auto";
  // --- length and batch
  int64_t epochs = 0, steps = 0;  // steps > 0 wins; otherwise epochs * batches per epoch
  int64_t batch = 32;
  // --- optimisation
  std::string optimizer = "lars";  // lars | sgd | adamw
  double lr = 0.3, final_lr = 0.0, weight_decay = 1e-6, momentum = 0.9;
  double lars_eta = 0.001, beta1 = 0.9, beta2 = 0.999;
  int64_t warmup_steps = 10;
  bool exclude_bias_bn = true;  // no weight decay (and no LARS adaptation) for rank <= 1 tensors
  double grad_clip = 0;         // > 0: clip the global gradient norm to this
  std::string fused_optimizer = "auto";  // auto | on | off: flat buffers, one kernel per step (auto: on for CUDA)
  int64_t nan_check_every = 1;  // gradients and parameters checked finite every this many steps (0 = loss only)
  // --- machine
  std::string device = "auto";     // auto | cpu | cuda | cuda:N
  std::string precision = "fp32";  // fp32 | tf32 | bf16 (GPU only beyond fp32)
  bool cuda_graphs = false;        // GPU: captured steady-state steps (vididi/graph_step.h)
  uint64_t seed = 0;
  // --- data parallelism (vididi/config/parallel.h; docs/DISTRIBUTED.md):
  // `batch` is each rank's, so a step trains on batch x world size videos.
  ParallelSpec dist;
  // --- run directory, logs, checkpoints
  std::string out;                 // run directory ("" = nothing written)
  int64_t log_every = 10;          // progress line every this many steps
  int64_t checkpoint_every = 0;    // steps between checkpoints (0 = only at the end)
  bool overwrite = false;          // start afresh in an `out` that already holds a run
  std::string resume;              // checkpoint path, or "auto" = <out>/checkpoint.vdc if present
  int64_t stop_after = 0;          // > 0: stop (with a checkpoint) after this many steps in total
  bool quiet = false;              // no progress lines

  // The whole config as "key = value" text, and back (the checkpoint's copy).
  std::string to_text() const;
  void parse(const std::string& text, const std::string& origin = "config");

  // Refuses settings that cannot work, as a UsageError naming the key and a
  // hint: bad pairs, gains or blocks, a warm-up as long as the run.
  void validate() const;
  // The same against a dataset: enough videos for a batch on each of
  // `world` ranks, clips no longer than the longest video, a warm-up shorter
  // than the run.
  void validate(const data::VideoSource& source, int world = 1) const;
  // steps, or epochs x full global batches (batch x world) of `videos`.
  int64_t total_steps(size_t videos, int world = 1) const;

  std::vector<double> gains() const;  // 3 values
  int max_order() const;              // highest derivative order in `pairs`
};

// Declares every TrainConfig key except those in `skip`, bound to `c`.
void train_keys(config::Settings& s, TrainConfig& c, const std::vector<std::string>& skip = {});

}  // namespace vd::vididi
