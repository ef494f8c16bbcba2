// The domain actor: one per managed domain (MD), driving its renewal. It feeds what happens
// (timers, answers of blocking jobs, of the account actor and the retry policy, delivered
// events) into the MD's state machine, core/renewal_run.hpp (`run_state`: the states and what
// each step does), and carries out the effects it returns. It keeps what the machine does not:
// the certificates found by the last check, the account grant and certificates of a run,
// renewalInfo (RFC 9773, fetched by a check when due), OCSP's revocations.
// Not here: the blocking work itself (domain_backend.hpp), OCSP.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/clock.hpp"
#include "actors/domain_backend.hpp"
#include "cluster/cluster_service.hpp"
#include "core/events.hpp"
#include "core/md_spec.hpp"
#include "core/renewal.hpp"
#include "core/renewal_run.hpp"

namespace mda {

/// The server-wide settings a domain actor uses.
struct domain_settings {
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
  managed_domain md;                            ///< md.json as configured (staged with the run)
  md_spec spec;                                 ///< md resolved (make_md_spec); the supervisor fills it
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
  /// MDActivation live (under Apache): a notified staged set is checked and announced to the
  /// workers (store/live.hpp), and from then on is the MD's current set.
  bool live = false;
  /// Since when the certificates of domains/ (or the MD's files) are served: the start of the
  /// server generation whose parent loaded them (md-status "served").
  sys_time served_since{};
  md_observer observer;
  engine_log log;
  /// MDStoreEtcd: the cluster this server is in (docs/cluster.md). A renewal runs only when
  /// this node holds the MD (cluster_service::acquire); otherwise the MD waits, and its job and
  /// staged set are read again at every check (the owner writes them).
  std::shared_ptr<cluster_service> cluster;
};

/// job.json writes of one actor: one in flight, the changes made meanwhile written once after
/// it (in order), and actions that wait until every write started so far is over.
class job_writes {
 public:
  /// True when a write must start now; false when one is in flight (another follows it).
  bool begin();
  /// The write in flight is over: true when another must start for the changes made meanwhile;
  /// otherwise the waiting actions are handed over (to run now).
  bool end(std::vector<std::function<void()>>& ready);
  /// Runs `fn` now when no write is in flight, else once they all are over.
  void when_saved(std::function<void()> fn);

 private:
  bool writing_ = false;
  bool dirty_ = false;
  std::vector<std::function<void()>> waiting_;
};

/// Snapshots for the status actor, one per burst of steps: the first step of a burst sends a
/// message to the actor itself, the snapshot is made when it comes back (with 10,000 MDs one
/// per step piled up in the status actor's mailbox).
class snapshot_pacing {
 public:
  /// True when a publish message must be sent now (none is on its way).
  bool request() { return !std::exchange(pending_, true); }
  void arrived() { pending_ = false; }

 private:
  bool pending_ = false;
};

struct domain_state {
  static inline const char* name = "domain";
  domain_config cfg;
  renewal_run run;                                ///< the state machine and job.json
  std::vector<std::optional<certificate>> leaves; ///< the certificates in use, per slot
  std::vector<std::optional<certificate>> staged; ///< staging/<md>, per key spec (md-status)
  std::optional<acme_order_file> order;           ///< a resumable order of a previous run
  std::string ca_url;                             ///< the CA in use ("" before the first run)
  std::optional<account_grant> grant;             ///< of the run in progress
  std::vector<acme::obtained_cert> certs;         ///< obtained in this run, per key spec
  std::uint64_t timer_gen = 0;
  sys_time next_run{};
  bool seeded = false;        ///< job.json was read (once), the policy got its error count
  /// The first check has answered: until then a snapshot would show no certificate and
  /// replace the status actor's entry from the store (its seed), so none is published.
  bool checked = false;
  job_writes writes;
  snapshot_pacing snapshots;
  /// In a cluster: the SHA-256 fingerprints of the staged leaves this node serves live (the
  /// owner's job.json says when it went live there, not here).
  std::vector<std::string> cluster_live;
  std::string cluster_owner; ///< who renews the MD, as the last acquire said
  std::optional<md_report> last_report;
  std::optional<ari_hint> ari;  ///< the last usable renewalInfo answer
  sys_time ari_next{};          ///< when to fetch renewalInfo again
  std::uint64_t ari_fetches = 0; ///< renewalInfo fetches started (tests)
  std::vector<std::string> revoked; ///< SHA-256 fingerprints OCSP reported revoked
  /// When the set in `leaves` went live (kept while a later run rewrites staging/: the
  /// workers serve it until the next goes live); the epoch = `leaves` are domains/'.
  sys_time live_since{};
  /// mdctl renew: the next decision renews whatever the window says, and answers these.
  bool renew_forced = false;
  std::vector<caf::typed_response_promise<std::string>> renew_waiting;

  /// Renewal runs started (tests).
  std::uint64_t runs() const { return run.runs; }
};

using domain_pointer = domain_actor::stateful_pointer<domain_state>;

domain_actor::behavior_type domain_behavior(domain_pointer self, domain_config cfg);

/// Spawns a domain actor; its first check runs after MDInitialDelay.
domain_actor spawn_domain(caf::actor_system& sys, domain_config cfg);

/// The snapshot of the MD for the status actor.
md_snapshot make_snapshot(const domain_state& st);

/// The MD's staged set is served live (MDActivation live, announced and checked): its staged
/// certificates are the current ones.
bool served_live(const domain_state& st);

} // namespace mda
