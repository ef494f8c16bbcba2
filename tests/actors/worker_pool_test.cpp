// The worker pool: the bound on jobs in flight, the queue, failures reported to the requester.
// Deterministic part on the test_coordinator (workers as scheduled actors, run step by step);
// the detached workers of production on the real scheduler with gated jobs.
#include "actors/worker_pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>

#include "tests/actors/actor_fixture.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

struct client_log {
  std::vector<int> values;
  std::vector<std::string> errors;
};

/// Sends n jobs (job i returns i, records that it ran) and logs the answers.
caf::behavior client(caf::event_based_actor* self, worker_pool_actor pool, int n,
                     std::shared_ptr<std::vector<int>> ran, std::shared_ptr<client_log> log) {
  for (int i = 1; i <= n; ++i) {
    auto job = [i, ran] {
      ran->push_back(i);
      return i;
    };
    run_blocking(self, pool, "job " + std::to_string(i), std::move(job),
                 [log](int v) { log->values.push_back(v); },
                 [log](const caf::error& e) { log->errors.push_back(error_text(e)); });
  }
  return {[](int) {}};
}

} // namespace

TEST_CASE("worker pool: 9 jobs, 8 in flight, the 9th starts when one ends", "[actors][pool]") {
  test::actor_fixture fx;
  auto aut = spawn_worker_pool(fx.sys, {8, false});
  fx.sched.run();
  auto ran = std::make_shared<std::vector<int>>();
  auto log = std::make_shared<client_log>();
  auto cl = fx.sys.spawn(client, aut, 9, ran, log);
  auto pool_ptr = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(aut));
  auto cl_ptr = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(cl));
  auto only = [](caf::resumable* x) { return [x](caf::resumable* r) { return r == x; }; };

  fx.sched.run_jobs_filtered(only(cl_ptr));   // the client sends its 9 requests
  fx.sched.run_jobs_filtered(only(pool_ptr)); // the pool takes them all
  auto& st = fx.state_of<worker_pool_state>(aut);
  CHECK(st.stats.in_flight == 8);
  CHECK(st.stats.queued == 1);
  CHECK(st.stats.started == 8);
  CHECK(ran->empty());
  REQUIRE(fx.sched.jobs.size() == 8); // one worker per started job, none run yet

  fx.sched.run_once(); // the first worker runs job 1 and answers
  CHECK(*ran == std::vector<int>{1});
  CHECK(st.stats.started == 8);
  fx.sched.run_jobs_filtered(only(pool_ptr)); // the pool takes the answer, starts job 9
  CHECK(st.stats.in_flight == 8);
  CHECK(st.stats.queued == 0);
  CHECK(st.stats.started == 9);
  CHECK(st.stats.finished == 1);

  fx.sched.run();
  CHECK(*ran == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(log->values == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(log->errors.empty());
  auto stats = fx.ask<pool_stats>(aut, get_atom::value, stats_atom_v);
  CHECK(stats.max_in_flight == 8);
  CHECK(stats.in_flight == 0);
  CHECK(stats.peak_in_flight == 8);
  CHECK(stats.queued == 0);
  CHECK(stats.started == 9);
  CHECK(stats.finished == 9);
  CHECK(stats.failed == 0);
  fx.stop(aut, cl);
}

TEST_CASE("worker pool: a throwing job is reported and frees its slot", "[actors][pool]") {
  test::actor_fixture fx;
  auto aut = spawn_worker_pool(fx.sys, {1, false});
  auto boom = make_job("boom", []() -> int { throw std::runtime_error("disk on fire"); });
  auto err = fx.ask_error<job_done>(aut, run_atom_v, boom.job);
  CHECK(is_engine_error(err, engine_errc::job_failed));
  CHECK(error_text(err) == "job 'boom' failed: disk on fire");
  CHECK_FALSE(boom.value->has_value());
  auto next = make_job("next", [] { return std::string("ok"); });
  auto r = fx.ask<job_done>(aut, run_atom_v, next.job);
  CHECK(r.name == "next");
  REQUIRE(next.value->has_value());
  CHECK(**next.value == "ok");
  // the value's type is the job's own: nothing else can be read from it
  static_assert(std::is_same_v<decltype(next.value), std::shared_ptr<std::optional<std::string>>>);
  auto stats = fx.ask<pool_stats>(aut, get_atom::value, stats_atom_v);
  CHECK(stats.failed == 1);
  CHECK(stats.finished == 1);
  CHECK(stats.in_flight == 0);
  fx.stop(aut);
}

TEST_CASE("worker pool: a worker killed before answering is reported as a crash",
          "[actors][pool]") {
  test::actor_fixture fx;
  auto aut = spawn_worker_pool(fx.sys, {2, false});
  fx.sched.run();
  auto ran = std::make_shared<std::vector<int>>();
  auto log = std::make_shared<client_log>();
  auto cl = fx.sys.spawn(client, aut, 3, ran, log);
  auto pool_ptr = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(aut));
  fx.sched.run_once(); // the client (the only job) sends 3 requests
  fx.sched.run_jobs_filtered([&](caf::resumable* r) { return r == pool_ptr; });
  REQUIRE(fx.sched.jobs.size() == 2); // workers of jobs 1 and 2, not run yet
  auto first = caf::actor_cast<caf::actor>(&fx.sched.next_job<caf::abstract_actor>());
  // high priority: read before the job request already in its mailbox
  caf::anon_send<caf::message_priority::high>(first,
                                               caf::exit_msg{{}, caf::exit_reason::kill});
  fx.sched.run();
  CHECK(*ran == std::vector<int>{2, 3}); // job 3 took the freed slot
  CHECK(log->values == std::vector<int>{2, 3});
  REQUIRE(log->errors.size() == 1);
  CHECK(log->errors[0] == "job 'job 1' crashed: system_error(request_receiver_down)");
  auto& st = fx.state_of<worker_pool_state>(aut);
  CHECK(st.stats.failed == 1);
  CHECK(st.stats.finished == 2);
  CHECK(st.stats.in_flight == 0);
  fx.stop(aut, cl);
}

TEST_CASE("worker pool: validate", "[actors][pool]") {
  CHECK(!validate(worker_pool_config{}));
  auto err = validate(worker_pool_config{0, true});
  CHECK(error_text(err) == "worker pool: max_in_flight must be at least 1");
}

namespace {

/// Jobs that wait until the test opens their gate.
struct gates {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<int> started;
  std::vector<bool> open;
  int max_running = 0;
  int running = 0;

  explicit gates(int n) : open(static_cast<std::size_t>(n + 1), false) {}

  int run(int i) {
    std::unique_lock<std::mutex> lock{mtx};
    started.push_back(i);
    max_running = std::max(max_running, ++running);
    cv.notify_all();
    cv.wait(lock, [&] { return open[static_cast<std::size_t>(i)]; });
    --running;
    return i * 10;
  }
  void release(int i) {
    std::lock_guard<std::mutex> lock{mtx};
    open[static_cast<std::size_t>(i)] = true;
    cv.notify_all();
  }
  bool wait_started(std::size_t n) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, 5s, [&] { return started.size() >= n; });
  }
  int first_started() {
    std::lock_guard<std::mutex> lock{mtx};
    return started.front();
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock{mtx};
    return started.size();
  }
};

} // namespace

TEST_CASE("worker pool: detached workers on the real scheduler", "[actors][pool]") {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto aut = spawn_worker_pool(sys, {8, true});
  auto g = std::make_shared<gates>(9);
  {
    caf::scoped_actor self{sys};
    std::map<std::string, std::shared_ptr<std::optional<int>>> slots;
    for (int i = 1; i <= 9; ++i) {
      auto job = make_job("gated " + std::to_string(i), [g, i] { return g->run(i); });
      slots[job.job.name] = job.value;
      self->send(aut, run_atom_v, std::move(job.job));
    }
    // answers to send() arrive as ordinary messages
    REQUIRE(g->wait_started(8));
    std::this_thread::sleep_for(100ms);
    CHECK(g->count() == 8); // the 9th waits for a slot
    g->release(g->first_started());
    REQUIRE(g->wait_started(9));
    for (int i = 1; i <= 9; ++i)
      g->release(i);
    std::vector<int> values;
    for (int i = 0; i < 9; ++i)
      self->receive([&](job_done& r) { values.push_back(**slots.at(r.name)); },
                    caf::after(5s) >> [] { FAIL("no answer"); });
    std::sort(values.begin(), values.end());
    CHECK(values == std::vector<int>{10, 20, 30, 40, 50, 60, 70, 80, 90});
    self->request(aut, 5s, run_atom_v,
                             make_job("throws", []() -> int { throw std::logic_error("bad"); }).job)
                 .receive([](job_done&) { FAIL("no error"); },
                          [](caf::error& e) { CHECK(error_text(e) == "job 'throws' failed: bad"); });
    pool_stats stats;
    self->request(aut, 5s, get_atom::value, stats_atom_v)
      .receive([&](pool_stats& s) { stats = s; }, [](caf::error& e) { FAIL(error_text(e)); });
    CHECK(g->max_running == 8);
    CHECK(stats.failed == 1);
    self->send_exit(aut, caf::exit_reason::user_shutdown);
  }
}
