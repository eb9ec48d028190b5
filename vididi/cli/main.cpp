// vididi/cli/main.cpp: main() of the `vididi` command-line tool
// (build/vididi). All of its logic is in vididi/cli/cli.cpp and the cmd_*.cpp
// files, so that tests can run it in-process. Run `build/vididi --help`.
#include <iostream>

#include "vididi/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return vd::cli::run(args, std::cout, std::cerr);
}
