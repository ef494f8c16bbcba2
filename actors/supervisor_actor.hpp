// The supervisor actor: spawns the engine's leaf actors (one account actor per account key,
// one domain actor per MD), monitors them and the shared actors, and restarts a leaf that
// died abnormally with the configuration it was first spawned with.
//
// Who sends what (interface: supervisor_actor in actors/actors.hpp): spawn_engine_actors
// (supervisor.hpp) spawns the shared actors (pools, ca_policy, status, stapling), then this
// actor with the leaves' configurations; anyone may ask for the current domain actor of an MD.
// CAF sends it a down message for every actor it monitors.
// Which actors it restarts, and how holders keep valid handles:
// - only leaves: a domain actor, an account actor. A domain actor is restarted with its
//   domain_config (it re-reads job.json and order.json from the store on its first check and
//   goes on from there); the stapling actor is given the new handle (put_atom, name, handle).
//   An account actor is restarted with its account_config (it selects its account again on
//   first use); the domain actors holding the old handle are restarted with the new one (a
//   domain actor keeps its account handles for its life), which counts against the account's
//   limit, not theirs.
// - the shared actors (worker pools, ca_policy, status, stapling) are held by every leaf:
//   one of them dying abnormally escalates at once. The OCSP responder actors are linked to
//   the stapling actor, so one of them dying takes the stapling actor and escalates.
// - abnormal = any exit reason but normal and user_shutdown (what stop_engine_actors sends).
// - at most `max_restarts` restarts of one actor within `restart_window` (the injected
//   monotonic clock); one more escalates.
// Escalation: logged at error with the actor's name and exit reason; this actor then quits
// with engine_errc::unavailable, and run_engine (engine.hpp), which watches it, stops the
// engine with exit code 3, so Apache's parent starts a new engine (with its backoff), as it
// does whenever the engine exits.
// Every restart is logged ("supervisor: restarting the domain actor of 'a.test' (it ended:
// ...)"). When this actor ends, however it ends, it ends the leaves it holds (user_shutdown).
// Not here: what the leaves do; a job an ended actor started still runs to its end on its
// pool, and its answer is dropped.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/account.hpp"
#include "actors/actors.hpp"
#include "actors/domain.hpp"

namespace mda {

/// The default restart limit: a fault that passes (a store briefly unreadable) gets a few
/// tries; one that comes back at every start ends the engine within minutes, and Apache's
/// parent starts a fresh one with its own backoff instead of a hot restart loop here.
constexpr std::size_t k_default_max_restarts = 5;
constexpr std::chrono::minutes k_default_restart_window{10};

/// A domain actor to supervise: its configuration, with its account actors named by account
/// key (`accounts` of `config` is filled in by the supervisor from the current handles).
struct supervised_domain {
  domain_config config;
  std::map<std::string, std::string> account_keys; ///< CA URL -> account key
};

struct supervisor_config {
  std::map<std::string, account_config> accounts; ///< by account key
  std::vector<supervised_domain> domains;
  /// The shared actors, by name for logs ("io pool", "status", ...): monitored, never restarted.
  std::map<std::string, caf::actor> shared;
  ocsp_stapling_actor stapling;                   ///< optional: told of every domain actor
  std::size_t max_restarts = k_default_max_restarts;
  milliseconds restart_window = k_default_restart_window;
  actor_env env;                                  ///< required (the monotonic clock)
  engine_log log;                                 ///< restarts
  engine_log error;                               ///< escalation; empty = log
};

/// No error, or what is wrong ("supervisor: the clock is missing").
caf::error validate(const supervisor_config& cfg);

struct supervisor_state {
  static inline const char* name = "supervisor";

  /// What a monitored actor is to this one.
  struct child {
    enum class kind { domain, account, shared } what;
    std::string key; ///< MD name, account key, or the shared actor's name
  };

  supervisor_config cfg;
  std::map<std::string, account_actor> accounts; ///< current handles, by account key
  std::map<std::string, domain_actor> domains;   ///< current handles, by MD name
  std::map<caf::actor_addr, child> children;     ///< every monitored actor alive
  std::map<std::string, std::deque<mono_time>> restarted; ///< restart times, by actor name
  std::uint64_t restarts = 0;                    ///< restarts so far (tests)
  /// The leaves alive, shared with the exit hook that ends them with this actor.
  std::shared_ptr<std::map<caf::actor_addr, caf::actor>> leaves =
    std::make_shared<std::map<caf::actor_addr, caf::actor>>();
};

using supervisor_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

/// The actor's behaviour (spawn with spawn_supervisor): spawns every leaf at once.
supervisor_actor::behavior_type supervisor(supervisor_pointer self, supervisor_config cfg);

/// Spawns the supervisor; the config must be valid (see validate).
supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg);

} // namespace mda
