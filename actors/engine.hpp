// The engine: one call that runs the actor system for an engine_config until told to stop.
//
// run_engine constructs the CAF actor_system on the calling thread, spawns the actors
// (supervisor.hpp), waits, ends them and destroys the system on the same thread (CAF 0.17.6
// deadlocks when ~actor_system runs on another thread than its constructor). No globals: it
// may be called again (the Apache module's engine process, tests).
// Stopping: `stop()` is polled every 100 ms; with `once`, the engine also stops when every MD
// has reported an outcome (complete, staged, failed or skipped); it stops by itself when its
// supervisor gives up (exit code 3). stop_on_signals() makes a stop condition for SIGTERM and
// SIGINT (blocked in the calling thread, so every thread the system starts inherits the mask,
// and taken with sigtimedwait).
// Memory: run_engine limits glibc's malloc to two arenas with a fixed mmap threshold and trims
// the heap every 10 s while it waits (process-wide settings: the engine owns its process).
// Not here: the store's md.json sync and the embedded responders (mdctl run), forking.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "actors/domain.hpp"
#include "actors/supervisor.hpp"
#include "core/engine_config.hpp"

namespace mda {

struct engine_options {
  std::function<bool()> stop;           ///< polled; true = stop. Empty = never (unless once)
  bool once = false;                    ///< stop when every MD has an outcome
  bool activate = false;                ///< activate staged sets in-process (no Apache)
  challenge_factory challenges;         ///< empty = the store's challenges/ group
  transport_factory transports;         ///< empty = httplib
  engine_log log;                       ///< empty = stderr
  engine_log warn;                      ///< degraded optional parts (status socket); empty = log
  engine_log error;                     ///< why the engine could not start; empty = log
  /// Why a running engine stops on its own (the supervisor's restart limit, at error level);
  /// empty = log.
  engine_log gave_up;
  md_observer observer;                 ///< also told of every outcome (optional)
  std::size_t scheduler_threads = 0;    ///< 0 = CAF's default
  /// Every MD's status entry as the store showed it at start (the Apache parent makes it):
  /// the status actor publishes it before the domain actors report. Empty = none.
  std::vector<md_snapshot> status_seed;
  /// Engine processes the Apache parent started anew after one ended, since its last
  /// (re)start (the md-metrics counter); nullopt = not under Apache.
  std::optional<std::int64_t> restarts;
  /// The store to use; empty = open cfg.settings.store_dir (the unprivileged engine of the
  /// Apache module gets an engine_store over what the parent read for it).
  std::shared_ptr<store> st;
};

/// Runs the engine on the calling thread. 0 when it stopped with no MD failed (as last
/// reported), 1 when one failed, 2 when it could not start (the message went to the log), 3
/// when its supervisor gave up (an actor died too often, or a shared one died: see
/// supervisor_actor.hpp), so that the Apache parent starts a new engine.
int run_engine(const engine_config& cfg, const engine_options& opts);

/// Blocks SIGTERM and SIGINT in the calling thread and returns a stop condition that is true
/// once one of them arrived. Call before run_engine, on the same thread.
std::function<bool()> stop_on_signals();

} // namespace mda
