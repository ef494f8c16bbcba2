// The domain actor: one per managed domain (MD), driving its renewal.
//
// The cycle: check (load certificates, job.json, order.json on the io pool) -> decide
// (core/renewal.hpp decide_renewal) -> wait (a timer on the injected clock: the check
// interval with jitter, a retry time, ready-at) or renew: "renewing" event (a non-zero
// MDMessageCmd exit vetoes) -> account (the account actor of the CA in use) -> one order per
// key spec on the order pool (acme::obtain: order, authorizations, challenges with a
// challenge-setup:<type>:<dns> event each, finalize, download; order.json saved at every
// change, progress texts into job.json) -> stage -> job finished with ready-at -> at ready-at
// the "renewed" event (MDNotifyCmd, MDMessageCmd) -> with `activate`, activation in-process.
// A failure: counted in job.json, reported to the ca_policy actor, whose plan sets the retry
// time and the CA (a switch wipes staging); "errored" event; a rateLimited problem or a
// Retry-After also limits the account. Events are rate limited (core/events.hpp) and run
// with the command timeout. job.json is written (coalesced, in order) after every step; the
// status actor gets an md_snapshot after every burst of steps (one per turn of the mailbox:
// with 10,000 MDs one per step piled up in the status actor's mailbox).
// A corrupt job.json / order.json is logged, removed, and the job starts over.
// ARI (RFC 9773): with MDRenewViaARI and present certificates, renewalInfo is fetched on a
// check when its next-fetch time has come (the CA's Retry-After, else 6 h); the decision
// takes the earlier of the renew window and the ARI time.
// Not here: the blocking work itself (domain_backend.hpp), OCSP.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/clock.hpp"
#include "actors/domain_backend.hpp"
#include "core/events.hpp"
#include "core/renewal.hpp"

namespace mda {

/// The server-wide settings a domain actor uses.
struct domain_settings {
  renewal_settings windows;                 ///< MDRenewWindow / MDWarnWindow defaults, used
  milliseconds check_interval{12LL * 3600'000}; ///< MDCheckInterval
  milliseconds initial_delay{0};            ///< MDInitialDelay
  milliseconds activation_delay{0};         ///< MDActivationDelay
  milliseconds command_timeout{60'000};     ///< event commands
  event_commands commands;                  ///< MDNotifyCmd, MDMessageCmd
};

/// Called (from the actor's thread) whenever the MD reaches an outcome; must be thread-safe.
using md_observer = std::function<void(const md_report&)>;

/// Writes a line to the engine's log (thread-safe); empty = none.
using engine_log = std::function<void(const std::string&)>;

struct domain_config {
  managed_domain md;
  domain_settings settings;
  std::shared_ptr<domain_backend> backend;      ///< required
  worker_pool_actor io_pool;                    ///< loads, saves, commands (required)
  worker_pool_actor order_pool;                 ///< orders: bounded by orders in flight (required)
  ca_policy_actor policy;                       ///< required
  status_actor status;                          ///< optional
  ocsp_stapling_actor stapling;                 ///< optional: told (staple_atom, name) after activate
  std::map<std::string, account_actor> accounts; ///< by CA URL, one for each of md.ca.urls
  actor_env env;
  bool activate = false;                        ///< activate staged sets here (no Apache)
  md_observer observer;
  engine_log log;
};

enum class domain_phase { idle, checking, renewing, notifying, activating };

struct domain_state {
  static inline const char* name = "domain";
  domain_config cfg;
  domain_phase phase = domain_phase::idle;
  job renewal;                                    ///< job.json as the actor keeps it
  std::vector<std::optional<certificate>> leaves; ///< the certificates in use, per slot
  std::vector<std::optional<certificate>> staged; ///< staging/<md>, per key spec (md-status)
  std::optional<acme_order_file> order;           ///< a resumable order of a previous run
  std::string ca_url;                             ///< the CA in use ("" before the first run)
  std::optional<account_grant> grant;
  std::vector<acme::obtained_cert> certs;         ///< obtained in this run, per key spec
  std::string activity;                           ///< the step running now (for errors)
  std::uint64_t timer_gen = 0;
  sys_time next_run{};
  bool seeded = false;        ///< the policy got job.json's error count
  /// The first check has answered: until then a snapshot would show no certificate and
  /// replace the status actor's entry from the store (its seed), so none is published.
  bool checked = false;
  bool job_writing = false;   ///< a job.json write is in flight
  bool job_dirty = false;     ///< changed since that write began
  bool publish_pending = false; ///< a publish_atom to itself is on its way
  bool expiring_after_run = false; ///< raise "expiring" if the renewal run now starting fails
  std::vector<std::function<void()>> on_job_saved; ///< run once no job.json write is pending
  std::uint64_t runs = 0;     ///< renewal runs started (tests)
  int failed_events = 0;      ///< raised events of the current run whose command failed
  std::optional<md_report> last_report;
  std::optional<ari_hint> ari;  ///< the last usable renewalInfo answer
  sys_time ari_next{};          ///< when to fetch renewalInfo again
  std::uint64_t ari_fetches = 0; ///< renewalInfo fetches started (tests)
  std::vector<std::string> revoked; ///< SHA-256 fingerprints OCSP reported revoked
};

using domain_pointer = domain_actor::stateful_pointer<domain_state>;

domain_actor::behavior_type domain_behavior(domain_pointer self, domain_config cfg);

/// Spawns a domain actor; its first check runs after MDInitialDelay.
domain_actor spawn_domain(caf::actor_system& sys, domain_config cfg);

/// The snapshot of the MD for the status actor.
md_snapshot make_snapshot(const domain_state& st);

} // namespace mda
