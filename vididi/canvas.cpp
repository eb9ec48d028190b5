// vididi/canvas.cpp: the raster operations of vididi/canvas.h.
#include "vididi/canvas.h"

#include <algorithm>
#include <cmath>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace vd::vididi {

void Canvas::dot(int x, int y, const unsigned char* c) {
  if (x < 0 || y < 0 || x >= W || y >= H) return;
  std::copy(c, c + 3, &px[(size_t(y) * W + x) * 3]);
}

void Canvas::rect(int x0, int y0, int x1, int y1, const unsigned char* c) {
  for (int y = std::max(0, y0); y < std::min(H, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(W, x1); ++x) dot(x, y, c);
}

void Canvas::frame(int x0, int y0, int x1, int y1, const unsigned char* c, int thick) {
  rect(x0, y0, x1, y0 + thick, c);
  rect(x0, y1 - thick, x1, y1, c);
  rect(x0, y0, x0 + thick, y1, c);
  rect(x1 - thick, y0, x1, y1, c);
}

void Canvas::line(double x0, double y0, double x1, double y1, const unsigned char* c, int thick) {
  int n = int(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
  for (int i = 0; i <= n; ++i) {
    double t = double(i) / n;
    int x = int(std::lround(x0 + t * (x1 - x0))), y = int(std::lround(y0 + t * (y1 - y0)));
    rect(x - thick / 2, y - thick / 2, x - thick / 2 + thick, y - thick / 2 + thick, c);
  }
}

void Canvas::text(int x, int y, const std::string& s, const unsigned char* c, int scale) {
  static thread_local char buf[60000];
  std::string copy = s;
  unsigned char col[4] = {c[0], c[1], c[2], 255};
  int quads = stb_easy_font_print(0, 0, copy.data(), col, buf, sizeof(buf));
  for (int q = 0; q < quads; ++q) {
    const float* v = reinterpret_cast<const float*>(buf + q * 64);  // 4 vertices of 16 bytes
    int qx0 = int(v[0]), qy0 = int(v[1]), qx1 = int(v[8]), qy1 = int(v[9]);
    rect(x + qx0 * scale, y + qy0 * scale, x + qx1 * scale, y + qy1 * scale, c);
  }
}

int Canvas::text_width(const std::string& s, int scale) {
  std::string copy = s;
  return stb_easy_font_width(copy.data()) * scale;
}

void Canvas::paste(const data::Image& img, int x, int y) {
  for (int r = 0; r < img.H; ++r)
    for (int q = 0; q < img.W; ++q) {
      const uint8_t* p = img.at(r, q);
      const unsigned char c[3] = {p[0], p[img.C > 1 ? 1 : 0], p[img.C > 2 ? 2 : 0]};
      dot(x + q, y + r, c);
    }
}

data::Image Canvas::image() const {
  data::Image img(H, W, 3);
  img.px.assign(px.begin(), px.end());
  return img;
}

void Canvas::write_png(const std::string& path) const { data::write_png(path, image()); }

const unsigned char* palette(size_t i) {
  static const unsigned char kPalette[][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                              {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127}};
  return kPalette[i % 8];
}

}  // namespace vd::vididi
