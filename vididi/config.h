// vididi/config.h: the pretraining configuration: one struct, every key
// documented (TrainConfig::keys(): name, default, help), read from
// "key = value" text, written back fully resolved, and validated up front so
// that settings that cannot work are refused before any step runs.
// Not here: the dataset choice (the trainer is handed a data::VideoSource),
// the command-line front end (vididi/cli/).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/source.h"

namespace vd::vididi {

struct TrainConfig {
  // --- method
  std::string framework = "vicreg";   // vicreg | byol | simclr
  std::string pairs = "0-1,1-2,2-0";  // order pairs; 0-0 = the plain framework
  std::string schedule = "alternate"; // alternate | sum | random
  std::string gain = "1,1,1";         // multiplier of the views of order 0,1,2
  bool standardize = false;           // per-clip standardisation of derivative views
  // --- encoder and heads
  std::string encoder = "r3d_18";
  int64_t width_divisor = 1;
  std::string blocks = "2,2,2,2";
  int64_t projector_dim = 2048;       // VICReg projector width
  int64_t byol_hidden = 4096, byol_dim = 256;
  int64_t simclr_hidden = 2048, simclr_dim = 128;
  double temperature = 0.1;
  double byol_momentum = 0.996;
  double vicreg_inv = 25, vicreg_var = 25, vicreg_cov = 1;
  // --- data
  int64_t frames = 16, stride = 1, crop = 112;
  bool same_clip = false;
  // Clip-consistent augmentation (data/augment.h): random resized crop area
  // fraction from scale_min to 1, horizontal flip probability, colour jitter
  // probability and grayscale probability. flip_p = 0 for data whose class
  // is a direction (synthetic dynamics: a flipped MoveRight is MoveLeft).
  double scale_min = 0.3, flip_p = 0.5, jitter_p = 0.8, grayscale_p = 0.2;
  int64_t workers = 0;
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
  // --- machine
  std::string device = "auto";     // auto | cpu | cuda | cuda:N
  std::string precision = "fp32";  // fp32 | tf32 | bf16 (GPU only beyond fp32)
  uint64_t seed = 0;
  // --- run directory, logs, checkpoints
  std::string out;                 // run directory ("" = nothing written)
  int64_t log_every = 10;          // progress line every this many steps
  int64_t checkpoint_every = 0;    // steps between checkpoints (0 = only at the end)
  std::string resume;              // checkpoint path, or "auto" = <out>/checkpoint.vdc if present
  int64_t stop_after = 0;          // > 0: stop (with a checkpoint) after this many steps in total
  bool quiet = false;              // no progress lines

  struct Key {
    std::string name, default_value, help;
    std::string type;  // "string" | "int" | "real" | "bool" (for front ends: typed flags, help)
  };
  // Every key in file order, with its default and a one-line help.
  static const std::vector<Key>& keys();
  // Sets one key from text; an unknown key or a bad value is refused naming it.
  void set(const std::string& key, const std::string& value);
  std::string get(const std::string& key) const;
  // "key = value" lines ('#' comments) -> set(); errors name "origin:line".
  void parse(const std::string& text, const std::string& origin = "config");
  void load_file(const std::string& path);
  // Every key with its value, one "key = value" line each: the resolved config.
  std::string to_text() const;

  // Refuses settings that cannot work, with a message naming the key and a
  // hint: unknown framework/schedule/optimizer/encoder, bad pairs, batch < 2
  // (batch norm needs two samples), non-positive sizes, a clip longer than
  // every video of `source` (when given), bf16/tf32 on the CPU.
  void validate(const data::VideoSource* source = nullptr) const;

  // Parsed helpers.
  std::vector<double> gains() const;            // 3 values
  std::vector<int64_t> block_counts() const;
  int max_order() const;                        // highest derivative order in `pairs`
};

}  // namespace vd::vididi
