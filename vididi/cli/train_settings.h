// vididi/cli/train_settings.h: the command line's view of the pretraining
// configuration. Every training key of `pretrain`, `bench` and `demo` comes
// from vididi::TrainConfig::keys() (vididi/config.h), the one table of their
// names, defaults, types and help; this file declares them in a Settings,
// reads them back into a TrainConfig, and writes a pretraining run's
// report.md. Not here: the training loop (vididi/trainer.h) or the
// subcommands themselves (cmd_train.cpp, cmd_demo.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vididi/cli/report.h"
#include "vididi/cli/settings.h"
#include "vididi/config.h"
#include "vididi/trainer.h"

namespace vd::cli {

// Declares every TrainConfig key except those in `skip`, typed as TrainConfig
// says, with TrainConfig's default and help.
void add_train_keys(Settings& s, const std::vector<std::string>& skip = {});

// Declares the one TrainConfig key `name` as add_train_keys would (for a
// command that shares a key with pretraining, e.g. `blocks` in the
// evaluation commands).
void add_train_key(Settings& s, const std::string& name);

// VideoResNet blocks per stage from the `blocks` key, checked by
// TrainConfig::block_counts(); a bad value is a UsageError naming the key.
std::vector<int64_t> block_counts(const Settings& s);

// The keys `vididi pretrain` accepts: the dataset keys, then every TrainConfig key.
Settings pretrain_settings();

// A TrainConfig from the training keys `s` declares (the others keep
// TrainConfig's defaults), checked with TrainConfig::validate(source); a bad
// value becomes a UsageError naming the key and where it came from.
vididi::TrainConfig train_config(const Settings& s, const data::VideoSource* source = nullptr);

// The settings of one pretraining run as `vididi pretrain` would hold them:
// the values of `s` for the keys pretrain knows, the training keys from `c`.
// Its as_config_file() is the run's config.txt, so that
// `vididi pretrain --config <run>/config.txt` repeats the run (and, with
// --resume auto, continues it).
Settings pretrain_settings_of(const Settings& s, const vididi::TrainConfig& c);

// "loss 23.4 -> 18.0 (mean of the first / last 10 of 120 steps)", per the
// whole run's metrics (a resumed run included).
std::string loss_summary(const std::vector<vididi::StepRecord>& records);

// Writes <run out>/report.md for a finished Trainer::run: results (steps,
// loss per pair, time, clips/s, checkpoint), loss.png, configuration,
// versions. `run` as from pretrain_settings_of. Returns the report's path.
std::string write_pretrain_report(const Settings& run, const vididi::TrainResult& r, const std::string& command,
                                  const std::string& dataset, const std::string& device);

}  // namespace vd::cli
