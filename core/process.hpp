// Running external programs as mod_md does (md_util_exec, reference §5.6): MDChallengeDns01,
// MDNotifyCmd, MDMessageCmd.
//
// - The program must be an absolute path: there is no PATH search (quirk 14). The environment
//   is inherited, stdin is /dev/null, stdout and stderr are captured (capped) for logging.
// - Beyond mod_md, which waits forever: an optional timeout. The child runs in its own process
//   group; when the time is up the group gets SIGTERM, then after a grace period SIGKILL, so a
//   hanging script and whatever it started are gone.
// - The child is started with posix_spawn (safe in threaded programs; exec failures such as a
//   missing file are reported); signal dispositions and the signal mask are reset.
// - A process that may not execve (the confined engine) sets a runner (set_process_runner):
//   run_process then hands each program to its launcher process (core/launcher.hpp).
// Not here: splitting a configured command line (tokenize_command_line, core/events.hpp),
// deciding what an exit status means (callers: dns01_command, the engine's events).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/error.hpp"

namespace mda {

/// What went wrong starting or running an external program.
enum class process_errc {
  ok = 0,
  bad_command = 1, ///< empty command line, or a program that is not an absolute path
  spawn = 2,        ///< pipe()/posix_spawn() failed (missing file, not executable...)
  failed = 3,       ///< the program exited non-zero or died of a signal
  timeout = 4,      ///< the program ran past its timeout and was killed
  wait = 5,         ///< waitpid() failed (e.g. SIGCHLD ignored by the host process)
};

const std::error_category& process_category() noexcept;
std::error_code make_error_code(process_errc e) noexcept;

struct process_options {
  /// 0 = wait without limit (mod_md's behaviour).
  std::chrono::milliseconds timeout{0};
  /// Between SIGTERM and SIGKILL to the process group after a timeout.
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
  /// Captured bytes kept per stream; more is read and dropped.
  std::size_t max_output = 64 * 1024;
};

struct process_result {
  int exit_code = -1;      ///< the exit status when the program exited, else -1
  int term_signal = 0;     ///< the signal that ended it, else 0
  bool timed_out = false; ///< killed because of the timeout
  std::string out;         ///< stdout, up to max_output bytes
  std::string err;         ///< stderr, up to max_output bytes
  std::chrono::milliseconds elapsed{0};

  bool success() const { return !timed_out && term_signal == 0 && exit_code == 0; }
  /// "exited with status 3", "was killed by signal 9", "did not finish within 500 ms and was
  /// killed", "exited with status 0".
  std::string describe(std::chrono::milliseconds timeout) const;
};

/// Runs argv (argv[0] an absolute path) and waits for it within the timeout. An error only
/// when the program could not be started or waited for (process_errc::bad_command, spawn,
/// wait); exit status, signal and timeout are in the result.
expected<process_result> run_process(const std::vector<std::string>& argv,
                                     const process_options& opts = {});

/// run_process in this process, whatever runner is set (the launcher's side).
expected<process_result> run_process_here(const std::vector<std::string>& argv,
                                          const process_options& opts = {});

/// Who runs programs for run_process; empty = this process. The unprivileged engine, which
/// may not execve, hands them to its launcher (core/launcher.hpp). `stop` is what
/// terminate_running_processes does then (the launcher ends its programs). Set before any
/// thread calls run_process.
using process_runner = std::function<expected<process_result>(const std::vector<std::string>&,
                                                              const process_options&)>;
void set_process_runner(process_runner runner, std::function<void()> stop);

/// For shutting down: with a runner set, asks it to end its programs and returns 0;
/// otherwise SIGTERM to the process group of every program a run_process call is
/// still waiting for, up to `grace` for them to end, then SIGKILL to the groups left. The
/// waiting calls return as usual (killed by a signal). Returns how many groups were signalled.
std::size_t terminate_running_processes(std::chrono::milliseconds grace);

/// The last non-empty lines of captured output, joined by " | ", at most `max` characters:
/// for error messages and log lines.
std::string output_tail(std::string_view text, std::size_t max = 400);

} // namespace mda

namespace std {
template <>
struct is_error_code_enum<mda::process_errc> : true_type {};
} // namespace std
