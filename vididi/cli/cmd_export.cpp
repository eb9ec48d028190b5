// vididi/cli/cmd_export.cpp: `vididi export`: an encoder from a checkpoint
// or run directory to a .safetensors file in torchvision's names and layout
// (vididi/models/torchvision_io.h), so that PyTorch loads it in one line
// (docs/MODELS.md). The file's metadata records the model card, the code
// version and the run; `--checkpoint FILE.safetensors` reads it back in every
// evaluation command.
#include "vididi/cli/cli.h"
#include "vididi/models/encoder.h"
#include "vididi/models/torchvision_io.h"
#include "vididi/run_dir.h"

namespace vd::cli {

int cmd_export(const std::vector<std::string>& args, std::ostream& out) {
  EncoderInput e;
  vididi::ClipSpec clip;
  std::string file;
  Settings s;
  encoder_keys(s, e);
  vididi::clip_keys(s, clip, false);
  s.add("out", file, "the .safetensors file to write (empty = <checkpoint folder>/encoder.safetensors)").path();
  const char* summary =
      "Export the encoder of a checkpoint or run directory as a .safetensors file in torchvision's names and\n"
      "layout: torchvision.models.video.r3d_18().load_state_dict(safetensors.torch.load_file(FILE), strict=False)\n"
      "loads it with only the classifier missing. Its metadata records encoder, width divisor, blocks, clip\n"
      "shape, the vididi version and the checkpoint; --checkpoint FILE reads it back in retrieve, linear, finetune.";
  if (parse_or_help(s, args, "export", summary, out)) return 0;
  if (e.checkpoint.empty()) throw UsageError("export needs --checkpoint (a pretrain run directory or checkpoint file)", "checkpoint");
  const std::string from = resolve_checkpoint(e.checkpoint);
  if (file.empty()) file = from.substr(0, from.find_last_of('/') + 1) + "encoder.safetensors";
  if (file.size() < 12 || file.compare(file.size() - 12, 12, ".safetensors") != 0)
    throw UsageError("export: --out " + file + " must end in .safetensors", "out", file);
  auto enc = build_encoder(s, e, clip, Device::cpu(), 0, 0, out);
  models::EncoderOptions o;
  o.width_divisor = e.model.width_divisor;
  o.blocks = e.model.block_counts();
  std::map<std::string, std::string> meta = models::encoder_metadata(e.model.encoder, o, from);
  meta["vididi.clip.frames"] = std::to_string(clip.frames);
  meta["vididi.clip.stride"] = std::to_string(clip.stride);
  meta["vididi.clip.crop"] = std::to_string(clip.crop);
  meta["vididi.version"] = vididi::code_version();
  models::export_encoder_safetensors(*enc, file, meta);
  out << "wrote " << file << ": " << e.model.encoder << " (width/" << e.model.width_divisor << ", blocks "
      << e.model.blocks << ") in torchvision's layout, " << enc->state_dict().size() << " tensors\n"
      << "PyTorch: torchvision.models.video." << models::canonical_encoder_name(e.model.encoder)
      << "().load_state_dict(safetensors.torch.load_file('" << file << "'), strict=False)"
      << (e.model.width_divisor == 1 && e.model.blocks == "2,2,2,2" ? "" : "  (a narrower or shallower model than torchvision's: build it to match)")
      << "\n";
  return 0;
}

}  // namespace vd::cli
