// The worker pool: runs blocking jobs (ACME HTTP calls, fsync, external commands) off the
// event-based actors, with a configured bound on jobs in flight.
//
// Who sends what: any actor sends (run_atom, blocking_job) as a request and gets the
// job_result back (or an engine error); anyone may ask (get_atom, stats_atom).
// How: a job starts when fewer than `max_in_flight` run, else it waits in a FIFO queue. Each
// started job gets a fresh detached worker actor (its own thread), asked with a request: when
// the job throws, or the worker dies without answering, CAF answers that request with an
// error, so a crash reaches the requester as engine_errc::job_failed / job_crashed and the
// slot is freed. The next queued job starts when a running one ends.
// Not here: timeouts of jobs (a job bounds its own waits: HTTP timeouts, command kill timers;
// a job that never returns holds its slot and its thread, and the actor system cannot shut
// down), priorities, retries.
#pragma once

#include <cstddef>
#include <deque>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actors.hpp"

namespace mda {

/// The default bound: the work is mostly waiting on the network, so a few jobs per core
/// (2 cores here) keep both busy without piling up TLS handshakes and key generations.
constexpr std::size_t k_default_max_in_flight = 8;

struct worker_pool_config {
  /// Jobs running at the same time (>= 1).
  std::size_t max_in_flight = k_default_max_in_flight;
  /// Run each job on a detached actor (its own thread). false runs it on a scheduled actor:
  /// only for tests under the test_coordinator, where every actor runs on the test's thread
  /// and a job then must not block.
  bool detached = true;
};

/// No error, or what is wrong ("worker pool: max_in_flight must be at least 1").
caf::error validate(const worker_pool_config& cfg);

struct worker_pool_state {
  static inline const char* name = "worker-pool";

  struct waiting {
    blocking_job job;
    caf::typed_response_promise<job_result> promise;
  };

  worker_pool_config cfg;
  std::deque<waiting> queue; ///< jobs beyond the bound, oldest first
  pool_stats stats;          ///< in_flight and queued kept current
};

using worker_pool_pointer = worker_pool_actor::stateful_pointer<worker_pool_state>;

/// The pool's behaviour (spawn with spawn_worker_pool).
worker_pool_actor::behavior_type worker_pool(worker_pool_pointer self, worker_pool_config cfg);

/// Spawns a pool; the config must be valid (see validate).
worker_pool_actor spawn_worker_pool(caf::actor_system& sys, worker_pool_config cfg = {});

/// The worker's behaviour: answers one job, then quits.
worker_actor::behavior_type worker(worker_actor::pointer self);

} // namespace mda
