// Messages of the worker pool: a blocking job, its completion, the pool's counters.
//
// A job is a function run once on a thread outside the event-based actors. Its value never
// travels through the pool: make_job gives the caller a typed slot (shared with the job) that
// the job fills on its worker; the pool answers job_done, and the caller's continuation reads
// the slot (the answer arrives after the write, so no lock). Any blocking call (an ACME
// request, an fsync, a command) fits without a message type per call, and nothing is cast.
// Jobs report their own failures inside their value (e.g. an mda::expected<T>); the pool adds
// only its own as an error: an exception, a dead worker.
// Local only: a job holds a std::function, it never crosses a process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

namespace mda {

/// One blocking unit of work.
struct blocking_job {
  std::string name;          ///< for logs and errors, e.g. "new-order example.org"
  std::function<void()> run; ///< called once on a worker thread; may block; fills its slot
};

/// The pool's answer: the job ran to its end (its value is in the caller's slot).
struct job_done {
  std::string name; ///< the job's name
};

/// A job that computes a T, and the slot it fills: the caller sends `job` and reads `*value`
/// once the pool answered job_done (set then, unless the job threw).
template <class T>
struct typed_job {
  blocking_job job;
  std::shared_ptr<std::optional<T>> value;
};

/// A job from a function returning any movable T (not void).
template <class F>
auto make_job(std::string name, F fn) -> typed_job<std::decay_t<std::invoke_result_t<F&>>> {
  using value_type = std::decay_t<std::invoke_result_t<F&>>;
  auto slot = std::make_shared<std::optional<value_type>>();
  auto run = [slot, f = std::move(fn)]() mutable { slot->emplace(f()); };
  return {blocking_job{std::move(name), std::move(run)}, slot};
}

/// The counters of a worker pool.
struct pool_stats {
  std::uint32_t max_in_flight = 0; ///< the configured bound
  std::uint32_t in_flight = 0;     ///< jobs running now
  std::uint32_t peak_in_flight = 0; ///< the most jobs that ran at once so far
  std::uint32_t queued = 0;        ///< jobs waiting for a free slot
  std::uint64_t started = 0;       ///< jobs handed to a worker so far
  std::uint64_t finished = 0;      ///< jobs that returned a value
  std::uint64_t failed = 0;        ///< jobs that threw or whose worker died
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_stats& x) {
  return f(caf::meta::type_name("pool_stats"), x.max_in_flight, x.in_flight, x.peak_in_flight, x.queued,
           x.started, x.finished, x.failed);
}

} // namespace mda

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::blocking_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::job_done)
