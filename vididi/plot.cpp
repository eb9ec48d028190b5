// vididi/plot.cpp: rasterising line plots (see plot.h): a plot box with
// margins, "nice" ticks, Bresenham-style thick lines, stb_easy_font text.
#include "vididi/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

#include "core/errors.h"
#include "data/image.h"

namespace vd::vididi {

namespace {

struct Canvas {
  int W, H;
  std::vector<unsigned char> px;
  Canvas(int w, int h) : W(w), H(h), px(size_t(w) * h * 3, 255) {}
  void dot(int x, int y, const unsigned char* c) {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    std::copy(c, c + 3, &px[(size_t(y) * W + x) * 3]);
  }
  void rect(int x0, int y0, int x1, int y1, const unsigned char* c) {
    for (int y = std::max(0, y0); y < std::min(H, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(W, x1); ++x) dot(x, y, c);
  }
  void line(double x0, double y0, double x1, double y1, const unsigned char* c, int thick = 1) {
    int n = int(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
    for (int i = 0; i <= n; ++i) {
      double t = double(i) / n;
      int x = int(std::lround(x0 + t * (x1 - x0))), y = int(std::lround(y0 + t * (y1 - y0)));
      rect(x - thick / 2, y - thick / 2, x - thick / 2 + thick, y - thick / 2 + thick, c);
    }
  }
  // Text with its top-left corner at (x, y), scaled by `s`.
  void text(int x, int y, const std::string& s, const unsigned char* c, int scale = 1) {
    static char buf[60000];
    std::string copy = s;
    unsigned char col[4] = {c[0], c[1], c[2], 255};
    int quads = stb_easy_font_print(0, 0, copy.data(), col, buf, sizeof(buf));
    for (int q = 0; q < quads; ++q) {
      const float* v = reinterpret_cast<const float*>(buf + q * 64);  // 4 vertices of 16 bytes
      int qx0 = int(v[0]), qy0 = int(v[1]), qx1 = int(v[8]), qy1 = int(v[9]);
      rect(x + qx0 * scale, y + qy0 * scale, x + qx1 * scale, y + qy1 * scale, c);
    }
  }
  static int text_width(const std::string& s, int scale = 1) {
    std::string copy = s;
    return stb_easy_font_width(copy.data()) * scale;
  }
};

// Tick positions at 1, 2 or 5 times a power of ten, about `want` of them.
std::vector<double> nice_ticks(double lo, double hi, int want) {
  double span = hi - lo, raw = span / std::max(1, want), mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) { step = m * mag; break; }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::string label(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%g", v);
  return b;
}

const unsigned char kPalette[][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                     {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127}};

}  // namespace

std::vector<unsigned char> render_line_plot(const std::vector<Series>& series, const PlotOptions& o) {
  VD_CHECK(o.width >= 200 && o.height >= 150, "plot: expected at least 200 x 150 pixels, got "
                                                  << o.width << " x " << o.height);
  auto ty = [&](double y) { return o.log_y ? std::log10(y) : y; };
  auto usable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!o.log_y || y > 0); };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series) {
    VD_CHECK(s.x.size() == s.y.size(), "plot: series '" << s.name << "' has " << s.x.size() << " x and "
                                                        << s.y.size() << " y values");
    for (size_t i = 0; i < s.x.size(); ++i)
      if (usable(s.x[i], s.y[i])) {
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
      }
  }
  if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // nothing to draw: empty axes
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12 * std::max(1.0, std::abs(y0))) y0 -= 0.5, y1 += 0.5;
  double pad = (y1 - y0) * 0.05;
  y0 -= pad, y1 += pad;

  Canvas c(o.width, o.height);
  const int L = 70, R = o.width - 20, T = 34, B = o.height - 46;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (R - L); };
  auto py = [&](double y) { return B - (y - y0) / (y1 - y0) * (B - T); };
  const unsigned char black[3] = {0, 0, 0}, grid[3] = {225, 225, 225};
  for (double t : nice_ticks(y0, y1, 6)) {
    c.line(L, py(t), R, py(t), grid);
    std::string s = o.log_y ? label(std::pow(10.0, t)) : label(t);
    c.text(L - 6 - Canvas::text_width(s), int(py(t)) - 4, s, black);
  }
  for (double t : nice_ticks(x0, x1, 8)) {
    c.line(px(t), T, px(t), B, grid);
    std::string s = label(t);
    c.text(int(px(t)) - Canvas::text_width(s) / 2, B + 6, s, black);
  }
  c.line(L, B, R, B, black);
  c.line(L, T, L, B, black);
  c.text(L, 8, o.title, black, 2);
  c.text((L + R) / 2 - Canvas::text_width(o.xlabel) / 2, o.height - 20, o.xlabel, black);
  c.text(6, T - 14, o.ylabel + (o.log_y ? " (log)" : ""), black);
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const unsigned char* col = kPalette[k % 8];
    bool have = false;
    double lx = 0, ly = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) { have = false; continue; }
      double X = px(s.x[i]), Y = py(ty(s.y[i]));
      if (have) c.line(lx, ly, X, Y, col, 2);
      else c.rect(int(X) - 1, int(Y) - 1, int(X) + 1, int(Y) + 1, col);
      lx = X, ly = Y, have = true;
    }
    int ly0 = T + 6 + int(k) * 14;
    c.rect(R - 130, ly0 + 2, R - 116, ly0 + 5, col);
    c.text(R - 110, ly0, s.name, black);
  }
  return c.px;
}

void write_line_plot(const std::string& path, const std::vector<Series>& series, const PlotOptions& o) {
  data::Image img(o.height, o.width, 3);
  img.px = render_line_plot(series, o);
  data::write_png(path, img);
}

}  // namespace vd::vididi
