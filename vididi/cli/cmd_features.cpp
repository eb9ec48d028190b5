// vididi/cli/cmd_features.cpp: `vididi features`, dense features along time
// for temporal action localisation (docs/PROTOCOLS.md "Dense features"):
// one clip every --feature_stride frames of every video of the chosen
// split(s) through the encoder, written as OUT/<video>.npy (float32 [n, D],
// numpy's format) with features.json (per video: its file, frames, rows,
// label) and report.md. Not here: the clips' definition
// (vididi/eval/dense_features.h) or the .npy writer (vididi/npy.h).
#include <set>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/config/device.h"
#include "vididi/eval/dense_features.h"
#include "vididi/files.h"
#include "vididi/models/encoder.h"
#include "vididi/npy.h"

namespace vd::cli {

int cmd_features(const std::vector<std::string>& args, std::ostream& out) {
  DatasetSpec d;
  EncoderInput enc;
  vididi::ClipSpec clip;
  std::string device = "auto", precision = "fp32", subset = "both", dir;
  int64_t feature_stride = 4, batch = 16;
  uint64_t seed = 0;
  Settings s;
  dataset_keys(s, d);
  encoder_keys(s, enc);
  vididi::device_keys(s, device, precision);
  vididi::clip_keys(s, clip, false);
  s.add("feature_stride", feature_stride, "S: frames between the starts of consecutive clips (one feature row each)")
      .range(1, 1 << 20);
  s.add("batch", batch, "clips per forward pass").range(1, 1 << 20);
  s.add("subset", subset, "which split's videos: train, test or both").choices({"train", "test", "both"});
  s.add("seed", seed, "seed of a random-init encoder");
  s.add("out", dir, "folder for <video>.npy, features.json and report.md (required)").path();
  const char* summary =
      "Dense features for temporal action localisation (docs/PROTOCOLS.md): per video, the encoder's pooled\n"
      "features of a clip every feature_stride frames, written as <video>.npy (float32 [n, D]) that numpy,\n"
      "ActionFormer and OpenTAD read; features.json lists them.";
  if (parse_or_help(s, args, "features", summary, out)) return 0;
  if (dir.empty()) throw UsageError("features needs --out (the folder of the .npy files)", "out");
  std::string note;
  eval::DenseOptions o;
  require_one_process("features");
  o.device = vididi::resolve_device(device, precision, &note);
  if (!note.empty()) out << note << "\n";
  std::vector<std::pair<std::string, std::shared_ptr<const data::VideoSource>>> splits;
  if (subset != "test") splits.emplace_back("train", open_dataset(d, data::Subset::train, &out));
  if (subset != "train") splits.emplace_back("test", open_dataset(d, data::Subset::test, &out));
  auto encoder = build_encoder(s, enc, clip, o.device, seed, 0, out);
  o.frames = int(clip.frames), o.stride = int(clip.stride), o.crop = int(clip.crop);
  o.feature_stride = int(feature_stride), o.batch = int(batch);
  vididi::make_dirs(dir);
  std::set<std::string> files;
  std::ostringstream js;
  js << "{\"feature_stride\": " << o.feature_stride << ", \"frames\": " << o.frames << ", \"stride\": " << o.stride
     << ", \"span\": " << (o.frames - 1) * o.stride + 1 << ", \"crop\": " << o.crop << ", \"dim\": "
     << encoder->feature_dim() << ", \"videos\": [";
  int64_t videos = 0, rows_total = 0;
  for (const auto& [name, src] : splits) {
    out << "  " << name << ": " << src->size() << " videos\n" << std::flush;
    for (size_t v = 0; v < src->size(); ++v) {
      std::string base = src->name(v);
      base = base.substr(base.find_last_of("/:") == std::string::npos ? 0 : base.find_last_of("/:") + 1);
      if (!files.insert(base).second)
        throw UsageError("two videos are named '" + base + "' (" + src->name(v) +
                         "); the .npy files are named by the video's folder name, which must be unique", "data_root");
      int64_t rows = 0;
      const std::vector<float> f = eval::dense_features(*encoder, *src, v, o, &rows);
      vididi::write_npy(dir + "/" + base + ".npy", f, rows, encoder->feature_dim());
      js << (videos ? ",\n  " : "\n  ") << "{\"name\": \"" << base << "\", \"file\": \"" << base << ".npy\", \"subset\": \""
         << name << "\", \"frames\": " << src->num_frames(v) << ", \"rows\": " << rows << ", \"label\": \""
         << src->class_names()[size_t(src->label(v))] << "\"}";
      ++videos, rows_total += rows;
    }
  }
  js << "\n]}\n";
  std::ostringstream results;
  results << videos << " videos, " << rows_total << " feature rows of dimension " << encoder->feature_dim()
          << " (a clip of " << o.frames << " frames at stride " << o.stride << " every " << o.feature_stride
          << " frames), in `<video>.npy`.\n";
  out << results.str()
      << "wrote " << write_eval_run(dir, s, "vididi features", command_line("features", args), "features.json", js.str(),
                                    results.str())
      << "\n";
  return 0;
}

}  // namespace vd::cli
