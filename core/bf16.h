// bfloat16 on the host: a 16-bit storage type (the top half of an IEEE float),
// converted with round-to-nearest-even. CPU kernels never compute in it; it
// exists so that bf16 tensors can be copied, cast and printed on the host.
#pragma once
#include <cstdint>
#include <cstring>

namespace vd {

struct bf16 {
  uint16_t bits = 0;
};

inline float bf16_to_float(bf16 v) {
  uint32_t u = uint32_t(v.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline bf16 float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return bf16{uint16_t((u >> 16) | 0x40)};  // NaN stays NaN
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return bf16{uint16_t((u + rounding) >> 16)};
}

}  // namespace vd
