// The servers a test runs in the background (pebble, pebble-challtestsrv, `openssl ocsp`,
// Apache in the foreground): started as children of the test process, so that ctest ending a
// test binary for its timeout ends them too (it ends the whole process tree), and with
// SIGTERM as their parent-death signal, so that a test binary killed otherwise does not leave
// them running. Each gets a process group of its own: prefork Apache signals its whole group
// when it shuts down, which must not reach the test process.
// Not here: readiness checks (each fixture knows what "up" means for its server).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace mda::test {

/// Starts argv (argv[0] searched on PATH) with `extra_env` ("NAME=value") added to the
/// environment, stdin from /dev/null, stdout and stderr appended to `log_path`; returns its
/// PID. Throws std::runtime_error when the log file or the fork fails (an exec failure shows
/// as exit code 127).
pid_t spawn_child(const std::vector<std::string>& argv, const std::string& log_path,
                  const std::vector<std::string>& extra_env = {});

/// SIGTERM, up to `grace` for it to end, then SIGKILL; reaps it and sets `pid` to -1. A `pid`
/// <= 0 is left alone.
void stop_child(pid_t& pid, std::chrono::milliseconds grace);

/// True once the child has ended (it is reaped then and `pid` set to -1).
bool child_ended(pid_t& pid);

} // namespace mda::test
