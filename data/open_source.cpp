// data/open_source.cpp: the setting parsers and the frames-or-video decision.
#include "data/open_source.h"

#include <filesystem>

#include "data/error.h"
#include "data/video_file.h"

namespace vd::data {

VideoFormat parse_video_format(const std::string& w) {
  if (w == "frames") return VideoFormat::frames;
  if (w == "video") return VideoFormat::video;
  if (w == "auto") return VideoFormat::auto_detect;
  fail("video_format", "expected frames, video or auto, got '" + w + "'",
       "frames = JPEG folders from tools/prepare_frames.py, video = .avi/.mp4/.mkv/.webm decoded "
       "directly, auto = whichever the root holds");
}

OnCorrupt parse_on_corrupt(const std::string& w) {
  if (w == "stop") return OnCorrupt::stop;
  if (w == "skip") return OnCorrupt::skip;
  fail("on_corrupt", "expected stop or skip, got '" + w + "'");
}

VideoFormat detect_video_format(const std::string& root, const SplitList& split) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec))
    fail(root, "expected the data root folder, found none", "check data_root");
  int folders = 0, files = 0;
  std::string folder_ex, file_ex, none_ex;
  for (size_t v = 0; v < split.videos.size() && v < 16; ++v) {
    const std::string rel = strip_video_extension(split.videos[v].path);
    const std::string dir = root + "/" + rel;
    const std::string file = find_video_file(root, split.videos[v].path);
    if (std::filesystem::is_directory(dir, ec)) ++folders, folder_ex = dir;
    else if (!file.empty()) ++files, file_ex = file;
    else if (none_ex.empty()) none_ex = dir;
  }
  if (folders > 0 && files == 0) return VideoFormat::frames;
  if (files > 0 && folders == 0) return VideoFormat::video;
  if (folders > 0)
    fail(root, "expected either frame folders or video files, found both (" + folder_ex + "/ and " +
                   file_ex + ")", "set video_format = frames or video explicitly");
  fail(root, "expected the listed videos as frame folders or video files, found neither (no " + none_ex +
                 "/ and no " + none_ex + ".{avi,mp4,mkv,webm,...})",
       "data_root must hold <class>/<video>/ or <class>/<video>.<ext> as the split file lists them");
}

std::shared_ptr<VideoSource> open_source(const SplitList& split, const SourceConfig& c) {
  const VideoFormat f = c.format == VideoFormat::auto_detect ? detect_video_format(c.root, split) : c.format;
  if (f == VideoFormat::frames) {
    FrameFolderConfig fc;
    fc.root = c.root;
    fc.frame_pattern = c.frame_pattern;
    fc.short_side = c.short_side;
    fc.on_corrupt = c.on_corrupt;
    return std::make_shared<FrameFolderDataset>(split, fc);
  }
  VideoFileConfig vc;
  vc.root = c.root;
  vc.cache_dir = c.index_cache;
  vc.short_side = c.short_side;
  vc.on_corrupt = c.on_corrupt;
  return open_video_files(split, vc);
}

}  // namespace vd::data
