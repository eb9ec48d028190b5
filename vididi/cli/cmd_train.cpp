// vididi/cli/cmd_train.cpp: `pretrain`, `bench` and `demo`, the subcommands
// that run the ViDiDi trainer (vididi/trainer.h).
#include "vididi/cli/cli.h"

namespace vd::cli {

namespace {
[[noreturn]] void not_yet(const char* what) {
  throw UsageError(std::string(what) + " is not available in this build yet (it needs the trainer)");
}
}  // namespace

int cmd_pretrain(const std::vector<std::string>&, std::ostream&) { not_yet("pretrain"); }
int cmd_bench(const std::vector<std::string>&, std::ostream&) { not_yet("bench"); }
int cmd_demo(const std::vector<std::string>&, std::ostream&) { not_yet("demo"); }

}  // namespace vd::cli
