// vididi/cli/cmd_info.cpp: `vididi info`: devices, versions, build settings,
// and each encoder's parameter count and forward FLOPs for a clip shape.
#include <iomanip>

#include "vididi/cli/cli.h"
#include "vididi/models/encoder.h"

namespace vd::cli {

int cmd_info(const std::vector<std::string>& args, std::ostream& out) {
  std::string list = "r3d_18,r2plus1d_18,s3d";
  int64_t wd = 1, T = 16, S = 112;
  Settings s;
  s.add("encoders", list, "comma-separated encoders to describe (empty = none)");
  s.add("width_divisor", wd, "divide every channel width by this").range(1, 64);
  s.add("frames", T, "clip frames T for the FLOP count").range(1, 4096);
  s.add("size", S, "clip height and width for the FLOP count").range(8, 4096);
  const char* summary = "Print devices, versions, build settings, and encoder parameters and FLOPs.";
  if (parse_or_help(s, args, "info", summary, out)) return 0;
  for (const auto& [k, v] : build_info()) out << std::left << std::setw(14) << k << v << "\n";

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
    } catch (const Error&) {
      throw UsageError("bad value for 'encoders': unknown encoder '" + name + "'; hint: r3d_18, r2plus1d_18, s3d",
                       "encoders");
    }
    models::FlopReport f = models::count_flops(*enc, {1, T, S, S, 3});
    out << std::left << std::setw(15) << models::canonical_encoder_name(name) << std::right
        << std::setw(15) << enc->parameter_count() << std::setw(20) << std::fixed
        << std::setprecision(3) << double(f.total) / 1e9 << std::setw(14) << enc->feature_dim() << "\n";
  }
  return 0;
}

}  // namespace vd::cli
