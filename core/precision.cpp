// The process-wide precision setting (see precision.h): an atomic value and
// its parsing. Not the code that acts on it (cuda/gemm.cpp, cuda/conv3d.cpp).
#include "core/precision.h"

#include <algorithm>
#include <atomic>
#include <cctype>

#include "core/errors.h"

namespace vd {

static std::atomic<Precision> g_precision{Precision::FP32};

void set_precision(Precision p) { g_precision.store(p); }
Precision precision() { return g_precision.load(); }

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::FP32: return "fp32";
    case Precision::TF32: return "tf32";
    case Precision::BF16: return "bf16";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (l == "fp32") return Precision::FP32;
  if (l == "tf32") return Precision::TF32;
  if (l == "bf16") return Precision::BF16;
  VD_FAIL("precision: expected fp32, tf32 or bf16, got '" << s << "'");
}

}  // namespace vd
