// vididi/cli/common.h: what the subcommands share beyond their key tables:
// the command record and --help, the evaluation encoder (built as its
// checkpoint's model card says), feature extraction of both splits, the end
// of an evaluation run directory, and the build description. Each command is
// in vididi/cli/cmd_*.cpp; the dispatcher is vididi/cli/cli.cpp. Not here:
// the key tables' mechanism (vididi/config/settings.h) or any training.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "vididi/cli/datasets.h"
#include "vididi/cli/report.h"
#include "vididi/config/settings.h"
#include "vididi/config/train_config.h"
#include "vididi/eval/features.h"
#include "vididi/eval/head_training.h"

namespace vd::models {
class Encoder;
}

namespace vd::cli {

using config::Settings;

// A subcommand: args exclude "vididi <name>"; normal output goes to `out`.
// Errors are thrown (vd::UsageError for the user's mistakes, vd::Error,
// data::DataError) and printed by run() as one line.
struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args, std::ostream& out);
};

// Applies config files and flags to `s`; on --help prints the usage and the
// key table, on --check (every key and value valid) says so, and returns
// true (the command then returns 0 without running).
bool parse_or_help(Settings& s, const std::vector<std::string>& args, const char* name, const char* summary,
                   std::ostream& out);

// --- the evaluation encoder ------------------------------------------------------------
struct EncoderInput {
  vididi::ModelSpec model;
  std::string checkpoint;  // run directory or checkpoint file; "" = random init
};
// encoder, width_divisor, blocks, checkpoint.
void encoder_keys(Settings& s, EncoderInput& e);

// The encoder of an evaluation on `device`, initialised from `seed`, with a
// classifier of `num_classes` when > 0. With a checkpoint, the model is the
// one its model card records: a key given by the user that contradicts it
// is refused naming both values, and the card's clip shape replaces the
// defaults of frames, stride and crop in `clip` (a given value is kept, and
// a line on `out` says it differs from training). Weights are then loaded
// strictly (every encoder tensor but the head, with its shape). A
// .safetensors checkpoint's card is its vididi.model.* / vididi.clip.*
// metadata.
std::shared_ptr<models::Encoder> build_encoder(const Settings& s, EncoderInput& e, vididi::ClipSpec& clip,
                                               Device device, uint64_t seed, int64_t num_classes,
                                               std::ostream& out);
// The checkpoint file a path names: itself, or for a folder the first of
// checkpoint.vdc (a pretrain run directory), encoder.ckpt, last.ckpt,
// checkpoint.ckpt, latest.ckpt, encoder.safetensors found in it. A
// .safetensors file holds an encoder in torchvision's layout (`vididi
// export`, or torchvision's own weights; docs/MODELS.md).
std::string resolve_checkpoint(const std::string& path);

// Train and test features of `encoder` (one progress line per split on
// `out`). With `recalibrate_bn`, the batch-norm statistics are first
// re-estimated on the train split's clips (eval::recalibrate_batch_norm).
std::pair<eval::VideoFeatures, eval::VideoFeatures> extract_splits(const DatasetSpec& d, nn::Module& encoder,
                                                                   const eval::ExtractOptions& o, std::ostream& out,
                                                                   bool recalibrate_bn = false);

// solver, epochs, schedule, patience, tolerance, probe_batch, optimizer, lr,
// weight_decay: the training of a head on cached features (linear, detect).
void head_train_keys(Settings& s, eval::HeadTrainOptions& t);

// Refuses to run under a launcher with a world size > 1 (the commands that
// have no data-parallel form: finetune, detect, features), naming the rank
// line and the ones that do.
void require_one_process(const std::string& command);

// --- run directories ---------------------------------------------------------------------
// "runs/<prefix>-<YYYYmmdd-HHMMSS>": the run directory when --out is not given.
std::string default_run_dir(const std::string& prefix);
// The end of an evaluation's run directory `dir`: <json_name> with `json`,
// config.txt (the resolved settings), report.md with `results` (markdown)
// and `images` (caption, PNG file in dir). Returns the report's path.
std::string write_eval_run(const std::string& dir, const Settings& s, const std::string& title, const std::string& command,
                           const std::string& json_name, const std::string& json, const std::string& results,
                           const std::vector<std::pair<std::string, std::string>>& images = {});

// "key: value" lines: vididi version, compiler, flags, CUDA build, BLAS, devices.
std::vector<std::pair<std::string, std::string>> build_info();

}  // namespace vd::cli
