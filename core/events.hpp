// Events of a managed domain and what delivering one means, as pure functions (reference
// §5.6; mod_md src/md_event.c, notify() and notify_rates[] in src/mod_md.c, md_job_notify in
// src/md_status.c).
//
// - Reasons: renewing, challenge-setup:<type>:<dns>, renewed, expiring (raised: a failing
//   handler vetoes or fails the step), installed, errored, ocsp-renewed, ocsp-errored
//   (hollered: fire and forget).
// - Rate limits, checked against the newest "message-<reason>" entry of the job's log:
//   renewing 1 h, renewed 1 d, installed 1 d, expiring 1 d, errored 1 h, ocsp-renewed 1 d,
//   ocsp-errored 1 h; challenge-setup:* is not limited. A limited event counts as delivered.
// - Commands: MDNotifyCmd runs for "renewed" as "<cmd...> <mdname>", before MDMessageCmd; a
//   failure stops there. MDMessageCmd runs for every reason as "<cmd...> <reason> <mdname>".
//   The line is split as apr_tokenize_to_argv does (tokenize_command_line).
// - Failures become mod_md's results: problem "urn:org:apache:httpd:log:AH10108:" (notify)
//   or "...AH10109:" (message) — APLOGNO ends in ": ", but md_result_problem_printf removes
//   every blank from a problem (apr_collapse_spaces), so the URN ends in the colon — with
//   the detail "MDNotifyCmd <cmd> failed with exit code <n>." / "MDMessageCmd ...".
// Not here: starting processes, timeouts, reading their stderr (the engine's workers);
// errors and retry times after a failed notification (backoff.hpp).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/job.hpp"
#include "core/timefmt.hpp"

namespace mda {

namespace event_reason {
inline constexpr char renewing[] = "renewing";
inline constexpr char renewed[] = "renewed";
inline constexpr char installed[] = "installed";
inline constexpr char expiring[] = "expiring";
inline constexpr char errored[] = "errored";
inline constexpr char ocsp_renewed[] = "ocsp-renewed";
inline constexpr char ocsp_errored[] = "ocsp-errored";
inline constexpr char challenge_setup_prefix[] = "challenge-setup:";
} // namespace event_reason

/// "challenge-setup:<type>:<dns>", e.g. "challenge-setup:http-01:a.example".
std::string challenge_setup_reason(std::string_view type, std::string_view dns);

/// md_event_raise (the handler's failure counts) or md_event_holler (it does not).
enum class event_delivery { raise, holler };
/// raise for renewing, challenge-setup:*, renewed, expiring; holler for the others.
event_delivery delivery_of(std::string_view reason);
/// A raised event's failure vetoes ("renewing") or fails its step.
inline bool can_veto(std::string_view reason) { return delivery_of(reason) == event_delivery::raise; }

/// The minimum time between two deliveries of `reason` (notify_rates); 0 = not limited.
std::chrono::milliseconds rate_limit_of(std::string_view reason);

/// The job log entry a delivered event leaves: "message-<reason>".
std::string message_entry_type(std::string_view reason);

/// True when `reason` is limited and its newest message-<reason> entry is less than the
/// limit before `now` (an entry stamped after `now` counts as just now, as in mod_md).
bool rate_limited(const job& j, std::string_view reason, sys_time now);

/// apr_tokenize_to_argv: words split at blanks and tabs; a word starting with " or ' runs to
/// the matching quote (blanks included); a backslash before blank, tab, " or ' keeps that
/// character in the word; then every unescaped backslash is dropped ("a\\b" -> "a\b",
/// "a\b" -> "ab"). Empty quotes give an empty word; an unclosed quote runs to the end.
std::vector<std::string> tokenize_command_line(std::string_view line);

/// "<notify_cmd> <md>" tokenized.
std::vector<std::string> notify_argv(std::string_view notify_cmd, std::string_view md_name);
/// "<message_cmd> <reason> <md>" tokenized.
std::vector<std::string> message_argv(std::string_view message_cmd, std::string_view reason,
                                      std::string_view md_name);

/// MDNotifyCmd and MDMessageCmd as configured (the raw line); "" = not set.
struct event_commands {
  std::string notify_cmd;
  std::string message_cmd;
};

/// What delivering one event takes: nothing when rate limited, else the commands in order
/// (notify first, only for "renewed"), each empty when not configured.
struct event_plan {
  bool rate_limited = false;
  std::vector<std::string> notify_argv;
  std::vector<std::string> message_argv;
};
event_plan plan_event(const event_commands& cmds, std::string_view reason, std::string_view md_name,
                      const job& j, sys_time now);

inline constexpr char k_notify_cmd_problem[] = "urn:org:apache:httpd:log:AH10108:";
inline constexpr char k_message_cmd_problem[] = "urn:org:apache:httpd:log:AH10109:";
/// APR_EGENERAL: the status of a command that ran and exited non-zero.
inline constexpr int k_apr_egeneral = 20014;

/// The run result of a failed MDNotifyCmd: the problem above, detail
/// "MDNotifyCmd <cmd> failed with exit code <n>.". Log it with job::log_notify_error.
result notify_failure(std::string_view notify_cmd, int exit_code, int status = k_apr_egeneral);
/// The same for MDMessageCmd; log it with job::log_message_error(now, reason, r).
result message_failure(std::string_view message_cmd, int exit_code, int status = k_apr_egeneral);

/// md_job_notify after a successful (or rate-limited) delivery: notified, and for "renewed"
/// notified_renewed. The "message-<reason>" entry is job::log_message's (not when limited).
void mark_notified(job& j, std::string_view reason);

/// AH10060: "<md>: event-handler for 'renewing' returned <status>, preventing renewal to proceed."
std::string renewing_vetoed_text(std::string_view md_name, int status);
/// AH10059: "The Managed Domain <md> has been setup and changes will be activated on next
/// (graceful) server restart."
std::string renewed_notice_text(std::string_view md_name);

} // namespace mda
