// Warm-up + cosine schedule (see schedule.h).
#include "layers/optim/schedule.h"

#include <cmath>

#include "core/errors.h"

namespace vd::optim {

WarmupCosine::WarmupCosine(double base, double final_lr_, int64_t warmup, int64_t total)
    : base_lr(base), final_lr(final_lr_), warmup_steps(warmup), total_steps(total) {
  VD_CHECK(warmup >= 0 && total > warmup,
           "WarmupCosine: expected 0 <= warmup_steps < total_steps, got warmup "
               << warmup << ", total " << total);
}

double WarmupCosine::operator()(int64_t step) const {
  VD_CHECK(step >= 0, "WarmupCosine: expected a step >= 0, got " << step);
  if (step < warmup_steps) return base_lr * double(step) / double(warmup_steps);
  if (step >= total_steps) return final_lr;
  double q = 0.5 * (1.0 + std::cos(M_PI * double(step - warmup_steps) /
                                   double(total_steps - warmup_steps)));
  return base_lr * q + final_lr * (1.0 - q);
}

}  // namespace vd::optim
