// vididi/heads.h: the self-supervised model around an encoder: the
// framework's projector (and BYOL's predictor and EMA target network), and
// the two-view forward that returns the framework's loss. Heads follow
// DESIGN.md §4: VICReg projector Linear-BN-ReLU x2 + Linear (width a
// setting, 2048 default); BYOL projector and predictor Linear-BN-ReLU-Linear
// 4096 -> 256, target = EMA of the online encoder+projector under no-grad;
// SimCLR projector Linear-BN-ReLU-Linear to 128. Child names ("encoder",
// "projector", "predictor", "target_encoder", "target_projector") make the
// checkpoint's tensor names. Not here: the losses' formulas (losses.h), the
// derivative views and the training loop (trainer.h).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"
#include "vididi/losses.h"
#include "vididi/models/encoder.h"

namespace vd::vididi {

enum class Framework { VICReg, BYOL, SimCLR };
Framework parse_framework(const std::string& s);  // "vicreg" | "byol" | "simclr"
const char* framework_name(Framework f);

struct HeadOptions {
  Framework framework = Framework::VICReg;
  int64_t vicreg_width = 2048;                     // every VICReg projector layer
  int64_t byol_hidden = 4096, byol_dim = 256;      // projector and predictor
  int64_t simclr_hidden = 2048, simclr_dim = 128;  // projector
  VICRegOptions vicreg;
  double temperature = 0.1;       // SimCLR
  double byol_base_momentum = 0.996;
};

// Linear-BN-ReLU for each hidden width, then a plain Linear:
// dims {in, h1, ..., hk, out}; children "0", "1", ... as torch's Sequential.
std::shared_ptr<nn::Sequential> make_mlp(const std::vector<int64_t>& dims, Generator* gen);

class SSLModel : public nn::Module {
 public:
  using EncoderFactory = std::function<std::shared_ptr<models::Encoder>()>;
  // Builds the online encoder with `make_encoder` and the heads (initialised
  // from `gen`); for BYOL also a target: a second make_encoder() and
  // projector, loaded with the online values, without gradients. Call
  // to(device) before creating the optimizer.
  SSLModel(const EncoderFactory& make_encoder, const HeadOptions& options, Generator* gen);

  // Online embedding of a view batch v: [N, T, H, W, C] -> [N, D]
  // (projector output; for BYOL the predictor's output).
  Tensor online(const Tensor& v);
  // BYOL target projection of v, computed under no-grad: [N, byol_dim].
  Tensor target(const Tensor& v);
  // The framework's loss between the views of two clips (same videos).
  // Embeddings are computed by the caller (online / target) so that views
  // shared by several pairs are encoded once; `ta`/`tb` only for BYOL.
  LossResult loss(const Tensor& za, const Tensor& zb, const Tensor& ta = Tensor(),
                  const Tensor& tb = Tensor()) const;
  // BYOL: target = m * target + (1 - m) * online, for the parameters only
  // (under no-grad). The target's buffers -- batch-norm running statistics --
  // are not averaged: they are its own, updated by its forward passes in
  // training mode (docs/ALGORITHM.md). No-op for the other frameworks.
  void update_target(double momentum);
  // The trainable parameters (online network only), by dotted name.
  nn::NamedTensors trainable_parameters() const;

  const HeadOptions& options() const { return options_; }
  models::Encoder& encoder() { return *encoder_; }
  std::shared_ptr<models::Encoder> encoder_ptr() const { return encoder_; }

 private:
  HeadOptions options_;
  std::shared_ptr<models::Encoder> encoder_;
  std::shared_ptr<nn::Sequential> projector_, predictor_;
  std::shared_ptr<models::Encoder> target_encoder_;
  std::shared_ptr<nn::Sequential> target_projector_;
};

}  // namespace vd::vididi
