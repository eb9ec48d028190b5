// vididi/cli/cmd_data.cpp: the data subcommands. `synth` exports the
// synthetic dynamics dataset as UCF101-style frame folders with split files;
// `show` writes the derivative picture of one clip (data/derivative_picture.h).
#include <algorithm>
#include <numeric>

#include "data/derivative_picture.h"
#include "data/synthetic.h"
#include "vididi/cli/cli.h"
#include "vididi/files.h"

namespace vd::cli {

int cmd_synth(const std::vector<std::string>& args, std::ostream& out) {
  data::SyntheticConfig train;
  train.height = 64, train.frames = 32, train.videos_per_class = 100, train.seed = 0, train.texture = 1;
  int test_per_class = 20, jpeg_quality = 95;
  std::string dir;
  double texture = train.texture;
  Settings s;
  s.add("out", dir, "folder to write (created): <Class>/<video>/img_00001.jpg, classInd.txt, trainlist01.txt, testlist01.txt")
      .path();
  s.add("size", train.height, "frame height and width").range(8, 1024);
  s.add("frames", train.frames, "frames per video").range(3, 4096);
  s.add("train_per_class", train.videos_per_class, "train videos per class").range(1, 1e6);
  s.add("test_per_class", test_per_class, "test videos per class").range(1, 1e6);
  s.add("seed", train.seed, "seed of the generated videos");
  s.add("texture", texture, "scale of the background texture's contrast (the synth_texture key of the other commands)")
      .range(0, 100);
  s.add("jpeg_quality", jpeg_quality, "JPEG quality").range(1, 100);
  const char* summary = "Export the synthetic dynamics dataset (docs/DATA.md) as frame folders.";
  if (parse_or_help(s, args, "synth", summary, out)) return 0;
  if (dir.empty()) throw UsageError("synth needs --out FOLDER", "out");
  train.width = train.height;
  train.texture = float(texture);
  train.subset = data::Subset::train;
  data::SyntheticConfig test = train;
  test.videos_per_class = test_per_class;
  test.subset = data::Subset::test;
  vididi::make_dirs(dir);
  size_t frames = data::export_synthetic(train, test, dir, jpeg_quality);
  out << "wrote " << frames << " frames of "
      << (train.videos_per_class + test.videos_per_class) * data::SyntheticDynamics::motion_classes().size()
      << " videos to " << dir << " (use --dataset ucf101 --data_root " << dir << ")\n";
  return 0;
}

int cmd_show(const std::vector<std::string>& args, std::ostream& out) {
  DatasetSpec d;
  std::string subset = "train", file = "derivatives.png";
  int64_t video = 0, start = 0, frames = 8;
  double gain = 2;
  Settings s;
  dataset_keys(s, d);
  s.add("subset", subset, "which split to take the video from").choices({"train", "test"});
  s.add("video", video, "video index within the split").range(0, 1e9);
  s.add("start", start, "first frame of the clip").range(0, 1e9);
  s.add("frames", frames, "frames shown (columns; a 2nd difference needs 3 frames)").range(3, 1000);
  s.add("gain", gain, "brightness gain of the difference rows").range(0, 1000);
  s.add("out", file, "PNG file to write").path();
  const char* summary =
      "Write one clip's frames with its 1st and 2nd temporal differences underneath (a PNG).";
  if (parse_or_help(s, args, "show", summary, out)) return 0;
  auto source = open_dataset(d, subset == "train" ? data::Subset::train : data::Subset::test, &out);
  if (video >= int64_t(source->size()))
    throw UsageError("bad value for 'video': expected 0.." + std::to_string(int64_t(source->size()) - 1) + ", got " +
                         std::to_string(video), "video");
  const int nf = source->num_frames(size_t(video));
  if (start >= nf)
    throw UsageError("bad value for 'start': expected 0.." + std::to_string(nf - 1) + ", got " + std::to_string(start),
                     "start");
  // n columns need n + 2 frames (the 2nd difference of column t uses t + 2);
  // a video that ends sooner shows fewer columns, and the line says so.
  const int n = int(std::min<int64_t>(frames, nf - start - 2));
  if (n < 3)
    throw UsageError("start = " + std::to_string(start) + " leaves " + std::to_string(nf - start) + " of the video's " +
                         std::to_string(nf) + " frames; the picture's 3 columns need 5; hint: start <= " +
                         std::to_string(nf - 5),
                     "start");
  std::vector<int> idx(size_t(n + 2));
  std::iota(idx.begin(), idx.end(), int(start));
  data::Clip clip = source->load(size_t(video), idx);
  data::DerivativePictureOptions po;
  po.max_frames = n;
  po.gain = float(gain);
  data::write_derivative_png(clip, file, po);
  out << "wrote " << file << ": " << source->name(size_t(video)) << " (class "
      << source->class_names()[size_t(source->label(size_t(video)))] << "), frames " << start << ".."
      << start + n + 1 << " (" << n << " columns" << (n < frames ? ", fewer than the " + std::to_string(frames) +
      " asked: the video ends" : "") << "); rows: frames, 1st differences, 2nd differences\n";
  return 0;
}

}  // namespace vd::cli
