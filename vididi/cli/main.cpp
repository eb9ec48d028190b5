// vididi/cli/main.cpp: main() of the `vididi` command-line tool
// (build/vididi). All of its logic is in vididi/cli/cli.cpp and the cmd_*.cpp
// files, so that tests can run it in-process. Run `build/vididi --help`.
#include <iostream>

#include "dist/communicator.h"
#include "vididi/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const int code = vd::cli::run(args, std::cout, std::cerr);
  // A rank of a multi-process run that stops on an error (the line is
  // printed) ends the job at once instead of leaving the others waiting.
  int world = 1;
  try {
    world = vd::dist::launch_from_environment().world_size;
  } catch (const std::exception&) {
  }
  if (code != 0 && world > 1) {
    std::cout.flush();
    vd::dist::end_job(code);
  }
  return code;
}
