// Delivering one event (core/events.hpp): the blocking part that runs the commands of an
// event plan (MDNotifyCmd, then MDMessageCmd) with the command timeout, and what the outcome
// leaves in the job log (reference §5.6; mod_md notify() in src/mod_md.c). No CAF: the
// domain actor (the MD's renewal job) and the OCSP responder actors (the owner's OCSP job:
// ocsp-renewed / ocsp-errored, rate limited against ocsp/<owner>/job.json) call it on a
// worker, and the parent calls it for the "installed" event (store/registry.hpp).
// Not here: the plan and rate limits (core/events.hpp), which pool runs the commands and when
// the job is saved (the callers).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/events.hpp"
#include "core/job.hpp"
#include "core/process.hpp"

namespace mda {

/// Runs one command line (argv[0] absolute) within the timeout; blocking.
using command_runner = std::function<expected<process_result>(const std::vector<std::string>& argv,
                                                               std::chrono::milliseconds timeout)>;

/// The default runner: core/process.hpp's run_process.
command_runner process_command_runner();

/// What running the commands of one event gave.
struct event_outcome {
  bool ok = true;
  bool notify_failed = false; ///< MDNotifyCmd failed (else MDMessageCmd, when !ok)
  result r;                   ///< mod_md's result of the failure (notify_failure / message_failure)
  std::string log_line;       ///< how the failed command ended and its stderr tail
};

/// Runs plan.notify_argv, then (when that succeeded) plan.message_argv; empty ones are skipped.
/// Blocking: call on a worker.
event_outcome run_event_commands(const command_runner& run, const event_commands& cmds,
                                 const event_plan& plan, std::chrono::milliseconds timeout);

/// What record_event left.
struct event_record {
  bool ok = true;
  std::string detail; ///< the failure's detail ("MDMessageCmd <cmd> failed with exit code 3.")
  std::string log;    ///< a line for the engine's log: detail plus how the command ended
};

/// Writes the outcome into the job's log as mod_md does: "message-<reason>" on success,
/// "notify-error" (MDNotifyCmd) or "message-error" with the reason (MDMessageCmd) on failure;
/// a failure also becomes the job's "last" result (mod_md's notify() writes it into the
/// result of the run that raised the event, which the job then saves).
/// `outcome` is an error when the job could not run at all (counted as a message failure).
event_record record_event(job& j, std::string_view reason, const expected<event_outcome>& outcome,
                          sys_time now);

} // namespace mda
