// The md-replay command line: argument parsing and the whole run as one function, so the
// program (tools/md_replay.cpp) is a one-liner and tests can run it in-process.
// Exit codes: 0 done; 1 an output file could not be written; 2 a usage error or bad input
// (missing file, corrupt JSON, unknown MD), with one "md-replay: ..." line on `err`.
// Not here: the timelines, the SVG and the explanations themselves (timeline.hpp, svg.hpp,
// explain.hpp).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "core/timefmt.hpp"

namespace mda::replay {

extern const char* const k_usage;

/// Runs md-replay with `args` (without the program name). `wall_now` is --explain's time
/// when --now is not given.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            sys_time wall_now);

} // namespace mda::replay
