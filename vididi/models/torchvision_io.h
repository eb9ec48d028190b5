// Encoders <-> safetensors files in torchvision's layout, so that PyTorch users
// load our weights with `r3d_18().load_state_dict(safetensors.torch.load_file(p),
// strict=False)` and we load torchvision's. Names are already torchvision's
// (layers/module.h); what changes (docs/MODELS.md, "Layout mapping"):
//   rank-5 Conv3d weights  ours [Cout, kT, kH, kW, Cin] <-> torch [Cout, Cin, kT, kH, kW]
//   num_batches_tracked    ours f64 rank 0              <-> torch I64 rank 0
//   everything else        same layout, same dtype (F32 for f32 encoders)
// Not here: the byte format (layers/safetensors.h), vididi's own checkpoints
// (layers/checkpoint.h), the command line.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "layers/safetensors.h"
#include "vididi/models/encoder.h"

namespace vd::models {

// True for torchvision's classifier entries: `fc.*` (VideoResNet) and
// `classifier.*` (S3D).
bool is_head_entry(const std::string& name);
bool is_num_batches_tracked(const std::string& name);

// A state dict in our layout -> entries in torchvision's: rank-5 tensors
// permuted, `num_batches_tracked` stored as I64, the rest as they are. Order kept.
std::vector<SafetensorsEntry> to_torchvision_state(const nn::NamedTensors& ours);
// The inverse: rank-5 tensors permuted back; I64 entries come as f64 tensors.
nn::NamedTensors from_torchvision_state(const std::vector<SafetensorsEntry>& theirs);

// Metadata keys an export should carry (the lead's command line passes these):
// vididi.encoder (canonical name), vididi.width_divisor, vididi.blocks ("2,2,2,2"),
// vididi.num_classes. `run` (e.g. the run folder or config hash) when not empty.
std::map<std::string, std::string> encoder_metadata(const std::string& encoder,
                                                    const EncoderOptions& opt,
                                                    const std::string& run = "");

// Writes enc.state_dict() (head included when the encoder has one) in
// torchvision's layout. Metadata: "format" = "pt" (the convention of PyTorch
// safetensors files), "vididi.layout" = "torchvision", "vididi.format_version"
// = "1", then `metadata` (its keys must not repeat those three). Atomic.
void export_encoder_safetensors(const Encoder& enc, const std::string& path,
                                const std::map<std::string, std::string>& metadata);

// Strict import of a file in torchvision's layout into `enc` (values copied in
// place; enc's device and dtypes kept). Every state-dict entry of enc must be
// present with torchvision's shape (torch_shape of ours) and a matching dtype:
// floating tensors stored in the encoder tensor's own dtype (F32 for f32
// encoders, as torchvision's weights are), num_batches_tracked as I64 rank 0
// (as PyTorch writes it). A head in the file (`fc.*`, `classifier.*`) is
// ignored when enc has none; any other extra tensor is refused. The first
// mismatch raises one vd::Error line naming the entry, expected vs got and a
// hint (encoder / width_divisor / blocks, with the file's vididi.* metadata
// when present); nothing is copied unless everything matches. Returns the
// file's metadata.
std::map<std::string, std::string> import_encoder_safetensors(Encoder& enc, const std::string& path);
// The same from an already parsed file (`path` names it in errors).
std::map<std::string, std::string> import_encoder_state(Encoder& enc, const SafetensorsFile& file,
                                                        const std::string& path);

}  // namespace vd::models
