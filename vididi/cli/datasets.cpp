// vididi/cli/datasets.cpp: the dataset keys and opening a split (see datasets.h).
#include "vididi/cli/datasets.h"

#include <ostream>
#include <set>
#include <sstream>

#include "data/open_source.h"
#include "data/synthetic.h"
#include "vididi/files.h"

namespace vd::cli {

void dataset_keys(config::Settings& s, DatasetSpec& d) {
  s.add("dataset", d.dataset, "which dataset").choices({"synthetic", "ucf101", "hmdb51", "list"});
  s.add("data_root", d.data_root,
        "ROOT/<class>/<video>/img_00001.jpg frame folders or ROOT/<class>/<video>.avi|.mp4|.mkv|.webm video files "
        "(ucf101, hmdb51, list)").path();
  s.add("video_format", d.video_format,
        "frames (JPEG folders), video (decode the files directly with FFmpeg) or auto (whichever data_root holds)")
      .choices({"frames", "video", "auto"});
  s.add("index_cache", d.index_cache,
        "video files: folder of the per-video frame indexes (empty = <data_root>/.vididi_index, none = not kept)")
      .path();
  s.add("quarantine", d.quarantine, "file of <class>/<video> lines to leave out (empty = none; vididi verify writes one)")
      .path();
  s.add("split_dir", d.split_dir, "folder of the split files (empty = data_root)").path();
  s.add("split", d.split, "official split number").range(1, 3);
  s.add("train_list", d.train_list, "dataset=list: train list file (<class>/<video> per line or Kinetics CSV)").path();
  s.add("test_list", d.test_list, "dataset=list: test list file").path();
  s.add("short_side", d.short_side, "resize frames so the short side is this (0 = as stored)").range(0, 4096);
  s.add("on_corrupt", d.on_corrupt, "an unreadable frame or video stops the run or is skipped with a warning")
      .choices({"stop", "skip"});
  s.add("synth_size", d.synth_size, "synthetic: frame height and width").range(8, 1024);
  s.add("synth_frames", d.synth_frames, "synthetic: frames per video").range(3, 4096);
  s.add("synth_train_per_class", d.synth_train_per_class, "synthetic: train videos per class").range(1, 1e6);
  s.add("synth_test_per_class", d.synth_test_per_class, "synthetic: test videos per class").range(1, 1e6);
  s.add("synth_seed", d.synth_seed, "synthetic: seed of the generated videos");
  s.add("synth_texture", d.synth_texture,
        "synthetic: scale of the background texture's contrast (1 = faint, 4 = as strong as the object)")
      .range(0, 100);
}

std::shared_ptr<const data::VideoSource> open_dataset(const DatasetSpec& d, data::Subset subset, std::ostream* out) {
  if (d.dataset == "synthetic") {
    return std::make_shared<data::SyntheticDynamics>(synthetic_config(d, subset));
  }
  const std::string& root = d.data_root;
  if (root.empty())
    throw UsageError("dataset = " + d.dataset + " needs --data_root (the folder of <class>/<video>/ frame folders)",
                     "data_root");
  if (!vididi::path_exists(root))
    throw UsageError("data_root '" + root + "' does not exist; hint: prepare frames with tools/ (see docs/DATA.md)",
                     "data_root", root);
  if (out)
    *out << "loading the " << (subset == data::Subset::train ? "train" : "test") << " split of "
         << dataset_description(d) << " (" << d.video_format
         << ": listing and checking frame folders, or indexing video files)\n" << std::flush;
  const data::SplitList list = read_split(d, subset, out);
  data::SourceConfig sc;
  sc.root = root;
  sc.format = data::parse_video_format(d.video_format);
  sc.short_side = int(d.short_side);
  sc.on_corrupt = data::parse_on_corrupt(d.on_corrupt);
  sc.index_cache = d.index_cache;
  return data::open_source(list, sc);
}

data::SplitList read_split(const DatasetSpec& d, data::Subset subset, std::ostream* out) {
  const std::string split_dir = d.split_dir.empty() ? d.data_root : d.split_dir;
  const char* name = subset == data::Subset::train ? "train" : "test";
  data::SplitList list;
  if (d.dataset == "ucf101") {
    list = data::read_ucf101_split(split_dir, int(d.split), subset);
  } else if (d.dataset == "hmdb51") {
    list = data::read_hmdb51_split(split_dir, int(d.split), subset);
  } else {
    const std::string& file = subset == data::Subset::train ? d.train_list : d.test_list;
    if (file.empty()) throw UsageError("dataset = list needs --" + std::string(name) + "_list", std::string(name) + "_list");
    std::vector<std::string> classes;
    if (subset == data::Subset::test && !d.train_list.empty()) classes = data::read_video_list(d.train_list).classes;
    list = data::read_video_list(file, classes);
  }
  if (d.quarantine.empty()) return list;
  if (!vididi::path_exists(d.quarantine) || vididi::is_directory(d.quarantine))
    throw UsageError("quarantine file '" + d.quarantine + "' does not exist or is a folder; hint: vididi verify --out DIR "
                     "writes DIR/quarantine.txt", "quarantine", d.quarantine);
  std::set<std::string> out_list;
  std::istringstream in(vididi::read_text(d.quarantine));
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') out_list.insert(line.substr(0, line.find(' ')));
  }
  const size_t before = list.videos.size();
  std::vector<data::VideoEntry> kept;
  for (const auto& v : list.videos)
    if (!out_list.count(v.path)) kept.push_back(v);
  list.videos = kept;
  if (out) *out << "  " << name << ": left out " << before - kept.size() << " of " << before << " videos listed in "
                << d.quarantine << "\n";
  return list;
}

std::string dataset_description(const DatasetSpec& d) {
  if (d.dataset != "synthetic") return d.dataset + " split " + std::to_string(d.split) + " at " + d.data_root;
  std::ostringstream os;
  os << "synthetic dynamics " << d.synth_size << "x" << d.synth_size << ", " << d.synth_frames << " frames, "
     << d.synth_train_per_class << "/" << d.synth_test_per_class << " train/test videos per class, texture "
     << d.synth_texture << ", seed " << d.synth_seed;
  return os.str();
}

}  // namespace vd::cli
