// vididi/model_card.cpp: the model description in checkpoint metadata (see
// model_card.h).
#include "vididi/model_card.h"

#include "core/parse.h"

namespace vd::vididi {

namespace {
std::string heads_of(const TrainConfig& c) {
  if (c.framework == "byol") return "byol " + std::to_string(c.byol_hidden) + " -> " + std::to_string(c.byol_dim);
  if (c.framework == "simclr")
    return "simclr " + std::to_string(c.simclr_hidden) + " -> " + std::to_string(c.simclr_dim);
  return "vicreg projector " + std::to_string(c.projector_dim);
}

int64_t card_integer(const std::map<std::string, std::string>& extra, const std::string& key, const std::string& path) {
  int64_t v = 0;
  const std::string why = parse_integer(extra.at(key), 1, 1 << 20, &v);
  if (!why.empty()) throw UsageError("checkpoint " + path + ": metadata " + key + ": " + why, key, path);
  return v;
}
}  // namespace

void write_model_card(const TrainConfig& c, std::map<std::string, std::string>* extra) {
  (*extra)["model.encoder"] = c.model.encoder;
  (*extra)["model.width_divisor"] = std::to_string(c.model.width_divisor);
  (*extra)["model.blocks"] = c.model.blocks;
  (*extra)["model.heads"] = heads_of(c);
  (*extra)["clip.frames"] = std::to_string(c.clip.frames);
  (*extra)["clip.stride"] = std::to_string(c.clip.stride);
  (*extra)["clip.crop"] = std::to_string(c.clip.crop);
}

ModelCard read_model_card(const CheckpointMeta& meta, const std::string& path) {
  ModelCard card;
  std::map<std::string, std::string> extra = meta.extra;
  if (!extra.count("model.encoder")) {
    if (meta.config.empty()) return card;  // nothing recorded
    TrainConfig saved;
    saved.parse(meta.config, path + " (saved config)");
    write_model_card(saved, &extra);
  }
  for (const char* k : {"model.width_divisor", "model.blocks", "clip.frames", "clip.stride", "clip.crop"})
    if (!extra.count(k)) throw UsageError("checkpoint " + path + ": metadata has model.encoder but no " + k, k, path);
  card.known = true;
  card.model.encoder = extra.at("model.encoder");
  card.model.width_divisor = card_integer(extra, "model.width_divisor", path);
  card.model.blocks = extra.at("model.blocks");
  card.model.block_counts();  // checked
  card.heads = extra.count("model.heads") ? extra.at("model.heads") : "";
  card.clip.frames = card_integer(extra, "clip.frames", path);
  card.clip.stride = card_integer(extra, "clip.stride", path);
  card.clip.crop = card_integer(extra, "clip.crop", path);
  return card;
}

}  // namespace vd::vididi
