// vididi/eval/features.h: runs a frozen encoder over the evaluation clips of a
// dataset (DESIGN.md §7: n evenly spaced clips per video, centre crop, no
// colour change) and collects its pooled features per clip. The encoder runs
// in eval mode under autograd::NoGradGuard; the clips are raw frames (order
// 0) unless `order` says otherwise. Not here: what is done with the features
// (retrieval.h, linear_probe.h).
#pragma once
#include <functional>
#include <memory>

#include "core/tensor.h"
#include "data/source.h"
#include "vididi/config/train_config.h"
#include "vididi/eval/retrieval.h"

namespace vd::nn {
class Module;
}
namespace vd::dist {
class Communicator;
}

namespace vd::eval {

struct ExtractOptions {
  // clips evenly spaced per video, T = frames at `stride`, centre crop side
  // `crop` (frames smaller than it are resized).
  vididi::ClipSpec clip;
  int order = 0;      // derivative order fed to the encoder (0 = raw frames)
  int batch = 16;     // clips per forward pass
  int workers = 0;    // loader threads (0 = one per hardware thread)
  Device device = Device::cpu();
  // Called after each batch with (clips done, clips total); may be empty.
  std::function<void(int64_t, int64_t)> progress;
  // Data-parallel extraction: with a communicator of world size W > 1, rank
  // r encodes videos r, r + W, r + 2W, ... and every rank receives all the
  // features (all-gathered), in the order of the source. Null: one process.
  // (progress then counts this rank's clips.)
  dist::Communicator* comm = nullptr;
};

// Features of every evaluation clip of every video of `source`:
// [videos, clips, feature dim]. The same features (to float rounding of
// another batch composition) whatever the number of ranks. `encoder` maps [N, T, H, W, 3] to [N, D] and
// must already live on options.device; it is left in eval mode.
VideoFeatures extract_features(nn::Module& encoder, std::shared_ptr<const data::VideoSource> source,
                               const ExtractOptions& options);

// Re-estimates the running statistics of every batch norm in `encoder` on
// the evaluation clips of `source` ("precise BN"). Clips are fed as raw frames
// unless options.order says otherwise, in batches of options.batch, shuffled
// by `seed` so that a batch mixes videos.
// The statistics are reset; each batch then runs in training mode under
// no-grad and enters them with weight 1/k (BatchNormBase::cumulative). The
// result is the mean over batches of the batch means and unbiased variances.
// Why: ViDiDi trains the encoder on frames and derivatives alike, so its
// running statistics blend the orders, while evaluation feeds frames only
// (docs/PROTOCOLS.md). Returns the number of batches. Leaves the encoder in
// eval mode. options.comm is ignored: every rank re-estimates on the whole
// split, so that all hold the statistics one process would.
int64_t recalibrate_batch_norm(nn::Module& encoder, std::shared_ptr<const data::VideoSource> source,
                               const ExtractOptions& options, uint64_t seed = 0);

}  // namespace vd::eval
