// vididi/canvas.h: an RGB raster to draw figures on: filled rectangles,
// thick lines, outlines, stb_easy_font text (optionally scaled), pasted
// images, and PNG output. Shared by the line plots (vididi/plot.h) and the
// figures of vididi/draw.h. Not a graphics library: no anti-aliasing, no
// fonts beyond stb_easy_font's.
#pragma once
#include <string>
#include <vector>

#include "data/image.h"

namespace vd::vididi {

struct Canvas {
  int W, H;
  std::vector<unsigned char> px;  // [H, W, 3]
  Canvas(int w, int h) : W(w), H(h), px(size_t(w) * h * 3, 255) {}
  void dot(int x, int y, const unsigned char* c);
  // Fills [x0, x1) x [y0, y1), clipped to the canvas.
  void rect(int x0, int y0, int x1, int y1, const unsigned char* c);
  // The outline of [x0, x1) x [y0, y1), `thick` pixels wide, inside it.
  void frame(int x0, int y0, int x1, int y1, const unsigned char* c, int thick = 1);
  void line(double x0, double y0, double x1, double y1, const unsigned char* c, int thick = 1);
  // Text with its top-left corner at (x, y), scaled by `scale`.
  void text(int x, int y, const std::string& s, const unsigned char* c, int scale = 1);
  static int text_width(const std::string& s, int scale = 1);
  static int text_height(int scale = 1) { return 7 * scale; }
  // Copies `img` (RGB) with its top-left corner at (x, y), clipped.
  void paste(const data::Image& img, int x, int y);
  data::Image image() const;
  void write_png(const std::string& path) const;
};

// Eight distinguishable colours (matplotlib's tab10 without two), by index mod 8.
const unsigned char* palette(size_t i);

}  // namespace vd::vididi
