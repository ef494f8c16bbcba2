// The worker pool and its one-shot workers (see worker_pool.hpp).
#include "actors/worker_pool.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/spawn_options.hpp>

namespace mda {

caf::error validate(const worker_pool_config& cfg) {
  if (cfg.max_in_flight < 1)
    return make_error(engine_errc::bad_request, "worker pool: max_in_flight must be at least 1");
  return caf::none;
}

worker_actor::behavior_type worker(worker_actor::pointer) {
  return {
    [](run_atom, blocking_job& job) -> caf::result<job_done> {
      try {
        job.run();
        return job_done{job.name};
      } catch (const std::exception& e) {
        return make_error(engine_errc::job_failed,
                          "job '" + job.name + "' failed: " + e.what());
      } catch (...) {
        return make_error(engine_errc::job_failed,
                          "job '" + job.name + "' failed: unknown exception");
      }
    },
  };
}

namespace {

void start_next(worker_pool_pointer self);

/// An idle worker, or a new one (the caller keeps the number of workers within the bound).
worker_actor take_worker(worker_pool_pointer self) {
  auto& st = self->state;
  if (!st.idle.empty()) {
    auto wk = std::move(st.idle.back());
    st.idle.pop_back();
    return wk;
  }
  worker_actor wk = st.cfg.detached ? self->spawn<caf::detached>(worker) : self->spawn(worker);
  st.workers->push_back(wk);
  return wk;
}

void forget_worker(worker_pool_pointer self, const worker_actor& wk) {
  auto& all = *self->state.workers;
  all.erase(std::remove(all.begin(), all.end(), wk), all.end());
}

/// Hands the job to a worker; the promise is kept in the reply handlers.
void start(worker_pool_pointer self, worker_pool_state::waiting w) {
  auto& st = self->state;
  ++st.stats.started;
  ++st.stats.in_flight;
  st.stats.peak_in_flight = std::max(st.stats.peak_in_flight, st.stats.in_flight);
  worker_actor wk = take_worker(self);
  auto name = w.job.name;
  auto promise = w.promise;
  self->request(wk, caf::infinite, run_atom_v, std::move(w.job))
    .then(
      [self, promise, wk](job_done& r) mutable {
        ++self->state.stats.finished;
        promise.deliver(std::move(r));
        --self->state.stats.in_flight;
        self->state.idle.push_back(wk);
        start_next(self);
      },
      [self, promise, name, wk](caf::error& err) mutable {
        ++self->state.stats.failed;
        if (err.category() == engine_error_category) {
          promise.deliver(std::move(err)); // the job threw; its worker is fine
          self->state.idle.push_back(wk);
        } else {
          promise.deliver(make_error(engine_errc::job_crashed,
                                     "job '" + name + "' crashed: " + error_text(err)));
          forget_worker(self, wk);
        }
        --self->state.stats.in_flight;
        start_next(self);
      });
}

void start_next(worker_pool_pointer self) {
  auto& st = self->state;
  while (!st.queue.empty() && st.stats.in_flight < st.cfg.max_in_flight) {
    auto w = std::move(st.queue.front());
    st.queue.pop_front();
    start(self, std::move(w));
  }
  st.stats.queued = static_cast<std::uint32_t>(st.queue.size());
}

} // namespace

worker_pool_actor::behavior_type worker_pool(worker_pool_pointer self, worker_pool_config cfg) {
  self->state.cfg = cfg;
  self->state.stats.max_in_flight = static_cast<std::uint32_t>(cfg.max_in_flight);
  // The workers are not linked (a killed worker must not take the pool down): they are
  // ended here when the pool ends, however it ends.
  self->attach_functor([workers = self->state.workers](const caf::error&) {
    for (const auto& wk : *workers)
      caf::anon_send_exit(wk, caf::exit_reason::user_shutdown);
  });
  return {
    [self](run_atom, blocking_job& job) -> caf::typed_response_promise<job_done> {
      auto promise = self->make_response_promise<job_done>();
      self->state.queue.push_back({std::move(job), promise});
      start_next(self);
      return promise;
    },
    [self](get_atom, stats_atom) -> pool_stats { return self->state.stats; },
  };
}

worker_pool_actor spawn_worker_pool(caf::actor_system& sys, worker_pool_config cfg) {
  return sys.spawn(worker_pool, cfg);
}

} // namespace mda
