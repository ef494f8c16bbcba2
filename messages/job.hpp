// Messages of the worker pool: a blocking job, its result, the pool's counters.
//
// A job is a function run once on a thread outside the event-based actors; its value travels
// back type-erased (std::any), so any blocking call (an ACME request, an fsync, a command)
// fits without a message type per call. Jobs report their own failures inside that value
// (e.g. an mda::expected<T>); the pool adds only its own: an exception, a dead worker.
// Local only: a job holds a std::function, it never crosses a process.
#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

namespace mda {

/// One blocking unit of work.
struct blocking_job {
  std::string name;             ///< for logs and errors, e.g. "new-order example.org"
  std::function<std::any()> run; ///< called once on a worker thread; may block
};

/// What a job returned.
struct job_result {
  std::string name; ///< the job's name
  std::any value;   ///< what `run` returned

  /// The value as T, or nullptr when it holds something else.
  template <class T>
  T* get() { return std::any_cast<T>(&value); }
  template <class T>
  const T* get() const { return std::any_cast<T>(&value); }
};

/// A job from a function returning any copyable T.
template <class F>
blocking_job make_job(std::string name, F fn) {
  return blocking_job{std::move(name), [f = std::move(fn)]() mutable { return std::any(f()); }};
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::job_result)
