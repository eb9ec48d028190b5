// vididi/cli/cmd_verify.cpp: `vididi verify`: scans a dataset's train and
// test splits (frame folders or video files) before training: videos per
// split against the official counts, videos that could not be read, videos
// shorter than a clip, and runs of identical consecutive frames (what a
// frame extraction that repeats frames to fill a rate leaves: their first
// differences are exactly 0). Writes manifest.tsv (one row per video),
// quarantine.txt (the videos to leave out; the `quarantine` key of the other
// commands reads it) and verify.json. Not here: decoding (data/).
#include <chrono>
#include <cstring>
#include <sstream>

#include "data/frame_folder.h"
#include "data/sampling.h"
#include "data/video_file.h"
#include "vididi/cli/cli.h"
#include "vididi/files.h"

namespace vd::cli {

namespace {
// The official split sizes (UCF101: its split files; HMDB51: 70 train and
// 30 test videos per class and split). 0 = no official count.
std::pair<size_t, size_t> official(const DatasetSpec& d) {
  if (d.dataset == "ucf101") {
    const size_t train[] = {9537, 9586, 9624}, test[] = {3783, 3734, 3696};
    return {train[d.split - 1], test[d.split - 1]};
  }
  if (d.dataset == "hmdb51") return {3570, 1530};
  return {0, 0};
}

struct SplitScan {
  size_t listed = 0, opened = 0, short_videos = 0, duplicate_heavy = 0, corrupt_frames = 0;
  size_t frames = 0, duplicates = 0;
};
}  // namespace

int cmd_verify(const std::vector<std::string>& args, std::ostream& out) {
  DatasetSpec d;
  d.dataset = "ucf101";
  int64_t frames = 16, stride = 1, order = 2;
  double max_duplicates = 0.5;
  std::string dir;
  Settings s;
  dataset_keys(s, d);
  s.add("frames", frames, "T of the clips training will take (a video shorter than T + order frames is short)").range(1, 4096);
  s.add("stride", stride, "frame step within a clip").range(1, 1024);
  s.add("order", order, "the highest derivative order training will use (clips have T + order frames)").range(0, 2);
  s.add("max_duplicates", max_duplicates,
        "quarantine a video when this fraction of its frames repeat the frame before (0..1)").range(0, 1);
  s.add("out", dir, "folder for manifest.tsv, quarantine.txt and verify.json (empty = print only)").path();
  const char* summary =
      "Scan a dataset before training: videos per split against the official counts (UCF101 9,537/3,783 for\n"
      "split 1, HMDB51 3,570/1,530), unreadable videos, videos shorter than a clip, runs of identical frames;\n"
      "writes a manifest and a quarantine list that --quarantine FILE leaves out of training.";
  if (parse_or_help(s, args, "verify", summary, out)) return 0;
  if (d.dataset == "synthetic") throw UsageError("verify reads a dataset on disk; hint: --dataset ucf101 --data_root DIR", "dataset");
  const int span = data::clip_span(int(frames + order), int(stride));
  DatasetSpec opened = d;
  opened.on_corrupt = "skip";  // count what cannot be read instead of stopping at the first
  std::ostringstream manifest, quarantine;
  manifest << "split\tvideo\tclass\tframes\tshort\tduplicate_frames\n";
  quarantine << "# vididi verify: videos to leave out (--quarantine this file); the reason after '#'\n";
  const auto [train_official, test_official] = official(d);
  std::ostringstream json;
  json << "{\"dataset\": \"" << d.dataset << "\", \"split\": " << d.split << ", \"clip_frames\": " << span;
  auto t0 = std::chrono::steady_clock::now();
  for (const data::Subset subset : {data::Subset::train, data::Subset::test}) {
    const char* name = subset == data::Subset::train ? "train" : "test";
    SplitScan scan;
    scan.listed = read_split(d, subset).videos.size();
    auto src = open_dataset(opened, subset, &out);
    scan.opened = src->size();
    for (size_t v = 0; v < src->size(); ++v) {
      const int nf = src->num_frames(v);
      size_t dups = 0;
      std::vector<uint8_t> prev;
      for (int first = 0; first < nf; first += 64) {  // in chunks: a long video is not held at once
        std::vector<int> idx;
        for (int f = first; f < std::min(nf, first + 64); ++f) idx.push_back(f);
        const data::Clip c = src->load(v, idx);
        for (int t = 0; t < c.T; ++t) {
          const uint8_t* px = c.frame(t);
          if (!prev.empty() && std::memcmp(prev.data(), px, c.frame_size()) == 0) ++dups;
          prev.assign(px, px + c.frame_size());
        }
      }
      const bool is_short = nf < span, heavy = nf > 1 && double(dups) > max_duplicates * double(nf - 1);
      scan.frames += size_t(nf), scan.duplicates += dups;
      scan.short_videos += is_short, scan.duplicate_heavy += heavy;
      const std::string video = src->name(v), cls = src->class_names()[size_t(src->label(v))];
      manifest << name << "\t" << video << "\t" << cls << "\t" << nf << "\t" << (is_short ? 1 : 0) << "\t" << dups << "\n";
      // The quarantine names videos as the split files do: <class>/<video>.
      const std::string rel = cls + "/" + video.substr(video.find_last_of('/') + 1);
      const std::string stem = rel.substr(0, rel.find_last_of('.') > rel.find('/') ? rel.find_last_of('.') : rel.size());
      if (is_short) quarantine << stem << "  # " << nf << " frames, a clip spans " << span << "\n";
      else if (heavy) quarantine << stem << "  # " << dups << " of " << nf << " frames repeat the one before\n";
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if ((v + 1) % 100 == 0 || v + 1 == src->size())
        out << "  " << name << ": " << v + 1 << "/" << src->size() << " videos scanned (" << int(sec) << " s)\n" << std::flush;
    }
    if (auto* vf = dynamic_cast<const data::VideoFileDataset*>(src.get())) scan.corrupt_frames = vf->corrupt_frames();
    if (auto* ff = dynamic_cast<const data::FrameFolderDataset*>(src.get())) scan.corrupt_frames = ff->corrupt_frames();
    const size_t want = subset == data::Subset::train ? train_official : test_official;
    out << name << ": " << scan.listed << " listed" << (want ? " (official: " + std::to_string(want) + ")" : "")
        << ", " << scan.opened << " readable, " << scan.short_videos << " shorter than " << span << " frames, "
        << scan.duplicate_heavy << " with more than " << int(100 * max_duplicates) << "% repeated frames ("
        << scan.duplicates << " of " << scan.frames << " frames repeat the one before), " << scan.corrupt_frames
        << " unreadable frames\n";
    if (want && scan.listed != want)
      out << "warning: the " << name << " split lists " << scan.listed << " videos, the official split " << want
          << "; hint: check split_dir and split\n";
    json << ", \"" << name << "\": {\"listed\": " << scan.listed << ", \"official\": " << want << ", \"readable\": "
         << scan.opened << ", \"short\": " << scan.short_videos << ", \"duplicate_heavy\": " << scan.duplicate_heavy
         << ", \"frames\": " << scan.frames << ", \"repeated_frames\": " << scan.duplicates
         << ", \"unreadable_frames\": " << scan.corrupt_frames << "}";
  }
  json << "}\n";
  if (!dir.empty()) {
    vididi::make_dirs(dir);
    vididi::write_text(dir + "/manifest.tsv", manifest.str());
    vididi::write_text(dir + "/quarantine.txt", quarantine.str());
    vididi::write_text(dir + "/verify.json", json.str());
    out << "wrote " << dir << "/manifest.tsv, quarantine.txt (use --quarantine " << dir << "/quarantine.txt), verify.json\n";
  }
  return 0;
}

}  // namespace vd::cli
