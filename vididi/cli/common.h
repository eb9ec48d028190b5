// vididi/cli/common.h: pieces several subcommands share: the dataset keys and
// opening a split as a VideoSource, the device key, the encoder keys, run
// directories, and the build/version description. Each subcommand's own logic
// is in vididi/cli/cmd_*.cpp; the dispatcher is vididi/cli/cli.cpp.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "data/source.h"
#include "data/splits.h"
#include "vididi/cli/settings.h"
#include "vididi/eval/features.h"

namespace vd::models {
class Encoder;
}

namespace vd::cli {

// A subcommand: args exclude "vididi <name>"; normal output goes to `out`.
// Errors are thrown (UsageError, vd::Error, DataError) and printed by run().
struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args, std::ostream& out);
};

// Parses flags into `s`; on --help prints usage + keys and returns true (the
// subcommand then returns 0).
bool parse_or_help(Settings& s, const std::vector<std::string>& args, const char* name,
                   const char* summary, std::ostream& out);

// --- datasets ------------------------------------------------------------------
// dataset, data_root, split_dir, split, train_list, test_list, short_side,
// on_corrupt, synth_size, synth_frames, synth_train_per_class,
// synth_test_per_class, synth_seed.
void add_dataset_keys(Settings& s);
std::shared_ptr<const data::VideoSource> open_dataset(const Settings& s, data::Subset subset);
std::string dataset_description(const Settings& s);  // "synthetic 64x64x32" or the root

// --- device and precision: device (auto|cpu|cuda|cuda:N), precision -------------
void add_device_keys(Settings& s);
Device pick_device(const Settings& s);  // also applies the precision setting

// --- encoders: encoder, width_divisor, blocks (pretrain's key), checkpoint -----------
void add_encoder_keys(Settings& s);
// The encoder named by the settings, initialised from `seed`, with weights
// from `checkpoint` when given, on `device`.
std::shared_ptr<models::Encoder> build_encoder(const Settings& s, Device device, uint64_t seed,
                                               int64_t num_classes = 0);

// Copies encoder weights from a checkpoint file (layers/checkpoint.h) or a
// run directory (its checkpoint, see docs/CONFIG.md). Names may be the
// encoder's own or carry an "encoder." prefix (a whole pretraining model);
// every encoder tensor except the classification head must be present with
// its shape, and no other encoder tensor: a mismatch is a UsageError naming
// the tensors, with a hint at --encoder, --width_divisor and --blocks.
void load_encoder_checkpoint(models::Encoder& encoder, const std::string& path);
// The checkpoint file a path names: itself, or for a folder the first of
// checkpoint.vdc (a pretrain run directory), encoder.ckpt, last.ckpt,
// checkpoint.ckpt, latest.ckpt found in it.
std::string resolve_checkpoint(const std::string& path);

// --- evaluation clips: clips, frames, stride, crop, order, batch, workers ------------
void add_clip_keys(Settings& s, int default_frames = 16, int default_crop = 112);
eval::ExtractOptions extract_options(const Settings& s, Device device);
// Train and test features of `encoder` (datasets per the settings, clips per
// `o`), with a progress line per split on `out`. With `recalibrate_bn`, the
// encoder's batch-norm statistics are first re-estimated on the train split's
// clips (eval::recalibrate_batch_norm).
std::pair<eval::VideoFeatures, eval::VideoFeatures> extract_splits(
    const Settings& s, nn::Module& encoder, const eval::ExtractOptions& o, std::ostream& out,
    bool recalibrate_bn = false);

// --- run directories and versions ---------------------------------------------------
// "runs/<prefix>-<YYYYmmdd-HHMMSS>": the run directory when --out is not given.
std::string default_run_dir(const std::string& prefix);
// Creates `dir` (and parents); refuses a path that exists as a file.
void make_dirs(const std::string& dir);
bool path_exists(const std::string& path);
// Writes the resolved settings as a config file (config.txt) into dir.
void write_resolved_config(const Settings& s, const std::string& dir);
// "key: value" lines: vididi commit, compiler, flags, CUDA build, BLAS, devices.
std::vector<std::pair<std::string, std::string>> build_info();
void write_text(const std::string& path, const std::string& text);

}  // namespace vd::cli
