// data/splits.h: readers for the official split files that say which videos
// are train and test and what their classes are: UCF101 (classInd.txt,
// trainlist0N.txt, testlist0N.txt), HMDB51 (<class>_test_splitN.txt) and
// Kinetics-style lists (the official CSV, or one "<class>/<video>" per line).
// They only parse and validate text; finding frames on disk is
// data/frame_folder.h. Malformed lines throw DataError with "file:line".
#pragma once

#include <string>
#include <vector>

namespace vd::data {

enum class Subset { train, test };

struct VideoEntry {
  std::string path;  // relative to the frame root: "<class>/<video>", no extension
  int label = 0;     // 0-based index into SplitList::classes
};

struct SplitList {
  std::vector<std::string> classes;  // class folder names, index = label
  std::vector<VideoEntry> videos;    // in file order
};

// classInd.txt: lines "<1-based index> <ClassName>", indices 1..N in order.
std::vector<std::string> read_ucf101_classes(const std::string& class_ind_path);

// UCF101 split `split` (1..3) from the folder holding classInd.txt,
// trainlist0N.txt ("<Class>/<video>.avi <1-based label>") and testlist0N.txt
// ("<Class>/<video>.avi"). The class folder must agree with the label.
SplitList read_ucf101_split(const std::string& split_dir, int split, Subset subset);

// HMDB51 split `split` (1..3) from the folder holding the 51 files
// "<class>_test_splitN.txt" with lines "<video>.avi <0|1|2>" (1 = train,
// 2 = test, 0 = unused). Classes are the sorted class names.
SplitList read_hmdb51_split(const std::string& split_dir, int split, Subset subset);

// Kinetics-style list. Either the official CSV (header
// "label,youtube_id,time_start,time_end,split[,...]"; video folder
// "<label>/<youtube_id>_<start:06>_<end:06>") or plain lines
// "<class>/<video>[.ext] [ignored fields]" whose label is the class folder.
// `classes` fixes the label order (pass the train list's classes when reading
// the validation list); empty = the sorted classes found in the file.
SplitList read_video_list(const std::string& list_path, std::vector<std::string> classes = {});

// Strips a known video extension (.avi .mp4 .mkv .webm .mov .m4v .mpg .mpeg)
// from a path; other names are returned unchanged.
std::string strip_video_extension(const std::string& path);

}  // namespace vd::data
