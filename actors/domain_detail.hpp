// INTERNAL to the domain actor (domain.cpp: check, decide, timers, failures; domain_events.cpp:
// events; domain_run.cpp: the renewal run). Not for other actors.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "actors/domain.hpp"
#include "actors/worker_pool.hpp"
#include "acme/problem.hpp"

namespace mda::domain_detail {

/// Runs `fn` (returning T, constructible from mda::error) on `pool`; `k(T)` gets the value, or
/// the pool's failure as an error value.
template <class T, class F, class K>
void run_job(domain_pointer self, const worker_pool_actor& pool, std::string name, F fn, K k) {
  run_blocking(
    self, pool, std::move(name), [f = std::move(fn)]() mutable { return T(f()); },
    [k](T&& v) mutable { k(std::move(v)); },
    [k](const caf::error& e) mutable {
      k(T(error(std::make_error_code(std::errc::io_error), error_text(e))));
    });
}

sys_time now(domain_pointer self);
void log(domain_pointer self, const std::string& line);
/// Schedules a check at `at` (replacing any earlier timer).
void arm(domain_pointer self, sys_time at);
/// Writes job.json (coalesced, in order) and sends the snapshot to the status actor.
void persist_job(domain_pointer self);
/// Sends the snapshot to the status actor: once for the steps taken until a publish_atom to
/// itself comes back (so a burst of steps costs one snapshot message, not one per step).
void publish(domain_pointer self);
/// Runs `fn` once every job.json write started so far has finished (at once when none is).
void when_job_saved(domain_pointer self, std::function<void()> fn);
void report(domain_pointer self, md_outcome o, std::string detail = {});
void start_check(domain_pointer self);

/// Delivers an event (rate limits, commands with the timeout); `done(ok, detail)`.
void deliver_event(domain_pointer self, const std::string& reason,
                   std::function<void(bool, std::string)> done);

/// A failed step of a run: counts it, plans the retry with the policy, arms the timer.
void fail_run(domain_pointer self, std::string detail, std::optional<acme::problem> prob);

/// The renewal run (domain_run.cpp).
void start_renewal(domain_pointer self);
/// The run's outcome was staged and the job finished: look again (ready-at, renewed).
void finish_run(domain_pointer self);

} // namespace mda::domain_detail
