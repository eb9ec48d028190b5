// vididi/draw.h: the evaluation figures beyond line plots, as PNG: a
// horizontal bar chart (per-class AP or accuracy), a confusion matrix, and
// rows of picture tiles with boxes, labels and captions (detection keyframes
// with ground-truth and predicted boxes; retrieval queries with their
// nearest neighbours). Drawn on vididi/canvas.h. Not here: the line plots
// (vididi/plot.h) or choosing what to show (the commands).
#pragma once
#include <string>
#include <vector>

#include "data/box.h"
#include "data/image.h"

namespace vd::vididi {

// One bar per label, value in [0, max]; a non-finite value is drawn as "n/a".
void write_bar_chart(const std::string& path, const std::vector<std::string>& labels,
                     const std::vector<double>& values, const std::string& title, double max = 1.0);

// confusion[true * K + predicted]; cells shaded by the row's fraction, with
// the count written when the cells are large enough; names on the rows.
void write_confusion_png(const std::string& path, const std::vector<int64_t>& confusion,
                         const std::vector<std::string>& names, const std::string& title);

struct DrawnBox {
  data::Box box;                // in the tile image's pixels
  unsigned char colour[3] = {0, 200, 0};
  std::string label;            // drawn above the box's top-left corner
  int thick = 2;
};
struct Tile {
  data::Image image;                  // RGB
  std::vector<DrawnBox> boxes;
  std::vector<std::string> caption;   // lines under the picture
  bool bordered = false;
  unsigned char border[3] = {0, 0, 0};
};
// Rows of tiles, each picture scaled to `tile_height` pixels high (aspect
// kept; boxes scaled with it), a title on top. Returns the RGB picture.
data::Image render_tile_rows(const std::vector<std::vector<Tile>>& rows, int tile_height, const std::string& title);
void write_tile_rows(const std::string& path, const std::vector<std::vector<Tile>>& rows, int tile_height,
                     const std::string& title);

}  // namespace vd::vididi
