// vididi/cli/datasets.h: the dataset keys every command that reads videos
// shares (which dataset, where, which split, the synthetic set's sizes), as
// one struct with its key table, and opening a split of it as a VideoSource.
// Not here: the datasets themselves (data/).
#pragma once
#include <memory>
#include <string>

#include "data/source.h"
#include "data/splits.h"
#include "data/synthetic.h"
#include "vididi/config/settings.h"

namespace vd::cli {

struct DatasetSpec {
  std::string dataset = "synthetic";  // synthetic | ucf101 | hmdb51 | list
  std::string data_root, split_dir, train_list, test_list;
  int64_t split = 1;
  int64_t short_side = 0;
  std::string on_corrupt = "stop";
  std::string video_format = "auto";  // frames | video | auto (data/open_source.h)
  std::string index_cache;            // video files: "" = ROOT/.vididi_index, "none" = memory only
  std::string quarantine;             // a file of <class>/<video> lines to leave out (vididi verify writes one)
  int64_t synth_size = 64, synth_frames = 32, synth_train_per_class = 100, synth_test_per_class = 20;
  uint64_t synth_seed = 0;
  double synth_texture = 1;
};

void dataset_keys(config::Settings& s, DatasetSpec& d);
// The videos the split files list for `subset` (not for synthetic), less
// those in the quarantine file; says on `out` how many were left out.
data::SplitList read_split(const DatasetSpec& d, data::Subset subset, std::ostream* out = nullptr);
// The split `subset` of the dataset; says on `out` what it loads when that
// can take a while (frame folders are listed and checked).
// The synthetic set of `subset` as a spec's synth_* keys say (a DatasetSpec,
// or detect's DetectDataSpec, which has the same keys).
template <class Spec>
data::SyntheticConfig synthetic_config(const Spec& d, data::Subset subset) {
  data::SyntheticConfig c;
  c.height = c.width = int(d.synth_size);
  c.frames = int(d.synth_frames);
  c.videos_per_class = int(subset == data::Subset::train ? d.synth_train_per_class : d.synth_test_per_class);
  c.seed = d.synth_seed;
  c.texture = float(d.synth_texture);
  c.subset = subset;
  return c;
}

std::shared_ptr<const data::VideoSource> open_dataset(const DatasetSpec& d, data::Subset subset,
                                                      std::ostream* out = nullptr);
std::string dataset_description(const DatasetSpec& d);  // "synthetic dynamics 64x64, ..." or the root

}  // namespace vd::cli
