// examples/show_derivatives.cpp: writes the ViDiDi picture for one synthetic
// clip: frames on top, first temporal differences (d1) below them, second
// differences (d2) at the bottom, mid-grey = no change. Shows how to render a
// synthetic video and call the picture function; it trains nothing.
//
//   build/show_derivatives [out.png] [class name, e.g. Circle] [video index] [seed]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "data/derivative_picture.h"
#include "data/synthetic.h"

int main(int argc, char** argv) {
  using namespace vd::data;
  const std::string out = argc > 1 ? argv[1] : "derivatives.png";
  const std::string cls = argc > 2 ? argv[2] : "Accelerate";
  const int index = argc > 3 ? std::atoi(argv[3]) : 0;
  SyntheticConfig cfg;  // 64x64, 32 frames per video
  cfg.videos_per_class = index + 1;
  cfg.seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0;
  try {
    const SyntheticDynamics set(cfg);
    const auto& names = set.class_names();
    size_t c = 0;
    while (c < names.size() && names[c] != cls) ++c;
    if (c == names.size()) {
      std::fprintf(stderr, "unknown class '%s'; classes:", cls.c_str());
      for (const auto& n : names) std::fprintf(stderr, " %s", n.c_str());
      std::fprintf(stderr, "\n");
      return 1;
    }
    // Every second frame of the video, so that motion per column is visible.
    std::vector<int> frames;
    for (int t = 0; t < cfg.frames && frames.size() < 8; t += 2) frames.push_back(t);
    const Clip clip = set.load(c * cfg.videos_per_class + size_t(index), frames);
    write_derivative_png(clip, out);
    std::printf("wrote %s: %s video %d, frames 0,2,..,14 (top), d1 (middle), d2 (bottom)\n",
                out.c_str(), cls.c_str(), index);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "show_derivatives: %s\n", e.what());
    return 1;
  }
  return 0;
}
