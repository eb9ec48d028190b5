// vididi/draw.cpp: bar charts, confusion matrices and tile pictures (see
// draw.h).
#include "vididi/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/errors.h"
#include "vididi/canvas.h"

namespace vd::vididi {

namespace {
const unsigned char kBlack[3] = {0, 0, 0}, kGrey[3] = {200, 200, 200};

std::string fixed(double v, int digits) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}
}  // namespace

void write_bar_chart(const std::string& path, const std::vector<std::string>& labels, const std::vector<double>& values,
                     const std::string& title, double max) {
  VD_CHECK(labels.size() == values.size() && max > 0,
           "write_bar_chart: " << labels.size() << " labels, " << values.size() << " values, max " << max);
  int label_w = 0;
  for (const auto& l : labels) label_w = std::max(label_w, Canvas::text_width(l));
  const int row = 14, L = label_w + 16, R = 60, top = 40, bar_w = 480;
  Canvas c(L + bar_w + R, top + row * int(labels.size()) + 30);
  c.text(10, 10, title, kBlack, 2);
  for (int t = 0; t <= 4; ++t) {
    const int x = L + bar_w * t / 4;
    c.line(x, top - 4, x, top + row * int(labels.size()), kGrey);
    const std::string s = fixed(max * t / 4, 2);
    c.text(x - Canvas::text_width(s) / 2, top + row * int(labels.size()) + 6, s, kBlack);
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const int y = top + row * int(i);
    c.text(L - 8 - Canvas::text_width(labels[i]), y + 3, labels[i], kBlack);
    if (!std::isfinite(values[i])) {
      c.text(L + 4, y + 3, "n/a (no ground truth)", kBlack);
      continue;
    }
    const double v = std::min(max, std::max(0.0, values[i]));
    c.rect(L, y + 2, L + int(std::lround(bar_w * v / max)), y + row - 2, palette(0));
    c.text(L + int(std::lround(bar_w * v / max)) + 4, y + 3, fixed(values[i], 3), kBlack);
  }
  c.write_png(path);
}

void write_confusion_png(const std::string& path, const std::vector<int64_t>& m, const std::vector<std::string>& names,
                         const std::string& title) {
  const int K = int(names.size());
  VD_CHECK(K >= 1 && m.size() == size_t(K) * size_t(K),
           "write_confusion_png: expected a " << K << " x " << K << " matrix, got " << m.size() << " counts");
  const int cell = std::max(4, std::min(40, 640 / K));
  int label_w = 0;
  for (const auto& n : names) label_w = std::max(label_w, Canvas::text_width(n));
  if (cell < 10) label_w = 0;  // too many classes for names
  const int L = label_w + 16, T = 60;
  Canvas c(std::max(L + cell * K + 20, 360), T + cell * K + 40);
  c.text(10, 10, title, kBlack, 2);
  c.text(L, T - 14, "predicted class ->   (rows: true class; shade = fraction of the row)", kBlack);
  for (int i = 0; i < K; ++i) {
    int64_t n = 0;
    for (int j = 0; j < K; ++j) n += m[size_t(i * K + j)];
    if (label_w) c.text(L - 6 - Canvas::text_width(names[size_t(i)]), T + i * cell + cell / 2 - 3, names[size_t(i)], kBlack);
    for (int j = 0; j < K; ++j) {
      const double f = n ? double(m[size_t(i * K + j)]) / double(n) : 0;
      const unsigned char shade[3] = {(unsigned char)(255 - 225 * f), (unsigned char)(255 - 160 * f),
                                      (unsigned char)(255 - 75 * f)};
      c.rect(L + j * cell, T + i * cell, L + (j + 1) * cell, T + (i + 1) * cell, shade);
      if (cell >= 24 && m[size_t(i * K + j)] > 0) {
        const std::string s = std::to_string(m[size_t(i * K + j)]);
        const unsigned char* ink = f > 0.6 ? (const unsigned char*)"\xff\xff\xff" : kBlack;
        c.text(L + j * cell + (cell - Canvas::text_width(s)) / 2, T + i * cell + cell / 2 - 3, s, ink);
      }
    }
  }
  c.frame(L, T, L + cell * K, T + cell * K, kBlack);
  c.write_png(path);
}

data::Image render_tile_rows(const std::vector<std::vector<Tile>>& rows, int tile_height, const std::string& title) {
  VD_CHECK(tile_height >= 16, "render_tile_rows: expected tile_height >= 16, got " << tile_height);
  const int gap = 8, line = 10, T = 34;
  size_t lines = 0;
  int width = 0;
  std::vector<std::vector<int>> widths(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    int w = gap;
    for (const Tile& t : rows[r]) {
      VD_CHECK(t.image.H > 0 && t.image.W > 0 && t.image.C == 3, "render_tile_rows: a tile is not an RGB image");
      const int tw = std::max(1, int(std::lround(double(t.image.W) * tile_height / t.image.H)));
      int cw = tw;
      for (const auto& s : t.caption) cw = std::max(cw, Canvas::text_width(s));
      widths[r].push_back(cw);
      w += cw + gap;
      lines = std::max(lines, t.caption.size());
    }
    width = std::max(width, w);
  }
  const int row_h = tile_height + int(lines) * line + 2 * gap;
  Canvas c(std::max(width, Canvas::text_width(title, 2) + 20), T + row_h * int(rows.size()) + gap);
  c.text(10, 10, title, kBlack, 2);
  for (size_t r = 0; r < rows.size(); ++r) {
    int x = gap;
    const int y = T + row_h * int(r);
    for (size_t i = 0; i < rows[r].size(); ++i) {
      const Tile& t = rows[r][i];
      const double s = double(tile_height) / t.image.H;
      const int tw = std::max(1, int(std::lround(t.image.W * s)));
      c.paste(data::resize(t.image, tile_height, tw), x, y);
      if (t.bordered) c.frame(x - 3, y - 3, x + tw + 3, y + tile_height + 3, t.border, 3);
      for (const DrawnBox& b : t.boxes) {
        const int x0 = x + int(std::lround(b.box.x1 * s)), y0 = y + int(std::lround(b.box.y1 * s));
        const int x1 = x + int(std::lround(b.box.x2 * s)), y1 = y + int(std::lround(b.box.y2 * s));
        c.frame(x0, y0, std::max(x0 + 1, x1), std::max(y0 + 1, y1), b.colour, b.thick);
        if (!b.label.empty()) {
          const int ly = std::max(y, y0 - 9);
          c.rect(x0, ly, x0 + Canvas::text_width(b.label) + 2, ly + 9, b.colour);
          c.text(x0 + 1, ly + 1, b.label, (const unsigned char*)"\xff\xff\xff");
        }
      }
      for (size_t l = 0; l < t.caption.size(); ++l) c.text(x, y + tile_height + 6 + int(l) * line, t.caption[l], kBlack);
      x += widths[r][i] + gap;
    }
  }
  return c.image();
}

void write_tile_rows(const std::string& path, const std::vector<std::vector<Tile>>& rows, int tile_height,
                     const std::string& title) {
  data::write_png(path, render_tile_rows(rows, tile_height, title));
}

}  // namespace vd::vididi
