// vididi/cli/cli.cpp: subcommand dispatch, top-level help, and the one place
// where errors become a single line on stderr and exit code 1.
#include "vididi/cli/cli.h"

#include <exception>

#include "dist/launch.h"
#include "vididi/config/parallel.h"

namespace vd::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"pretrain", "self-supervised pretraining (ViDiDi or the plain framework) of an encoder", cmd_pretrain},
      {"retrieve", "video retrieval R@1/5/10/20/50: test videos query the train videos", cmd_retrieve},
      {"linear", "linear probe on frozen features: clip and video top-1", cmd_linear},
      {"finetune", "fine-tune the whole encoder with a classifier: video top-1", cmd_finetune},
      {"detect", "action detection: RoIAlign head on keyframe clips, frame-mAP@0.5 and video-mAP@0.2/0.5", cmd_detect},
      {"features", "dense features along time (a clip every S frames) as per-video .npy files for temporal localisation", cmd_features},
      {"experiment", "a grid of settings x seeds: means, 95% intervals, paired differences (report, CSV, PNG)", cmd_experiment},
      {"export", "write an encoder as .safetensors in torchvision's layout (PyTorch loads it in one line)", cmd_export},
      {"bench", "time one training step: step ms, clips/s, peak memory", cmd_bench},
      {"show", "write the derivative picture (frames, 1st and 2nd differences) of one clip", cmd_show},
      {"verify", "scan a dataset: counts per split, unreadable, short and repeated-frame videos; a quarantine list", cmd_verify},
      {"synth", "export the synthetic dynamics dataset as frame folders with split files", cmd_synth},
      {"info", "devices, versions, build settings, encoder parameters and FLOPs", cmd_info},
      {"demo", "the `make run` job: synthetic data, pretrain, retrieval of three encoders", cmd_demo},
  };
  return table;
}

namespace {
void top_help(std::ostream& out) {
  out << "usage: vididi <command> [--config FILE] [--key value ...]\n"
         "ViDiDi: video self-supervised learning with temporal derivatives as views.\n\ncommands:\n";
  for (const auto& c : commands()) {
    std::string n = c.name;
    out << "  " << n << std::string(12 - n.size(), ' ') << c.summary << "\n";
  }
  out << "\n`vididi <command> --help` lists the command's keys (also in docs/CONFIG.md).\n";
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}
}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    top_help(out);
    return args.empty() ? 1 : 0;
  }
  const Command* cmd = nullptr;
  for (const auto& c : commands())
    if (args[0] == c.name) cmd = &c;
  if (!cmd) {
    err << "vididi: error: unknown command '" << args[0] << "'; run `vididi --help` for the list\n";
    return 1;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  // In a multi-process run each rank says who it is; a refusal that rank 0
  // decided for all (vididi::RootDecision) is printed by rank 0 alone.
  dist::LaunchInfo launch;
  try {
    launch = dist::launch_from_environment();
  } catch (const UsageError&) {  // refused again, with its message, by the command that starts the ranks
  }
  const std::string who = "vididi " + std::string(cmd->name) +
                          (launch.world_size > 1 ? " (rank " + std::to_string(launch.rank) + " of " +
                                                       std::to_string(launch.world_size) + ")"
                                                 : std::string()) +
                          ": error: ";
  try {
    return cmd->run(rest, out);
  } catch (const vididi::RootDecision& e) {
    out.flush();
    if (launch.rank == 0) err << who << one_line(e.what()) << "\n";
    return 1;
  } catch (const UsageError& e) {  // the user's mistake: the message names the input
    out.flush();
    err << who << one_line(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {  // an internal error: vd::Error carries file:line
    out.flush();
    err << who << one_line(e.what()) << "\n";
    return 1;
  } catch (...) {
    err << who << "unknown exception\n";
    return 1;
  }
}

}  // namespace vd::cli
