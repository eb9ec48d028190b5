// vididi/plot.cpp: rasterising line plots (see plot.h): a plot box with
// margins, "nice" ticks, polylines and a legend on a Canvas (vididi/canvas.h).
#include "vididi/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/errors.h"
#include "data/image.h"
#include "vididi/canvas.h"

namespace vd::vididi {

namespace {

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
    const unsigned char* col = palette(k);
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
