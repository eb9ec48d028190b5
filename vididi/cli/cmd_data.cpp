// vididi/cli/cmd_data.cpp: the data subcommands. `synth` exports the
// synthetic dynamics dataset as UCF101-style frame folders with split files;
// `show` writes the derivative picture of one clip (data/derivative_picture.h).
#include <algorithm>
#include <numeric>

#include "data/derivative_picture.h"
#include "data/synthetic.h"
#include "vididi/cli/cli.h"

namespace vd::cli {

int cmd_synth(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  s.add("out", "", "folder to write (created): <Class>/<video>/img_00001.jpg, classInd.txt, trainlist01.txt, testlist01.txt", KeyType::Path);
  s.add("size", "64", "frame height and width", KeyType::Int);
  s.add("frames", "32", "frames per video", KeyType::Int);
  s.add("train_per_class", "100", "train videos per class", KeyType::Int);
  s.add("test_per_class", "20", "test videos per class", KeyType::Int);
  s.add("seed", "0", "seed of the generated videos", KeyType::Int);
  s.add("texture", "1", "scale of the background texture's contrast (the synth_texture key of the other commands)",
        KeyType::Float);
  s.add("jpeg_quality", "95", "JPEG quality 1..100", KeyType::Int);
  const char* summary = "Export the synthetic dynamics dataset (docs/DATA.md) as frame folders.";
  if (parse_or_help(s, args, "synth", summary, out)) return 0;
  if (s.str("out").empty()) throw UsageError("synth needs --out FOLDER");
  for (const char* k : {"size", "frames", "train_per_class", "test_per_class"})
    if (s.integer(k) < (std::string(k) == "frames" ? 3 : 1))
      throw UsageError(std::string("bad value for '") + k + "': expected a positive count, got " + s.str(k));
  int q = int(s.integer("jpeg_quality"));
  if (q < 1 || q > 100) throw UsageError("bad value for 'jpeg_quality': expected 1..100, got " + s.str("jpeg_quality"));
  data::SyntheticConfig train, test;
  train.height = train.width = int(s.integer("size"));
  train.frames = int(s.integer("frames"));
  train.seed = uint64_t(s.integer("seed"));
  train.texture = float(s.real("texture"));
  if (!(train.texture >= 0)) throw UsageError("bad value for 'texture': expected >= 0, got " + s.str("texture"));
  test = train;
  train.videos_per_class = int(s.integer("train_per_class"));
  test.videos_per_class = int(s.integer("test_per_class"));
  train.subset = data::Subset::train;
  test.subset = data::Subset::test;
  make_dirs(s.str("out"));
  size_t frames = data::export_synthetic(train, test, s.str("out"), q);
  out << "wrote " << frames << " frames of "
      << (train.videos_per_class + test.videos_per_class) * data::SyntheticDynamics::motion_classes().size()
      << " videos to " << s.str("out") << " (use --dataset ucf101 --data_root " << s.str("out") << ")\n";
  return 0;
}

int cmd_show(const std::vector<std::string>& args, std::ostream& out) {
  Settings s;
  add_dataset_keys(s);
  s.add("subset", "train", "which split to take the video from", KeyType::Choice, {"train", "test"});
  s.add("video", "0", "video index within the split", KeyType::Int);
  s.add("start", "0", "first frame of the clip", KeyType::Int);
  s.add("frames", "8", "frames shown (columns)", KeyType::Int);
  s.add("gain", "2", "brightness gain of the difference rows", KeyType::Float);
  s.add("out", "derivatives.png", "PNG file to write", KeyType::Path);
  const char* summary =
      "Write one clip's frames with its 1st and 2nd temporal differences underneath (a PNG).";
  if (parse_or_help(s, args, "show", summary, out)) return 0;
  auto source = open_dataset(s, s.str("subset") == "train" ? data::Subset::train : data::Subset::test);
  const int64_t v = s.integer("video");
  if (v < 0 || v >= int64_t(source->size()))
    throw UsageError("bad value for 'video': expected 0.." + std::to_string(int64_t(source->size()) - 1) +
                     ", got " + std::to_string(v));
  const int n = int(s.integer("frames"));
  if (n < 3) throw UsageError("bad value for 'frames': expected >= 3 (a 2nd difference needs 3 frames), got " + s.str("frames"));
  const int start = int(s.integer("start"));
  const int nf = source->num_frames(size_t(v));
  if (start < 0 || start >= nf)
    throw UsageError("bad value for 'start': expected 0.." + std::to_string(nf - 1) + ", got " + s.str("start"));
  // n columns need n + 2 frames (the 2nd difference of column t uses t + 2).
  std::vector<int> idx(static_cast<size_t>(n + 2));
  for (int i = 0; i < n + 2; ++i) idx[size_t(i)] = std::min(start + i, nf - 1);
  data::Clip clip = source->load(size_t(v), idx);
  data::DerivativePictureOptions po;
  po.max_frames = n;
  po.gain = float(s.real("gain"));
  data::write_derivative_png(clip, s.str("out"), po);
  out << "wrote " << s.str("out") << ": " << source->name(size_t(v)) << " (class "
      << source->class_names()[size_t(source->label(size_t(v)))] << "), frames " << start << ".."
      << start + n - 1 << "; rows: frames, 1st differences, 2nd differences\n";
  return 0;
}

}  // namespace vd::cli
