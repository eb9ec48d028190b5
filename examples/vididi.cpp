// examples/vididi.cpp: the `vididi` command-line tool (build/vididi). All of
// its logic is in vididi/cli/ so that tests can call it in-process; this is
// only main(). Run `build/vididi --help`.
#include <iostream>

#include "vididi/cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return vd::cli::run(args, std::cout, std::cerr);
}
