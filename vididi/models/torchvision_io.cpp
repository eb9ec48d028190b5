// Encoders <-> safetensors in torchvision's layout (see torchvision_io.h): the
// state-dict conversion both ways, the metadata, and the strict import that
// names the first mismatch. Not here: the byte format (layers/safetensors.cpp).
#include "vididi/models/torchvision_io.h"

#include <sstream>

#include "autograd/node.h"
#include "core/ops.h"

namespace vd::models {

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "vididi.encoder=r3d_18, vididi.width_divisor=8, ..." from a file's metadata.
std::string vididi_metadata(const std::map<std::string, std::string>& meta) {
  std::string s;
  for (const auto& [k, v] : meta)
    if (starts_with(k, "vididi.") && k != "vididi.layout" && k != "vididi.format_version")
      s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s;
}

}  // namespace

bool is_head_entry(const std::string& name) { return starts_with(name, "fc.") || starts_with(name, "classifier."); }

bool is_num_batches_tracked(const std::string& name) {
  const std::string suffix = "num_batches_tracked";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         (name.size() == suffix.size() || name[name.size() - suffix.size() - 1] == '.');
}

std::vector<SafetensorsEntry> to_torchvision_state(const nn::NamedTensors& ours) {
  std::vector<SafetensorsEntry> out;
  out.reserve(ours.size());
  for (const auto& [name, t] : ours) {
    if (is_num_batches_tracked(name)) {
      VD_CHECK(t.dim() == 0, "to_torchvision_state: '" << name << "' has shape " << shape_str(t.shape())
                                                       << ", expected rank 0 (a BatchNorm counter)");
      out.push_back(safe_entry_i64(name, t));
    } else {
      out.push_back(safe_entry(name, t.dim() == 5 ? to_torch_layout(t) : t));
    }
  }
  return out;
}

nn::NamedTensors from_torchvision_state(const std::vector<SafetensorsEntry>& theirs) {
  nn::NamedTensors out;
  out.reserve(theirs.size());
  for (const SafetensorsEntry& e : theirs)
    out.emplace_back(e.name, e.tensor.dim() == 5 ? from_torch_layout(e.tensor) : e.tensor);
  return out;
}

std::map<std::string, std::string> encoder_metadata(const std::string& encoder, const EncoderOptions& opt,
                                                    const std::string& run) {
  std::string blocks;
  for (size_t i = 0; i < opt.blocks.size(); ++i) blocks += (i ? "," : "") + std::to_string(opt.blocks[i]);
  std::map<std::string, std::string> m = {{"vididi.encoder", canonical_encoder_name(encoder)},
                                          {"vididi.width_divisor", std::to_string(opt.width_divisor)},
                                          {"vididi.blocks", blocks},
                                          {"vididi.num_classes", std::to_string(opt.num_classes)}};
  if (!run.empty()) m["vididi.run"] = run;
  return m;
}

void export_encoder_safetensors(const Encoder& enc, const std::string& path,
                                const std::map<std::string, std::string>& metadata) {
  SafetensorsFile f;
  f.metadata = {{"format", "pt"}, {"vididi.layout", "torchvision"}, {"vididi.format_version", "1"}};
  for (const auto& [k, v] : metadata)
    VD_CHECK(f.metadata.emplace(k, v).second, "export_encoder_safetensors " << path << ": metadata key '" << k
                                                                            << "' is reserved (format, "
                                                                            << "vididi.layout, vididi.format_version)");
  f.tensors = to_torchvision_state(enc.state_dict());
  write_safetensors(path, f);
}

std::map<std::string, std::string> import_encoder_safetensors(Encoder& enc, const std::string& path) {
  return import_encoder_state(enc, read_safetensors(path), path);
}

std::map<std::string, std::string> import_encoder_state(Encoder& enc, const SafetensorsFile& file,
                                                        const std::string& path) {
  const std::string made = vididi_metadata(file.metadata);
  const std::string hint = "; hint: build the encoder with the encoder name, width_divisor and blocks the file "
                           "was written for" +
                           (made.empty() ? std::string(" (torchvision's own weights: width_divisor 1, blocks 2,2,2,2)")
                                         : " (the file says " + made + ")");
  const std::string where = "import_encoder_safetensors " + path + ": ";
  nn::NamedTensors dst = enc.state_dict();
  std::vector<const SafetensorsEntry*> src(dst.size(), nullptr);
  for (size_t i = 0; i < dst.size(); ++i) {
    const std::string& name = dst[i].first;
    const Tensor& t = dst[i].second;
    const SafetensorsEntry* e = find_safe_entry(file, name);
    VD_USER_CHECK(e, where << "'" << name << "' is missing from the file ("
                      << file.tensors.size() << " tensors)"
                      << (is_head_entry(name) ? std::string("; hint: the file has no classifier; build the encoder "
                                                            "with num_classes 0 and train a head")
                                              : hint));
    const Shape want = t.dim() == 5 ? torch_shape(t.shape()) : t.shape();
    VD_USER_CHECK(e->tensor.shape() == want, where << "'" << name << "' expected shape " << shape_str(want)
                                              << " (torchvision layout), got " << shape_str(e->tensor.shape())
                                              << hint);
    if (is_num_batches_tracked(name)) {
      VD_USER_CHECK(e->stored == SafeDType::I64, where << "'" << name << "' expected dtype I64 (PyTorch's "
                                                  << "num_batches_tracked), got " << safe_dtype_name(e->stored)
                                                  << "; hint: the file was not written from a torch state_dict");
    } else {
      const char* want_dt = t.dtype() == DType::F32 ? "F32" : t.dtype() == DType::F64 ? "F64" : "BF16";
      VD_USER_CHECK(std::string(safe_dtype_name(e->stored)) == want_dt,
               where << "'" << name << "' expected dtype " << want_dt << " (the encoder's), got "
                     << safe_dtype_name(e->stored)
                     << "; hint: convert the file in Python ({k: v.float() ...}) or the encoder "
                        "(enc->to(DType))");
    }
    src[i] = e;
  }
  for (const SafetensorsEntry& e : file.tensors) {
    if (nn::find_named(dst, e.name)) continue;
    VD_USER_CHECK(is_head_entry(e.name) && !enc.has_head(),
             where << "unexpected tensor '" << e.name << "' of shape " << shape_str(e.tensor.shape())
                   << " (the encoder has " << dst.size() << " entries)" << hint);
  }
  autograd::NoGradGuard guard;
  for (size_t i = 0; i < dst.size(); ++i) {
    const Tensor& from = src[i]->tensor;
    Tensor ours = from.dim() == 5 ? from_torch_layout(from) : from;
    Tensor d = dst[i].second;
    ops::copy_(d, ops::to_device(ops::to_dtype(ours, d.dtype()), d.device()));
  }
  return file.metadata;
}

}  // namespace vd::models
