// vididi/cli/cmd_info.cpp: `vididi info`: devices, versions, build settings,
// and each encoder's parameter count and forward FLOPs for a clip shape.
#include <iomanip>

#include "vididi/cli/cli.h"
#include "vididi/models/encoder.h"

namespace vd::cli {

int cmd_info(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  s.add("encoders", "r3d_18,r2plus1d_18,s3d", "comma-separated encoders to describe (empty = none)");
  s.add("width_divisor", "1", "divide every channel width by this", KeyType::Int);
  s.add("frames", "16", "clip frames T for the FLOP count", KeyType::Int);
  s.add("size", "112", "clip height and width for the FLOP count", KeyType::Int);
  const char* summary = "Print devices, versions, build settings, and encoder parameters and FLOPs.";
  if (parse_or_help(s, args, "info", summary, out)) return 0;
  for (const auto& [k, v] : build_info()) out << std::left << std::setw(14) << k << v << "\n";
  const int64_t wd = s.integer("width_divisor"), T = s.integer("frames"), S = s.integer("size");
  if (wd < 1 || T < 1 || S < 8)
    throw UsageError("bad value: expected width_divisor >= 1, frames >= 1, size >= 8, got " +
                     std::to_string(wd) + ", " + std::to_string(T) + ", " + std::to_string(S));
  std::string list = s.str("encoders");
  if (list.empty()) return 0;
  out << "\nencoder        params (no head)   GFLOP/clip forward  feature dim   (width/" << wd << ", "
      << T << "x" << S << "x" << S << ")\n";
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string name = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? list.size() + 1 : comma + 1;
    if (name.empty()) continue;
    models::EncoderOptions o;
    o.width_divisor = wd;
    std::shared_ptr<models::Encoder> enc;
    try {
      enc = models::make_encoder(name, o);
    } catch (const std::exception& e) {
      throw UsageError("bad value for 'encoders': unknown encoder '" + name + "'");
    }
    models::FlopReport f = models::count_flops(*enc, {1, T, S, S, 3});
    out << std::left << std::setw(15) << models::canonical_encoder_name(name) << std::right
        << std::setw(15) << enc->parameter_count() << std::setw(20) << std::fixed
        << std::setprecision(3) << double(f.total) / 1e9 << std::setw(14) << enc->feature_dim() << "\n";
  }
  return 0;
}

}  // namespace vd::cli
