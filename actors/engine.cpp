// The engine (see engine.hpp).
#include "actors/engine.hpp"
#include "core/process.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/cluster_setup.hpp"
#include "store/fs_io.hpp"
#include "store/fs_store.hpp"

namespace mda {

namespace {

/// The outcomes reported so far, shared with the actors' threads.
struct outcomes {
  std::mutex mu;
  std::map<std::string, md_outcome> by_md;

  void put(const md_report& r) {
    std::lock_guard<std::mutex> lock(mu);
    by_md[r.md] = r.outcome;
  }
  bool all(std::size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    return by_md.size() >= n;
  }
  bool any_failed() {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [md, o] : by_md)
      if (o == md_outcome::failed) return true;
    return false;
  }
};

/// The status file as the engine leaves it: the paced writes may be behind, so the last
/// snapshot is written here (retried while a paced write holds the temp file).
void final_status(caf::actor_system& sys, const engine_actors& a, const std::string& path,
                  const engine_log& log) {
  caf::scoped_actor self{sys};
  std::optional<status_snapshot> snap;
  self->request(a.status, std::chrono::seconds(2), caf::get_atom_v, snapshot_atom_v)
    .receive([&](status_snapshot& s) { snap = std::move(s); },
             [&](caf::error& e) { log("engine: no final status: " + error_text(e)); });
  if (!snap) return;
  // Entry by entry (status/snapshot.hpp): the same text as the status actor's writes, without
  // the JSON tree of all MDs (10,000 MDs: ~50 MB).
  const auto text = render_snapshot_file(*snap);
  snap.reset();
  status s;
  for (int i = 0; i < 20; ++i) {
    s = fsio::write_file_atomic(path, text, 0644);
    if (s) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  log("engine: writing the final status failed: " + s.error().message);
}

/// One line on the orders the engine ran ("engine: orders: 100 started, at most 8 at once
/// (MDRenewParallel 8)"): benchmarks and admins read the parallelism reached from it.
void log_order_stats(caf::actor_system& sys, const engine_actors& a, const engine_log& log) {
  if (!a.order_pool) return;
  caf::scoped_actor self{sys};
  self->request(a.order_pool, std::chrono::seconds(2), caf::get_atom_v, stats_atom_v)
    .receive(
      [&](pool_stats& st) {
        if (st.started == 0) return;
        log("engine: orders: " + std::to_string(st.started) + " started, at most " +
            std::to_string(st.peak_in_flight) + " at once (MDRenewParallel " +
            std::to_string(st.max_in_flight) + ")");
      },
      [&](caf::error&) {});
}

/// glibc's allocator in the engine's process. By default every thread that allocates gets its
/// own arena (up to 8 per core) and keeps what is freed there; the engine's bursts (job.json
/// writes, events, status snapshots of thousands of MDs on a dozen pool and scheduler threads)
/// then left two to three times the live heap resident (10,000 MDs, CA down: 780 MB RSS after
/// 40 s, ~300 MB of it returned by one malloc_trim). Two arenas; a fixed mmap threshold, so
/// large transient buffers (the status texts) are mapped and unmapped instead of raising the
/// threshold and staying in an arena. Process-wide: the engine owns its process (mdctl run,
/// the Apache module's engine process); elsewhere (tests) it is harmless.
void tune_allocator() {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

/// Gives the free pages of every arena back to the system (glibc; elsewhere nothing).
void trim_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

/// How often the waiting loop trims the heap.
constexpr auto k_trim_interval = std::chrono::seconds(10);

} // namespace

int run_engine(const engine_config& cfg, const engine_options& opts) {
  engine_log log = opts.log;
  if (!log) {
    auto mu = std::make_shared<std::mutex>();
    log = [mu](const std::string& line) {
      std::lock_guard<std::mutex> lock(*mu);
      std::cerr << line << "\n";
    };
  }
  const engine_log& fail = opts.error ? opts.error : log;
  if (auto s = validate(cfg); !s) {
    fail("engine: " + s.error().message);
    return 2;
  }
  std::shared_ptr<store> shared_store = opts.st;
  if (!shared_store) {
    auto st = fs_store::open(cfg.settings.store_dir);
    if (!st) {
      fail("engine: " + st.error().message);
      return 2;
    }
    shared_store = std::make_shared<fs_store>(std::move(*st));
  }
  // MDStoreEtcd: the engine's store publishes to the cluster's (actors/cluster_setup.hpp)
  std::optional<engine_cluster> cluster;
  if (cfg.settings.cluster.enabled()) {
    auto c = setup_cluster(cfg, shared_store, secret_of(*shared_store), log);
    if (!c) {
      fail("engine: " + c.error().message);
      return 2;
    }
    cluster = std::move(*c);
  }
  // The User's directory for the status file (the Apache parent makes it; mdctl may not).
  (void)fsio::make_dirs(engine_dir(cfg.settings), 0700);
  tune_allocator(); // before the actor system starts its threads
  auto seen = std::make_shared<outcomes>();
  caf::actor_system_config sc;
  register_message_types(sc);
  sc.set("logger.file-verbosity", caf::atom("quiet"));
  sc.set("logger.console-verbosity", caf::atom("quiet"));
  // The actors only dispatch (every blocking step runs on the pools' own threads), so the
  // scheduler threads are mostly idle: CAF's default work stealing lets idle workers poll
  // with 50 us sleeps (tens of thousands of wake-ups per second, measured as most of the
  // engine's system time); the sharing policy makes them wait on a condition variable.
  sc.set("scheduler.policy", caf::atom("sharing"));
  if (opts.scheduler_threads > 0) sc.set("scheduler.max-threads", opts.scheduler_threads);
  int rc = 0;
  {
    caf::actor_system sys(sc);
    supervisor_options so;
    so.st = cluster ? cluster->st : shared_store;
    if (cluster) so.cluster = cluster->service;
    so.env = make_system_env();
    so.challenges = opts.challenges;
    so.transports = opts.transports;
    so.activate = opts.activate;
    so.log = log;
    so.warn = opts.warn ? opts.warn : log;
    so.error = opts.gave_up ? opts.gave_up : log;
    so.status_seed = opts.status_seed;
    so.engine_restarts = opts.restarts;
    auto user = opts.observer;
    so.observer = [seen, user, log](const md_report& r) {
      seen->put(r);
      log(r.md + ": " + to_string(r.outcome) + (r.detail.empty() ? "" : " (" + r.detail + ")"));
      if (user) user(r);
    };
    auto actors = spawn_engine_actors(sys, cfg, so);
    if (!actors) {
      fail("engine: " + error_text(actors.error()));
      return 2;
    }
    if (cluster) {
      // the cluster service's "look again" goes to the MD's domain actor (the current one:
      // the supervisor restarts them)
      auto sup = actors->supervisor;
      caf::actor_system* sysp = &sys;
      std::vector<std::string> names;
      for (const auto& em : cfg.mds) names.push_back(em.md.name);
      cluster->notify->set([sup, sysp, names](const std::string& md) {
        // "" = every MD publishes its snapshot again (etcd's reachability changed)
        caf::scoped_actor self{*sysp};
        for (const auto& name : md.empty() ? names : std::vector<std::string>{md}) {
          self->request(sup, std::chrono::seconds(5), caf::get_atom_v, name)
            .receive(
              [&md](domain_actor& d) {
                if (md.empty())
                  caf::anon_send(d, publish_atom_v);
                else
                  caf::anon_send(d, check_atom_v);
              },
              [](caf::error&) {});
        }
      });
    }
    // The supervisor ends on its own only when it gives up (it logged why); stop_engine_actors
    // below ends it with user_shutdown.
    auto gave_up = std::make_shared<std::atomic<bool>>(false);
    caf::actor_cast<caf::abstract_actor*>(actors->supervisor)
      ->attach_functor([gave_up](const caf::error& reason) {
        if (reason != caf::exit_reason::user_shutdown) *gave_up = true;
      });
    auto next_trim = std::chrono::steady_clock::now() + k_trim_interval;
    while (!(opts.stop && opts.stop())) {
      if (opts.once && seen->all(cfg.mds.size())) break;
      if (*gave_up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (std::chrono::steady_clock::now() >= next_trim) {
        trim_heap();
        next_trim = std::chrono::steady_clock::now() + k_trim_interval;
      }
    }
    // Told to stop (Apache gives the engine 3 s before SIGKILL): commands still running
    // (MDNotifyCmd, MDMessageCmd) are ended with their process groups, not left behind.
    if (opts.stop && opts.stop()) {
      if (std::size_t n = terminate_running_processes(std::chrono::seconds(1)))
        log("engine: stopping: ended " + std::to_string(n) + " running command(s)");
    }
    log_order_stats(sys, *actors, log);
    final_status(sys, *actors, status_file_path(cfg.settings), log);
    if (cluster) {
      cluster->notify->set({});
      cluster->service->stop(); // revokes the lease: the other nodes take over at once
    }
    stop_engine_actors(*actors);
    rc = *gave_up ? 3 : seen->any_failed() ? 1 : 0;
  } // ~actor_system on this thread: waits for every actor
  return rc;
}

std::function<bool()> stop_on_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto stopped = std::make_shared<std::atomic<bool>>(false);
  return [set, stopped]() {
    if (*stopped) return true;
    timespec zero{0, 0};
    if (sigtimedwait(&set, nullptr, &zero) > 0) *stopped = true;
    return stopped->load();
  };
}

} // namespace mda
