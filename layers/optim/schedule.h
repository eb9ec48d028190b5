// Learning-rate schedule: linear warm-up from 0, then a half cosine from
// base_lr to final_lr (VICReg's adjust_learning_rate), as a closed-form
// function of the step (0-based, counted in optimizer steps):
//   step < W:        lr = base_lr * step / W
//   W <= step < S:   q = (1 + cos(pi * (step - W) / (S - W))) / 2
//                    lr = base_lr * q + final_lr * (1 - q)
//   step >= S:       lr = final_lr
// with W = warmup_steps, S = total_steps. Not a stateful scheduler object:
// callers set opt.set_lr(schedule(step)) before each step.
#pragma once
#include <cstdint>

namespace vd::optim {

struct WarmupCosine {
  double base_lr = 0, final_lr = 0;
  int64_t warmup_steps = 0, total_steps = 1;
  WarmupCosine(double base, double final_lr_, int64_t warmup, int64_t total);
  double operator()(int64_t step) const;
};

}  // namespace vd::optim
