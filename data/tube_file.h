// data/tube_file.h: the plain-text tube annotations that
// tools/convert_act_pickle.py writes from ACT's pickles (UCF101v2-GT.pkl,
// the corrected UCF101-24 of ACT / MOC / mmaction2; JHMDB-GT.pkl), and the
// DetectionSet they make with the videos' frame folders. No pickle parsing
// here. The format (docs/PROTOCOLS.md "Tube annotations"), one record per
// line, fields separated by blanks, '#' starting a comment line:
//
//   vididi-tubes 1                              first record: format and version
//   dataset <name>                              e.g. UCF101-24
//   class <index> <name>                        indices 0, 1, ... in order
//   video <video> <frames> <width> <height>     the annotated resolution
//   split <n> <train|test> <video>              video lists of split n
//   tube <video> <class index> <rows>           then <rows> box lines:
//   <frame> <x1> <y1> <x2> <y2>                 frame 1-based (img_00001.jpg), consecutive
//
// Videos are ACT's names, "<Class>/<video>", the frame folder under the
// frames root. Boxes are pixels of the annotated width x height. Each
// refusal is a DataError naming file:line with a hint: an unknown record,
// a wrong field count, a non-number, an unknown video or class, a repeated
// video or class, a frame out of range or out of order, a box outside the
// frame or with x2 < x1 / y2 < y1.
#pragma once

#include <string>
#include <vector>

#include "data/detection_set.h"
#include "data/frame_folder.h"

namespace vd::data {

struct TubeFile {
  std::string dataset;
  std::vector<std::string> classes;
  struct Video {
    std::string name;
    int frames = 0;
    double width = 0, height = 0;
  };
  std::vector<Video> videos;
  // (split, subset) -> video indices, in file order.
  struct SplitVideos {
    int split = 0;
    Subset subset = Subset::train;
    std::vector<size_t> videos;
  };
  std::vector<SplitVideos> splits;
  std::vector<TubeBoxes> tubes;  // video = index into videos
  std::vector<int> tube_lines;   // the line of each tube record (for errors)
};

TubeFile parse_tube_file(const std::string& text, const std::string& path);
TubeFile read_tube_file(const std::string& path);

// The DetectionSet of split `split`: frames from frames.root/<video>/
// (frames.frame_pattern), train keyframes every train_stride frames where
// tubes are, test keyframes every test_stride frames of every test video.
// A tube frame past its folder's frame count is refused (file:line).
DetectionSet tube_detection_set(const TubeFile& file, const std::string& path, int split,
                                const FrameFolderConfig& frames, int train_stride, int test_stride);

}  // namespace vd::data
