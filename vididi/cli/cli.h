// vididi/cli/cli.h: the entry point of the `vididi` command, callable
// in-process (tests pass argv arrays). run() dispatches to a subcommand,
// prints `--help`, and turns every error into one line "vididi: error: ..."
// on `err` with exit code 1. vididi/cli/main.cpp is only main() around it.
// Not here: the commands themselves (cmd_*.cpp) and what they share (common.h).
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "vididi/cli/common.h"

namespace vd::cli {

// args: the command line without the program name, e.g. {"retrieve", "--k", "5"}.
// Returns the exit code: 0 on success, 1 on any error.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The subcommand table, in the order --help lists it.
const std::vector<Command>& commands();

// Subcommands (vididi/cli/cmd_*.cpp).
int cmd_pretrain(const std::vector<std::string>& args, std::ostream& out);
int cmd_retrieve(const std::vector<std::string>& args, std::ostream& out);
int cmd_linear(const std::vector<std::string>& args, std::ostream& out);
int cmd_finetune(const std::vector<std::string>& args, std::ostream& out);
int cmd_detect(const std::vector<std::string>& args, std::ostream& out);
int cmd_features(const std::vector<std::string>& args, std::ostream& out);
int cmd_experiment(const std::vector<std::string>& args, std::ostream& out);
int cmd_export(const std::vector<std::string>& args, std::ostream& out);
int cmd_bench(const std::vector<std::string>& args, std::ostream& out);
int cmd_show(const std::vector<std::string>& args, std::ostream& out);
int cmd_verify(const std::vector<std::string>& args, std::ostream& out);
int cmd_synth(const std::vector<std::string>& args, std::ostream& out);
int cmd_info(const std::vector<std::string>& args, std::ostream& out);
int cmd_demo(const std::vector<std::string>& args, std::ostream& out);

}  // namespace vd::cli
