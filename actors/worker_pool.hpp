// The worker pool: runs blocking jobs (ACME HTTP calls, fsync, external commands) off the
// event-based actors, with a configured bound on jobs in flight.
//
// Who sends what: any actor sends (run_atom, blocking_job) as a request and gets job_done
// back (or an engine error), usually through run_blocking, which hands the job's typed value
// to a continuation; anyone may ask (get_atom, stats_atom).
// How: a job starts when fewer than `max_in_flight` run, else it waits in a FIFO queue. A
// started job goes to an idle worker actor, or to a new one while fewer than `max_in_flight`
// exist (detached: each its own thread, kept for the next jobs — no thread per job), asked
// with a request: when the job throws, the worker answers with the error and stays; when the
// worker dies without answering, CAF answers that request with an error and the worker is
// forgotten. Either way the requester gets engine_errc::job_failed / job_crashed and the slot
// is freed. The next queued job starts when a running one ends. The workers end with the
// pool.
// Not here: timeouts of jobs (a job bounds its own waits: HTTP timeouts, command kill timers;
// a job that never returns holds its slot and its thread, and the actor system cannot shut
// down), priorities, retries.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
    caf::typed_response_promise<job_done> promise;
  };

  worker_pool_config cfg;
  std::deque<waiting> queue; ///< jobs beyond the bound, oldest first
  pool_stats stats;          ///< in_flight and queued kept current
  std::vector<worker_actor> idle; ///< workers waiting for a job
  /// Every live worker (shared with the exit hook that ends them with the pool).
  std::shared_ptr<std::vector<worker_actor>> workers = std::make_shared<std::vector<worker_actor>>();
};

using worker_pool_pointer = worker_pool_actor::stateful_pointer<worker_pool_state>;

/// The pool's behaviour (spawn with spawn_worker_pool).
worker_pool_actor::behavior_type worker_pool(worker_pool_pointer self, worker_pool_config cfg);

/// Spawns a pool; the config must be valid (see validate).
worker_pool_actor spawn_worker_pool(caf::actor_system& sys, worker_pool_config cfg = {});

/// The worker's behaviour: runs each job it is sent, one at a time.
worker_actor::behavior_type worker(worker_actor::pointer self);

/// Runs `fn` (returning a T) on `pool` for the actor `self`: `on_value(T&&)` gets what it
/// returned, `on_error(caf::error)` the pool's failure (engine_errc::job_failed when it threw,
/// job_crashed when its worker died). Both run on `self`'s thread.
template <class Self, class F, class OnValue, class OnError>
void run_blocking(Self self, const worker_pool_actor& pool, std::string name, F fn,
                  OnValue on_value, OnError on_error) {
  auto tj = make_job(std::move(name), std::move(fn));
  self->request(pool, caf::infinite, run_atom_v, std::move(tj.job))
    .then(
      [slot = tj.value, on_value, on_error](job_done& done) mutable {
        if (*slot)
          on_value(std::move(**slot));
        else // a worker answers only after the job returned: never seen
          on_error(make_error(engine_errc::job_failed, "job '" + done.name + "': no value"));
      },
      [on_error](caf::error& err) mutable { on_error(std::move(err)); });
}

} // namespace mda
