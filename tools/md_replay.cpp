// md-replay: replays the job.json logs of mod_md and mdactor as timelines, draws them as SVG,
// and explains the renewal decision for a store at a given time. See tools/replay/cli.hpp
// and `md-replay --help`.
#include <iostream>
#include <string>
#include <vector>

#include "core/timefmt.hpp"
#include "tools/replay/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return mda::replay::run_cli(args, std::cout, std::cerr, mda::sys_clock::now());
}
