// Checkpoints: one versioned binary file holding a module's parameters and
// buffers, optimizer state and metadata (step, seed, config text, free
// key/value strings). Little-endian, a CRC32-checked header, table and payload,
// written atomically (temporary file in the same folder, fsync, rename).
// The byte format is documented in docs/CHECKPOINT.md. Loading is strict and
// never crashes on a bad file: every defect raises vd::Error naming it.
// CUDA tensors are saved via the host; loaded tensors land on the CPU and are
// copied to the destination module's device by load_checkpoint.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "layers/module.h"

namespace vd::optim {
class Optimizer;
}

namespace vd {

struct CheckpointMeta {
  int64_t step = 0;
  uint64_t seed = 0;
  std::string config;                        // e.g. the run's config file text
  std::map<std::string, std::string> extra;  // free key/value strings
};

struct Checkpoint {
  nn::NamedTensors model;      // state_dict(): parameters and buffers
  nn::NamedTensors optimizer;  // Optimizer::state_dict(); empty when none was saved
  CheckpointMeta meta;
};

inline constexpr uint32_t kCheckpointVersion = 1;

// Raw file access: any NamedTensors (f32, f64, bf16; any device) and metadata.
void write_checkpoint(const std::string& path, const Checkpoint& ck);
Checkpoint read_checkpoint(const std::string& path);  // tensors on the CPU
// The same from the bytes of a whole file (`path` only names it in errors).
Checkpoint parse_checkpoint(const std::vector<unsigned char>& bytes, const std::string& path);

// Module (and optimizer, when given) state plus metadata.
void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer* optimizer, const CheckpointMeta& meta);
// Strict load into `model` (and `optimizer`, when given): one error lists every
// missing key, unexpected key and shape mismatch. Returns the metadata.
CheckpointMeta load_checkpoint(const std::string& path, nn::Module& model,
                               optim::Optimizer* optimizer = nullptr);

// CRC-32 (IEEE 802.3, zlib's crc32) of `n` bytes, continuing from `crc`.
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace vd
