// model_info: parameter counts and forward FLOPs of the video encoders, the
// figures of DESIGN.md section 5 (counted by vididi/models/flops.h, the
// convention of PyTorch's FLOP counter: 2 * MACs of conv and linear only).
//
//   build/model_info                      all three encoders, 16x112x112 clips
//   build/model_info s3d --frames 16 --size 224 --divisor 8 --layers
//
// Builds the networks (initialisation included) but runs no forward pass.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/errors.h"
#include "vididi/models/encoder.h"

using namespace vd;

int main(int argc, char** argv) {
  std::vector<std::string> names;
  int64_t frames = 16, size = 112, divisor = 1;
  bool per_layer = false;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> int64_t {
        VD_CHECK(i + 1 < argc, "model_info: " << a << " needs a value");
        return std::atoll(argv[++i]);
      };
      if (a == "--frames") frames = value();
      else if (a == "--size") size = value();
      else if (a == "--divisor") divisor = value();
      else if (a == "--layers") per_layer = true;
      else if (a == "-h" || a == "--help") {
        std::printf("usage: model_info [r3d_18|r2plus1d_18|s3d ...] [--frames T] [--size S] "
                    "[--divisor D] [--layers]\n");
        return 0;
      } else names.push_back(models::canonical_encoder_name(a));
    }
    if (names.empty()) names = models::encoder_names();
    std::printf("%-12s %14s %8s %14s  (per clip %lldx%lldx%lld, width / %lld, no head)\n", "encoder",
                "parameters", "features", "forward GFLOP", (long long)frames, (long long)size,
                (long long)size, (long long)divisor);
    for (const std::string& name : names) {
      models::EncoderOptions opt;
      opt.width_divisor = divisor;
      auto m = models::make_encoder(name, opt);
      models::FlopReport r = models::count_flops(*m, {1, frames, size, size, 3});
      std::printf("%-12s %14lld %8lld %14.1f\n", name.c_str(), (long long)m->parameter_count(),
                  (long long)m->feature_dim(), double(r.total) / 1e9);
      if (per_layer)
        for (const models::LayerCost& l : r.layers)
          std::printf("    %-36s %-7s %-24s %10.4f GFLOP\n", l.name.c_str(), l.type.c_str(),
                      shape_str(l.out).c_str(), double(l.flops) / 1e9);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "model_info: %s\n", e.what());
    return 1;
  }
  return 0;
}
