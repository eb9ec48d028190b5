// safetensors files (the format of Hugging Face's `safetensors` package, read
// by `safetensors.torch.load_file` / `safetensors.numpy.load_file`): an 8-byte
// little-endian u64 header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//    ..., "__metadata__": {"key": "value"}}
// and the raw little-endian, row-major tensor bytes, offsets counted from the
// end of the header. Byte format as described in the safetensors project's
// README (github.com/huggingface/safetensors, "Format"); this code is our own.
//
// Here: dtypes F32, F64, BF16 and I64 only. The engine has no integer dtype, so
// I64 entries (PyTorch's `num_batches_tracked`) are read into F64 tensors,
// exactly (|value| <= 2^53, at most kMaxI64Elements elements), and written from
// F64/F32 tensors holding integers. The reader is written for hostile files:
// every defect raises vd::Error naming the file and what was wrong, nothing is
// read out of bounds, and any header the reader accepts is one the format
// allows. Not here: the torchvision layout of encoders
// (vididi/models/torchvision_io.h), vididi's own checkpoints (checkpoint.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vd {

enum class SafeDType : uint8_t { F32, F64, BF16, I64 };
const char* safe_dtype_name(SafeDType t);  // "F32", "F64", "BF16", "I64"
size_t safe_dtype_size(SafeDType t);

struct SafetensorsEntry {
  std::string name;
  Tensor tensor;                       // F32 / F64 / BF16; F64 for I64 entries read
  SafeDType stored = SafeDType::F32;   // the dtype in the file
};

struct SafetensorsFile {
  std::vector<SafetensorsEntry> tensors;        // file header order (reader), writer order
  std::map<std::string, std::string> metadata;  // "__metadata__"; written only when not empty
};

// An entry stored in the tensor's own dtype, or as I64 (values must be integers
// with |v| <= 2^53).
SafetensorsEntry safe_entry(const std::string& name, const Tensor& t);
SafetensorsEntry safe_entry_i64(const std::string& name, const Tensor& t);
const SafetensorsEntry* find_safe_entry(const SafetensorsFile& f, const std::string& name);

// Limits of the reader (the writer refuses what the reader would refuse).
inline constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;  // 100 MiB of JSON
inline constexpr size_t kMaxSafetensorsRank = 8;
inline constexpr uint64_t kMaxI64Elements = 4096;

// The file's bytes: the JSON header lists the tensors in the given order, then
// "__metadata__" (when not empty); data in the same order, back to back; the
// header is padded with spaces so that the data starts at a multiple of 8.
// `what` names the destination in errors.
std::vector<unsigned char> serialize_safetensors(const SafetensorsFile& f, const std::string& what);
// Atomic: `<path>.tmp.<pid>` in the same folder, fsync, rename.
void write_safetensors(const std::string& path, const SafetensorsFile& f);

// Strict parse of a whole file's bytes (`path` only names it in errors).
// Tensors land on the CPU, in header order.
SafetensorsFile parse_safetensors(const unsigned char* data, size_t size, const std::string& path);
SafetensorsFile parse_safetensors(const std::vector<unsigned char>& bytes, const std::string& path);
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace vd
