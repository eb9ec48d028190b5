// vididi/derivatives.h: ViDiDi's views of a clip. From T + k consecutive
// frames (after the clip's augmentation and normalisation) the view of order
// 0 is the first T frames, order 1 the first forward difference
// d1[t] = x[t+1] - x[t], order 2 the second, d2[t] = x[t+2] - 2 x[t+1] + x[t];
// every view has T frames. Layout channels-last [N, T + k, H, W, C], so each
// difference is a difference of contiguous slabs along T: narrow + sub, built
// from differentiable functions, on whatever device the clip lives.
// Not here: which orders a step uses (vididi/schedule.h), the data pipeline.
#pragma once
#include <array>
#include <string>

#include "core/tensor.h"

namespace vd::vididi {

struct DerivativeOptions {
  // Multiplies the view of each order (ablation setting; default 1).
  std::array<double, 3> gain{1.0, 1.0, 1.0};
  // Standardise each clip of a derivative view (orders 1 and 2 only) to zero
  // mean and unit variance over its T, H, W, C values (ablation; default off).
  bool standardize = false;
  double standardize_eps = 1e-5;  // added to the variance before the square root
};

// clip: [N, T + k, H, W, C] with k >= order -> [N, T, H, W, C], T = `frames`.
// Refuses order outside 0..2 and clips shorter than frames + order.
Tensor derivative_view(const Tensor& clip, int order, int64_t frames,
                       const DerivativeOptions& options = {});

// "gain=1,1,1 standardize=0": for logs.
std::string describe(const DerivativeOptions& options);

}  // namespace vd::vididi
