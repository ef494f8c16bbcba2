// The renewal of one MD as an explicit state machine: where its run stands (`run_state`, a
// variant of named states carrying their data), one transition function per event, each
// changing the state and the job (job.json, through job's named operations) and returning the
// effects the domain actor carries out in order (start a blocking job, deliver an event, ask
// the policy, arm the timer, report). Pure: no CAF, no I/O, time passed in.
//
// The cycle (mod_md's drive job): idle -> checking (load, renewalInfo) -> decision: wait (idle,
// a timer), renew (renewing: vetting by the "renewing" event -> account -> ordering one
// certificate per key spec -> staging), or the staged set is ready (notifying "renewed" ->
// activating, with in-process activation or, under Apache with MDActivation live, the check
// of the staged set before it is announced to the workers: store/live.hpp). A failed step is failing: planning (the retry
// policy's plan) -> erroring (the "errored" event) -> idle with the retry time; a failed
// "renewed" notification waits for a plan too, without failing the run.
//
// Not here: what to do (core/renewal.hpp decide_renewal), retry delays and CA failover (the
// policy), the blocking steps themselves, the account grant and obtained certificates (ACME
// values the actor keeps while the state is renewing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/job.hpp"
#include "core/renewal.hpp"
#include "core/timefmt.hpp"

namespace mda {

/// Where an MD stands, as the engine's observers see it.
enum class md_outcome : std::uint8_t {
  complete = 0, ///< certificates in place, nothing due now
  staged = 1,   ///< a renewed set waits in staging (for activation at a restart)
  failed = 2,   ///< the last run failed; a retry is planned
  skipped = 3,  ///< not driven (manual mode, unused, static files)
};

namespace run {

// --- states ---------------------------------------------------------------------------------

/// Nothing in flight; the timer is armed.
struct idle {};
/// Loading certificates, job.json, order.json; then maybe renewalInfo; then the decision.
struct checking {};
/// A renewal run.
struct renewing {
  enum class step { vetting, account, ordering, staging };
  step at = step::vetting;
  std::size_t order = 0;   ///< ordering: the key spec whose certificate is ordered
  int failed_messages = 0; ///< raised events whose command failed: each counts as an error
  bool expiring = false;   ///< raise "expiring" if this run fails
};
/// The "renewed" event is out; `retrying`: it failed and waits for the policy's retry time.
struct notifying {
  bool retrying = false;
  std::string detail;      ///< retrying: why it failed
};
/// The staged set is being activated: in-process (mdctl run), or checked before it is served
/// live (MDActivation live).
struct activating {};
/// A step failed: planning (asked the policy), then erroring (the "errored" event is out).
struct failing {
  enum class step { planning, erroring };
  step at = step::planning;
  run_failure failure;
  bool in_run = true;      ///< a step of the run failed (false: the activation)
  bool expiring = false;   ///< raise "expiring" afterwards
  int errors = 0;          ///< erroring: the plan's error count
  sys_time retry_at{};     ///< erroring: the plan's time
};

// --- effects, carried out in order by the actor ---------------------------------------------

struct load {};          ///< load what the store has (-> on_checked)
struct fetch_ari {};     ///< fetch renewalInfo (-> on_ari_answered)
struct decide {};        ///< decide_renewal on what the check found (-> on_decision)
struct deliver {         ///< deliver an event (-> on_delivered)
  std::string reason;
};
struct ask_account {};   ///< choose the CA, ask its account actor (-> on_account)
struct order {           ///< order the certificate of key spec `index` (-> on_ordered)
  std::size_t index = 0;
};
struct stage {};         ///< write the obtained set and the job to staging (-> on_staged)
struct activate {};      ///< once job.json writes are over, activate (-> on_activated)
struct go_live {};       ///< check the staged set and announce it to the workers (-> on_went_live)
struct ask_policy {      ///< report the failure, ask for the retry plan (-> on_plan)
  run_failure failure;
  int counts = 1;            ///< errors the failure counts
  bool notification = false; ///< a failed "renewed" notification: the CA in use only
};
struct limit_account {   ///< the account of the CA in use waits until then
  sys_time until{};
};
struct use_ca {          ///< the CA for the next attempt; `switched`: wipe staging
  std::string url;
  bool switched = false;
};
struct drop_staged {};   ///< a new run: the older staged set is not shown any more
struct discard_staged {}; ///< remove staging/<md> (a set that cannot be served), save the job
struct keep_staged {};   ///< the obtained set is what staging holds now
struct policy_ok {};     ///< the run succeeded: the policy forgets the errors
struct release {};       ///< drop the run's account grant and obtained certificates
struct forget_ari {};    ///< renewalInfo was about certificates just replaced
struct save_job {};      ///< write job.json (coalesced) and publish
struct report {          ///< tell the observers where the MD stands
  md_outcome outcome = md_outcome::complete;
  std::string detail;
};
struct arm {             ///< look at the MD again at `at`
  sys_time at{};
};
struct arm_regular {};   ///< look again at the next regular check (the interval, jittered)
struct log {             ///< a line for the engine's log
  std::string line;
};

} // namespace run

using run_state = std::variant<run::idle, run::checking, run::renewing, run::notifying,
                               run::activating, run::failing>;

using run_effect =
  std::variant<run::load, run::fetch_ari, run::decide, run::deliver, run::ask_account, run::order,
               run::stage, run::activate, run::go_live, run::ask_policy, run::limit_account, run::use_ca,
               run::drop_staged, run::discard_staged, run::keep_staged, run::policy_ok, run::release, run::forget_ari,
               run::save_job, run::report, run::arm, run::arm_regular, run::log>;
using run_effects = std::vector<run_effect>;

/// "idle", "checking", "renewing", "notifying", "activating", "failing".
const char* state_name(const run_state& s) noexcept;
/// An effect as one line with all its data, e.g. "deliver renewing", "arm <RFC 822 time>",
/// "ask_policy counts 2: <detail>" (logs, tests).
std::string describe(const run_effect& e);
std::vector<std::string> describe(const run_effects& es);

/// The machine of one MD: its state, its job.json, the step running now.
struct renewal_run {
  std::string md;            ///< the MD's name (event texts)
  bool activate = false;     ///< activate staged sets in-process (no Apache)
  bool live = false;         ///< MDActivation live: serve a notified staged set at once
  run_state state = run::idle{};
  job renewal;               ///< job.json as the actor keeps it
  std::string activity;      ///< the step running now: the activity of a failure
  std::uint64_t runs = 0;    ///< renewal runs started
};

/// A run's step is in progress (md-status "renewing"; staging/<md>/job.json exists).
bool is_renewing(const run_state& s);

// --- transitions: one per event; a state an event does not belong to ignores it -------------

/// A check is due (timer, trigger, OCSP revocation): idle -> checking.
run_effects on_check_due(renewal_run& r);
/// The check's load answered: an error -> idle (looked at again in a minute); else renewalInfo
/// first when due, then the decision.
run_effects on_checked(renewal_run& r, const std::optional<std::string>& error, bool ari_due,
                       sys_time now);
run_effects on_ari_answered(renewal_run& r);
/// decide_renewal's answer (`regular`: the next regular check; `driven`: the MD is renewed
/// here, watched and not manual).
run_effects on_decision(renewal_run& r, const renewal_decision& d, sys_time regular,
                        bool driven, sys_time now);
/// An event was delivered (ok: not vetoed, its command succeeded).
run_effects on_delivered(renewal_run& r, const std::string& reason, bool ok,
                         const std::string& detail, sys_time now);
/// The account actor answered: a grant (no failure) or its failure.
run_effects on_account(renewal_run& r, std::optional<run_failure> failure, sys_time now);
/// The order of the current key spec answered; `ready_at` (compute_ready_at over all obtained
/// certificates) is used when it was the last of `specs`.
run_effects on_ordered(renewal_run& r, std::optional<run_failure> failure, std::size_t specs,
                       sys_time ready_at, sys_time now);
run_effects on_staged(renewal_run& r, std::optional<run_failure> failure, sys_time now);
run_effects on_activated(renewal_run& r, std::optional<run_failure> failure, sys_time now);
/// The live check of the staged set answered: served from now on (the job notes when; the
/// MD is looked at again, its staged certificates now the current ones), or a failure of the
/// activation: the set is never served and is discarded (as mod_md's parent purges a staged
/// set it cannot load), the job is no longer finished, and the policy plans the next run,
/// which orders anew.
run_effects on_went_live(renewal_run& r, std::optional<run_failure> failure, sys_time now);
/// A step failed before it could start (no CA configured, no account actor).
run_effects on_failed(renewal_run& r, run_failure f, sys_time now);

/// The retry policy's plan, in the terms the run needs.
struct planned_retry {
  int errors = 0;
  sys_time at{};
  std::string ca_url;
  bool ca_switched = false;
};
run_effects on_plan(renewal_run& r, const planned_retry& p);
/// The policy did not answer: idle, looked at again at `at`.
run_effects on_policy_unavailable(renewal_run& r, const std::string& error, sys_time at);

/// A progress text of the run (also its activity) into the job log.
void note_progress(renewal_run& r, const std::string& activity, sys_time now);
/// A raised event's command failed during the run: one more error for its failure.
void note_failed_message(renewal_run& r);

} // namespace mda
