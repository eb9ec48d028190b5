// vididi/model_card.h: what a checkpoint says about the model it holds, so
// that `retrieve`, `linear`, `finetune` build the right encoder from
// `--checkpoint RUN` alone: the encoder, width divisor and blocks, the heads,
// and the clip shape it was trained at. Stored as "model.*" and "clip.*"
// entries of the checkpoint's metadata (docs/CHECKPOINT.md).
// Not here: reading or writing the checkpoint file (layers/checkpoint.h).
#pragma once
#include <map>
#include <string>

#include "layers/checkpoint.h"
#include "vididi/config/train_config.h"

namespace vd::vididi {

struct ModelCard {
  bool known = false;  // false: the checkpoint records no model (e.g. converted from PyTorch)
  ModelSpec model;
  ClipSpec clip;       // clips is not recorded (an evaluation choice)
  std::string heads;   // e.g. "vicreg projector 2048", "byol 4096 -> 256"
};

// The card of a pretraining run's model, as metadata entries.
void write_model_card(const TrainConfig& c, std::map<std::string, std::string>* extra);
// The card a checkpoint's metadata holds; checkpoints written before the
// card existed are read from their saved config text.
ModelCard read_model_card(const CheckpointMeta& meta, const std::string& path);

}  // namespace vd::vididi
