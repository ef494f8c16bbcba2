// INTERNAL to the domain actor (domain.cpp: effects, check, decide, timers, the policy;
// domain_events.cpp: events; domain_run.cpp: the steps of a renewal run). Not for other actors.
#pragma once

#include <cstddef>
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
/// Sends the snapshot to the status actor (paced: snapshot_pacing).
void publish(domain_pointer self);
void report(domain_pointer self, md_outcome o, std::string detail = {});

/// A blocking step's status as the run's failure: none when it succeeded, else
/// "<step> failed: <message>".
inline std::optional<run_failure> step_failure(const status& s, const std::string& step) {
  if (s) return std::nullopt;
  return plain_failure(step + " failed: " + s.error().message);
}

/// Carries out the effects of a transition of the MD's run, in order.
void drive(domain_pointer self, run_effects effects);

/// Delivers an event (rate limits, commands with the timeout); `done(ok, detail)`.
void deliver_event(domain_pointer self, const std::string& reason,
                   std::function<void(bool, std::string)> done);

/// The steps of a renewal run (domain_run.cpp), each answering into its transition.
void ask_account(domain_pointer self);
void order(domain_pointer self, std::size_t index);
void stage(domain_pointer self);
/// The CA for the next attempt; a switch wipes the staging of the old one.
void use_ca(domain_pointer self, const std::string& url, bool switched);

} // namespace mda::domain_detail
