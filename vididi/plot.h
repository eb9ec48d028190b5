// vididi/plot.h: a tiny line-plot rasteriser for training curves (loss terms,
// learning rate, accuracies): axes with tick labels, one coloured polyline per
// series, a legend, written as PNG (data/image.h's stb_image_write). Text
// comes from stb_easy_font. Not a plotting library: no styles, no subplots.
#pragma once
#include <string>
#include <vector>

namespace vd::vididi {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length; non-finite points are skipped
};

struct PlotOptions {
  int width = 800, height = 480;
  std::string title, xlabel = "step", ylabel;
  bool log_y = false;  // log10 axis (points <= 0 skipped)
};

// Draws the series into an RGB image and writes it to `path` as PNG.
void write_line_plot(const std::string& path, const std::vector<Series>& series,
                     const PlotOptions& options = {});
// The same picture as RGB bytes [height, width, 3] (for tests and reports).
std::vector<unsigned char> render_line_plot(const std::vector<Series>& series,
                                            const PlotOptions& options = {});

}  // namespace vd::vididi
