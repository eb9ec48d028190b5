// vididi/train_loop.h: pretraining over a dataset. The loop takes two clips
// of the same videos per step from the threaded loader (independent
// augmentation, different starts unless same_clip), hands them to
// Trainer::train_step, logs every step (metrics.jsonl, loss.png, progress
// lines), checkpoints every N steps and at the end, and resumes exactly from
// a checkpoint (the data order is a pure function of seed, epoch and index).
// Not here: the step itself (trainer.h), the command line (vididi/cli/).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/source.h"
#include "vididi/trainer.h"

namespace vd::vididi {

struct TrainResult {
  std::vector<StepRecord> records;  // the steps run by this call (not earlier ones of a resumed run)
  int64_t first_step = 0;           // step the call started at (> 0 when resumed)
  int64_t steps_done = 0;           // steps completed in total
  int64_t total_steps = 0;
  bool finished = false;            // reached total_steps (false when stop_after stopped it)
  std::string checkpoint;           // last checkpoint written ("" when none)
  double seconds = 0, clips_per_s = 0;
  size_t substituted = 0;           // clips rendered from a substitute video (load_errors = substitute)
};

// The run's length: steps, or epochs x full batches of the videos the loader
// keeps (all, unless short_video = skip leaves some out). Build the Trainer
// with it.
// `world`: the number of data-parallel ranks (each takes batch videos a step).
int64_t planned_steps(const TrainConfig& c, const data::VideoSource& source, int world = 1);

// Runs `trainer` on `source` from the start, or from the checkpoint named by
// config.resume, to total_steps (or stop_after). When config.out is set it
// writes the run directory there; `run_config_text` is its config.txt (a
// front end passes its own resolved settings, dataset keys included, so that
// config.txt alone repeats the run; default: the TrainConfig's text).
TrainResult train(Trainer& trainer, std::shared_ptr<const data::VideoSource> source,
                  const std::string& run_config_text = "");

}  // namespace vd::vididi
