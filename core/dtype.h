// Element types and devices: small value types shared by every layer.
// f32 and f64 run on the CPU; bf16 is a GPU storage type (CPU can only copy it).
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

namespace vd {

enum class DType : uint8_t { F32 = 0, F64 = 1, BF16 = 2 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

struct Device {
  enum Type : uint8_t { CPU = 0, CUDA = 1 };
  Type type = CPU;
  int index = 0;

  static Device cpu() { return {CPU, 0}; }
  static Device cuda(int i = 0) { return {CUDA, i}; }
  bool is_cpu() const { return type == CPU; }
  bool is_cuda() const { return type == CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu" or "cuda:0"
  static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1"
};

std::ostream& operator<<(std::ostream& os, DType t);
std::ostream& operator<<(std::ostream& os, const Device& d);

}  // namespace vd
