// vididi/trainer.h: ViDiDi pretraining. Each step takes two clips of the
// same videos from the threaded loader (independent augmentation, different
// starts unless same_clip), the pair(s) of derivative orders of the schedule,
// their derivative views, one encoder for all orders, the framework's head and
// loss, backward, optional gradient clipping, and an optimizer step on the
// warm-up + cosine learning rate (BYOL: then the EMA target update). It logs
// every step (metrics.jsonl, loss.png, progress lines), checkpoints every N
// steps and at the end (atomic: the previous file stays until the rename),
// resumes exactly, and stops on a non-finite loss naming the step and the
// last good checkpoint. Not here: the dataset (handed in), evaluation.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/source.h"
#include "vididi/config.h"
#include "vididi/derivatives.h"
#include "vididi/heads.h"
#include "vididi/run_dir.h"
#include "vididi/schedule.h"

namespace vd::optim {
class Optimizer;
}

namespace vd::vididi {

struct TrainResult {
  std::vector<StepRecord> records;  // the steps run by this call (not earlier ones of a resumed run)
  int64_t first_step = 0;           // step the call started at (> 0 when resumed)
  int64_t steps_done = 0;           // steps completed in total
  int64_t total_steps = 0;
  bool finished = false;            // reached total_steps (false when stop_after stopped it)
  std::string checkpoint;           // last checkpoint written ("" when none)
  double seconds = 0, clips_per_s = 0;
};

// The device a config asks for: "auto" is cuda when available, else cpu
// (the message says which and why when `note` is given).
Device resolve_device(const std::string& setting, std::string* note = nullptr);

class Trainer {
 public:
  // Validates `config` against `source` (throws before anything runs), seeds
  // and builds the model and optimizer on the device.
  Trainer(TrainConfig config, std::shared_ptr<const data::VideoSource> source,
          std::function<void(const std::string&)> print = {});
  ~Trainer();

  // Runs from the start, or from the checkpoint named by config.resume, to
  // total_steps (or stop_after). Writes the run directory when config.out is set.
  TrainResult run();

  // One optimisation step on clip batches xa, xb: [N, T + k, H, W, C] on the
  // device; `step` picks the pair(s) and the learning rate. Used by run() and
  // by benchmarks. Throws on a non-finite loss.
  StepRecord train_step(const Tensor& xa, const Tensor& xb, int64_t step);

  // The text run() writes as <out>/config.txt (default: config().to_text()).
  // A front end that also chose the dataset passes its own resolved settings,
  // so that config.txt alone reproduces the run. Checkpoints keep to_text().
  void set_run_config_text(std::string text) { run_config_text_ = std::move(text); }

  SSLModel& model() { return *model_; }
  std::shared_ptr<SSLModel> model_ptr() const { return model_; }
  const TrainConfig& config() const { return config_; }
  Device device() const { return device_; }
  int64_t total_steps() const { return total_steps_; }
  const PairSchedule& schedule() const { return schedule_; }

 private:
  void say(const std::string& line) const;
  void save(const std::string& path, int64_t steps_done);
  int64_t restore(const std::string& path);  // returns steps done
  std::string checkpoint_path() const;

  TrainConfig config_;
  std::shared_ptr<const data::VideoSource> source_;
  std::function<void(const std::string&)> print_;
  Device device_;
  PairSchedule schedule_;
  DerivativeOptions derivatives_;
  std::shared_ptr<SSLModel> model_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  int64_t batches_per_epoch_ = 0, total_steps_ = 0;
  std::string last_checkpoint_;
  int64_t last_checkpoint_step_ = -1;
  std::string run_config_text_;
};

}  // namespace vd::vididi
