// The launcher: a small process beside the unprivileged engine that runs the programs of
// MDMessageCmd, MDNotifyCmd and MDChallengeDns01 for it (docs/process-model.md).
//
// The engine may not execve (no-new-privileges and its seccomp filter), yet an admin's
// program must run as it does under mod_md: as the User, free to call sudo. So before the
// engine confines itself it forks the launcher, which keeps none of the engine's
// restrictions and does one thing:
// - Requests come over a private socket pair (SOCK_SEQPACKET), one message per program: a
//   JSON object {"argv": [...], "timeout-ms", "kill-grace-ms", "max-output"} with a socket
//   passed along (SCM_RIGHTS) on which the launcher writes the JSON answer and closes:
//   {"ok": true, "exit-code", "term-signal", "timed-out", "out", "err", "elapsed-ms"} or
//   {"ok": false, "code", "message"} (the process_errc of run_process).
// - Only the configured programs run: argv[0] must be one of the absolute paths it was given
//   at its start, else the answer is process_errc::bad_command naming the program. The
//   arguments are the engine's (MD names, event names, domains, tokens).
// - Each request runs on its own thread (run_process_here), so a hanging script does not
//   hold back the others; output is capped as run_process caps it.
// - The engine's end closes the socket pair: the launcher then terminates what still runs
//   (terminate_running_processes) and exits. Its name (comm) is "md-launcher". Before it
//   serves, it calls `forget` (the caller wipes the secrets the fork copied into it).
// In the engine, start_launcher sets the process runner (core/process.hpp), so every
// run_process call goes to the launcher; if the launcher is gone, the call fails with
// process_errc::spawn ("the launcher process is gone") and `lost` is told (the engine then
// ends, to be started again with a new launcher: a confined process cannot make one).
// Not here: which programs are configured (the caller), splitting command lines.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "core/error.hpp"
#include "core/process.hpp"

namespace mda {

struct launcher_handle {
  pid_t pid = -1;
};

/// Forks the launcher (see above) allowed to run `programs`; in the calling process the
/// process runner goes to it from now on. Call while the process has one thread.
expected<launcher_handle> start_launcher(std::vector<std::string> programs,
                                         const std::function<void()>& forget = {},
                                         std::function<void()> lost = {});

/// Serialisation of one request and one answer (exposed for tests).
std::string launcher_request_json(const std::vector<std::string>& argv, const process_options& opts);
std::string launcher_answer_json(const expected<process_result>& r);
expected<process_result> launcher_answer_from_json(const std::string& text);

} // namespace mda
