// vididi/eval/detection_link.h: linking per-frame detections into tubes for
// video-mAP, a simple greedy online linker (after Singh et al., ICCV 2017,
// without their temporal trimming), per video and class:
//   - keyframes are visited in frame order; at each, the class's detections
//     are taken best score first;
//   - live tubes, best mean score first, each take the unclaimed detection of
//     highest score whose IoU with the tube's last box is >= min_iou;
//   - a live tube that takes none ends (no gaps); each unclaimed detection
//     starts a new tube;
//   - a tube's score is the mean of its detections' scores; its boxes are
//     linear interpolations between its keyframes, and its ends are held for
//     stride / 2 frames (the frames nearest to the end keyframes, clamped to
//     the video).
// Not here: the metric (detection_metrics.h video_map).
#pragma once
#include <vector>

#include "vididi/eval/detection_metrics.h"

namespace vd::eval {

struct LinkOptions {
  double min_iou = 0.3;          // a detection continues a tube at this IoU with its last box
  int keyframe_stride = 1;       // frames between evaluated keyframes (ends held stride / 2 frames)
  bool inclusive_pixels = false; // IoU convention (detection_metrics.h)
};

// `detections`: boxes on keyframes (any videos and classes, any order);
// video_frames[v]: the number of frames of video v. Tubes are returned
// grouped by video, then class, in order of their first keyframe.
std::vector<Tube> link_tubes(const std::vector<FrameBox>& detections, const std::vector<int>& video_frames,
                             const LinkOptions& options = {});

// Box b linearly interpolated between a (at t = 0) and c (at t = 1).
Box lerp(const Box& a, const Box& c, double t);

}  // namespace vd::eval
