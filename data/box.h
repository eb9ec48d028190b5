// data/box.h: an axis-aligned box in pixel coordinates, (x1, y1) its
// top-left and (x2, y2) its bottom-right corner, x to the right and y down.
// Shared by the synthetic dataset's per-frame object boxes (data/synthetic.h)
// and the detection metrics (vididi/eval/detection_metrics.h). Only the
// type: IoU and the metrics' conventions live with the metrics.
#pragma once

namespace vd::data {

struct Box {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

inline bool operator==(const Box& a, const Box& b) {
  return a.x1 == b.x1 && a.y1 == b.y1 && a.x2 == b.x2 && a.y2 == b.y2;
}

}  // namespace vd::data
