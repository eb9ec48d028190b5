// vididi/losses.h: the three frameworks' two-view losses on embeddings, as
// DESIGN.md §4 pins them, built from differentiable functions (any device,
// f32 or f64; gradients by the tape). Each returns the scalar loss and its
// named terms as numbers for logs. Not here: the heads that produce the
// embeddings (vididi/heads.h) or BYOL's target network update.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vd::vididi {

// One logged term as a device scalar: its value is value.item() * scale.
struct LossPart {
  std::string name;
  Tensor value;  // detached scalar on the loss's device
  double scale = 1.0;
};

struct LossResult {
  Tensor loss;  // scalar, differentiable
  std::vector<std::pair<std::string, double>> terms;  // unweighted parts, for logs
  std::vector<LossPart> parts;  // the same terms before they are read back (one host read each)
};

// read_terms(parts): {name, value.item() * scale} in order (terms is this of parts).
std::vector<std::pair<std::string, double>> read_terms(const std::vector<LossPart>& parts);
// While one is alive on this thread, the losses leave `terms` empty and keep
// only `parts`, so that no host read happens (a CUDA graph capture,
// vididi/graph_step.cpp, reads the parts after the replay).
class DeferLossTerms {
 public:
  DeferLossTerms();
  ~DeferLossTerms();
  DeferLossTerms(const DeferLossTerms&) = delete;
  DeferLossTerms& operator=(const DeferLossTerms&) = delete;

 private:
  bool before_;
};

// VICReg (Bardes et al. 2022, official code):
//   inv = mean((za - zb)^2)
//   var = mean(relu(1 - std(za))) / 2 + mean(relu(1 - std(zb))) / 2,
//         std = sqrt(var_unbiased over the batch + eps) per feature
//   cov = sum_{i != j} C(za)_ij^2 / D + sum_{i != j} C(zb)_ij^2 / D,
//         C = centred^T centred / (N - 1)
//   loss = inv_weight * inv + var_weight * var + cov_weight * cov
struct VICRegOptions {
  double inv_weight = 25, var_weight = 25, cov_weight = 1;
  double eps = 1e-4;
};
// za, zb: [N, D] with N >= 2. Terms: inv, var, cov.
LossResult vicreg_loss(const Tensor& za, const Tensor& zb, const VICRegOptions& options = {});

// BYOL (Grill et al. 2020), symmetrised: for online predictions p and target
// projections z' of the other view, L = mean_n(2 - 2 cos(p_a, z'_b)) +
// mean_n(2 - 2 cos(p_b, z'_a)). The targets are detached here.
// pa, pb, ta, tb: [N, D]. Terms: ab, ba (the two directions).
LossResult byol_loss(const Tensor& pa, const Tensor& tb, const Tensor& pb, const Tensor& ta);
// Target momentum at `step` of `total_steps`: 1 - (1 - base) (cos(pi step / total) + 1) / 2,
// so base at step 0 and 1 at the end.
double byol_momentum(int64_t step, int64_t total_steps, double base = 0.996);

// SimCLR's NT-Xent (Chen et al. 2020): the 2N embeddings are L2-normalised;
// each one's positive is the other view of its video and its 2N - 2
// negatives are all the others; loss = mean over the 2N anchors of
// -log(exp(s_pos / tau) / sum_{k != anchor} exp(s_k / tau)).
// za, zb: [N, D], N >= 2. Terms: nt_xent, pos_cos (mean positive cosine).
LossResult simclr_loss(const Tensor& za, const Tensor& zb, double temperature = 0.1);

// x / max(||x||_2, eps) along the last axis (as torch.nn.functional.normalize).
Tensor normalize_rows(const Tensor& x, double eps = 1e-12);

}  // namespace vd::vididi
