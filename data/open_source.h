// data/open_source.h: one entry point from settings to a VideoSource: frame
// folders (data/frame_folder.h) or encoded video files (data/video_file.h)
// under a root, chosen explicitly or detected (video_format = auto), and the
// parsers for the data-layer setting words. It reads no config file and
// builds no loader (data/loader.h).
#pragma once

#include <memory>
#include <string>

#include "data/frame_folder.h"
#include "data/source.h"
#include "data/splits.h"

namespace vd::data {

// frames: ROOT/<class>/<video>/img_00001.jpg ...; video: ROOT/<class>/<video>.<ext>;
// auto_detect: whichever of the two the listed videos have.
enum class VideoFormat { frames, video, auto_detect };

// "frames" | "video" | "auto"; DataError naming the words otherwise.
VideoFormat parse_video_format(const std::string& word);
// "stop" | "skip".
OnCorrupt parse_on_corrupt(const std::string& word);

// frames or video for the split's videos under root, from the first (up to)
// 16 listed videos: all frame folders -> frames, all video files -> video.
// A mix, or neither, throws DataError naming a video and what was found.
VideoFormat detect_video_format(const std::string& root, const SplitList& split);

struct SourceConfig {
  std::string root;
  VideoFormat format = VideoFormat::auto_detect;
  int short_side = 0;                        // 0: as stored
  OnCorrupt on_corrupt = OnCorrupt::stop;
  std::string frame_pattern = "img_%05d.jpg";  // frame folders only
  std::string index_cache;                   // video files only: "" = ROOT/.vididi_index, "none"
};

// A FrameFolderDataset or a VideoFileDataset over `split` (format detected
// first when auto_detect). The caller may dynamic_cast to either for its
// counters (corrupt_frames()).
std::shared_ptr<VideoSource> open_source(const SplitList& split, const SourceConfig& config);

}  // namespace vd::data
