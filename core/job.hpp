// The files a renewal keeps in staging, with mod_md's field names, encodings and key order:
// - job.json (reference §2.4; md_status.c job_to_json/md_job_from_json): the state of the
//   renewal or OCSP job of one MD, the result of its last run and its event log;
// - the run `result` inside it (md_result.c md_result_to_json/_from_json);
// - order.json (md_acme_order.c) and account.json (md_acme_acct.c, reference §2.5).
// `to_json(x).dump(2)` is the file as mod_md writes it. Readers are lenient as mod_md is
// about absent members (defaults), and strict about malformed ones: an error naming the
// source and the member (json_errc, see json_util.hpp).
// - the named changes a renewal run makes to its job (start, finish with ready-at, fail, plan
//   the retry), which core/renewal_run.hpp's transitions use, and the value a failed step
//   carries from where it happened to job.json's "last" (run_failure).
// Not here: when a job runs or retries (core/renewal_run.hpp, backoff), notifications,
// what an ACME order or account means on the wire (acme/).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/timefmt.hpp"

namespace mda {

/// The outcome of a run (md_result_t): an APR-style status, ACME problem details, what was
/// being done, and when the new certificate may be used. Empty strings are absent in JSON.
struct result {
  int status = 0;                        ///< 0 success; errno / APR status values otherwise
  std::string problem;                   ///< ACME problem type URN or mod_md's own id
  std::string detail;
  std::string activity;
  sys_time valid_from{};                 ///< ready_at; the epoch = not set
  nlohmann::ordered_json subproblems;    ///< RFC 8555 §6.7.1 subproblems; null = none

  bool operator==(const result& o) const;
  bool operator!=(const result& o) const { return !(*this == o); }
};

/// apr_strerror(status): strerror for errno values ("Connection refused" for 111), APR's
/// own texts for the APR codes mod_md uses ("Internal error (specific information not
/// available)" for APR_EGENERAL 20014).
std::string status_description(int status);

/// {"status", "status-description" (status > 0 only), "problem", "detail", "activity",
///  "valid-from", "subproblems"}; the description is derived from the status.
nlohmann::ordered_json to_json(const result& r);
expected<result> result_from_json(const nlohmann::ordered_json& j, const std::string& source);

/// The text of a "progress" log entry: "<activity>: <detail>, problem: <problem>", parts
/// left out when empty (job_result_update). "" when all three are empty.
std::string progress_text(const result& r);

/// A failed step of a renewal run, made once where it failed (acme::failure_of for an answer
/// of the CA, plain_failure for our own) and carried unchanged to the retry policy, job.json's
/// "last" and md-status.
struct run_failure {
  std::string detail;  ///< what failed, in our words: the log line and the MD's report
  /// job.json "last": the APR status mod_md gives the failure, the CA's problem type and its
  /// own detail (else `detail`); the activity is the run's step, filled in by the run.
  result last;
  bool input_related = false;          ///< reference §5.4: retrying cannot help soon
  bool rate_limited = false;           ///< rateLimited or HTTP 429
  std::optional<sys_time> retry_after; ///< the CA's Retry-After (its account waits too)

  bool operator==(const run_failure& o) const;
  bool operator!=(const run_failure& o) const { return !(*this == o); }
};

/// A failure without a CA problem: APR_EGENERAL, `detail` as the result's detail.
run_failure plain_failure(std::string detail);

/// One entry of the job log. Empty status/detail are absent in JSON.
struct log_entry {
  sys_time when{};
  std::string type;   ///< "starting", "progress", "message-renewed", ...
  std::string status; ///< problem URN (renewal-error, notify-error, ocsp-error) or reason
  std::string detail;
  bool operator==(const log_entry& o) const;
};

/// mod_md keeps this many log entries (md_job_t max_log).
inline constexpr std::size_t k_job_max_log = 128;

/// job.json: the renewal job of an MD (staging/<md>/job.json) or its OCSP job.
struct job {
  std::string name;                  ///< the MD name; absent in JSON when empty
  bool finished = false;             ///< the run produced a staged certificate
  bool notified = false;             ///< the "renewed" notification ran
  bool notified_renewed = false;     ///< (2.6) the renewed event was delivered
  sys_time next_run{};               ///< the epoch = not scheduled (omitted)
  sys_time last_run{};
  sys_time valid_from{};             ///< when the staged certificate becomes usable
  /// mdactor: when the staged set went live (MDActivation live, store/live.hpp), served from
  /// staging/ since then; the epoch = not live. job.json "mdactor-live-since".
  sys_time live_since{};
  int errors = 0;                    ///< failed runs in a row
  std::optional<result> last;        ///< the result of the last run
  std::vector<log_entry> log;        ///< newest first; absent in JSON when empty

  /// Adds an entry at the front and drops the oldest beyond k_job_max_log.
  void log_append(sys_time now, std::string type, std::string status = {}, std::string detail = {});
  void log_starting(sys_time now) { log_append(now, "starting"); }
  void log_finished(sys_time now) { log_append(now, "finished"); }
  /// A "progress" entry with progress_text(r); nothing when that is empty.
  void log_progress(sys_time now, const result& r);
  /// "renewal-error", "notify-error", "ocsp-error": status = the problem, detail = the detail.
  void log_renewal_error(sys_time now, const result& r);
  void log_notify_error(sys_time now, const result& r);
  void log_ocsp_error(sys_time now, const result& r);
  /// "message-<reason>" after a notification went out (the entry the rate limits look at).
  void log_message(sys_time now, const std::string& reason);
  /// "message-error": status = the reason, detail = what the failed command left in r.
  void log_message_error(sys_time now, const std::string& reason, const result& r);

  /// The newest entry of `type`, or nullptr (md_job_log_get_latest).
  const log_entry* last_entry_of(std::string_view type) const;
  /// Its time (md_job_log_get_time_of_latest), for the event rate limits of reference §5.6.
  std::optional<sys_time> last_time_of(std::string_view type) const;

  // The changes of a renewal run (core/renewal_run.hpp), as mod_md's drive job makes them.
  /// A run starts: last-run, a "starting" entry; a finished job (an older staged set) starts
  /// over. True when it was finished (that staged set is no longer the job's).
  bool start_run(sys_time now);
  /// The run obtained its certificates: finished, usable from `ready_at`, errors cleared,
  /// "last" the renewed text (renewal.hpp renewed_detail), a "finished" entry.
  void finish_run(sys_time ready_at, sys_time now);
  /// Writing the staged set failed after finish_run: not finished after all.
  void staging_failed() { finished = false; }
  /// A step failed: `r` is "last" (unless keep_last: the renewing veto keeps the result its
  /// event handler left) and a "renewal-error" entry.
  void fail_run(const result& r, sys_time now, bool keep_last = false);
  /// The retry policy's plan after a failure: the errors counted, when to run next.
  void plan_retry(int errors_now, sys_time at);
  /// The staged set was activated: a fresh job of the same MD.
  void reset_after_activation();
  /// The staged set is served without a restart from `now` on: live_since, errors cleared
  /// (a failed earlier attempt), nothing scheduled. The job stays finished and notified: the
  /// parent still moves the set into domains/ at the next restart.
  void went_live(sys_time now);
  /// The staged set was found unusable and removed: nothing finished or announced any more
  /// (the result and the log stay).
  void discard_staged();

  bool operator==(const job& o) const;
};

nlohmann::ordered_json to_json(const job& j);
expected<job> job_from_json(const nlohmann::ordered_json& j, const std::string& source);

/// RFC 8555 §7.1.6 order states, as order.json stores them.
enum class order_status { pending = 0, ready = 1, processing = 2, valid = 3, invalid = 4 };
const char* to_string(order_status s) noexcept;

/// order.json in staging: the ACME order of the current renewal.
struct acme_order_file {
  std::string url;                           ///< the order URL (Location of newOrder)
  order_status status = order_status::pending;
  std::vector<std::string> authorizations;   ///< authorization URLs
  std::vector<std::string> challenge_setups; ///< "http-01:<dns>", "dns-01:<dns> <token>", ...
  std::string finalize;
  std::string certificate;
  bool operator==(const acme_order_file& o) const;
};

nlohmann::ordered_json to_json(const acme_order_file& o);
/// An unknown status text is json_errc::bad_value; an absent one is pending.
expected<acme_order_file> order_from_json(const nlohmann::ordered_json& j, const std::string& source);

/// The account states account.json knows; unknown is not written.
enum class account_status { unknown = 0, valid = 1, deactivated = 2, revoked = 3 };

/// account.json (accounts/ACME-<sname>-NNNN/ and staging/<md>/).
struct account_file {
  account_status status = account_status::unknown;
  std::string url;                    ///< the account URL at the CA
  std::string ca_url;                 ///< the directory URL
  std::vector<std::string> contact;   ///< always written, possibly []
  nlohmann::ordered_json registration; ///< the server's account object; null = absent
  std::string agreement;
  std::string orders;                 ///< the orders list URL
  std::string eab_kid;                ///< written when set
  std::string eab_hmac;
  bool operator==(const account_file& o) const;
};

nlohmann::ordered_json to_json(const account_file& a);
/// Requires "url" and "ca-url" (json_errc::missing: "account has no url", "account has no
/// CA url: '<url>'"). Legacy: "terms-of-service" as agreement, contacts from
/// "registration.contact"; the EAB is taken only when both kid and hmac are there.
expected<account_file> account_from_json(const nlohmann::ordered_json& j, const std::string& source);

} // namespace mda
