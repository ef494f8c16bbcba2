// The engine process (see engine_process.hpp).
#include "httpd/engine_process.hpp"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_listen.h>
#include <apr_thread_proc.h>
#include <mod_unixd.h>

#include "actors/engine.hpp"
#include "core/config_files.hpp"
#include "core/confine.hpp"
#include "core/events.hpp"
#include "core/launcher.hpp"
#include "httpd/module.hpp"
#include "store/engine_store.hpp"
#include "store/fs_io.hpp"

APLOG_USE_MODULE(md);

namespace mda::httpd {

namespace {

/// What a re-fork needs; lives until the next pass replaces it (the .so stays loaded).
struct engine_proc {
  apr_pool_t* pool = nullptr; ///< pconf of the pass: its cleanup ends the process
  server_rec* server = nullptr;
  engine_config cfg;
  std::vector<md_snapshot> status_seed;
  /// What the engine needs of root's files, read here in the parent (engine_store.hpp).
  std::shared_ptr<const store_preload> preload;
  apr_proc_t* proc = nullptr; ///< in `pool`: the pool's cleanup reads it after this is gone
  pid_t parent = 0;
  apr_time_t forked_at = 0;
  int quick_deaths = 0; ///< deaths in a row within k_quick_death of the fork
  std::int64_t restarts = 0; ///< re-forks after a death in this pass (md-metrics' counter)
};

std::unique_ptr<engine_proc> g_engine;

constexpr int k_exit_no_start = 2; ///< run_engine: could not start (not re-forked)
constexpr int k_exit_failed = 3;   ///< an exception ended it (re-forked, with backoff)
constexpr apr_time_t k_quick_death = apr_time_from_sec(10);
constexpr int k_max_backoff_s = 60;

/// Before a re-fork after quick deaths the child waits 2^n s (at most a minute), so a crashing
/// engine does not fork in a loop. True: stop arrived meanwhile.
bool backoff(const std::function<bool()>& stop, int quick_deaths) {
  if (quick_deaths <= 0) return false;
  const int seconds = quick_deaths >= 6 ? k_max_backoff_s : std::min(k_max_backoff_s, 1 << quick_deaths);
  for (int i = 0; i < seconds * 10; ++i) {
    if (stop()) return true;
    usleep(100'000);
  }
  return stop();
}

/// The programs the launcher may run: every configured MDMessageCmd, MDNotifyCmd and
/// MDChallengeDns01 (server-wide and per MD), by their absolute path.
std::vector<std::string> configured_programs(const engine_config& cfg) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& line) {
    if (line.empty()) return;
    auto argv = tokenize_command_line(line);
    if (!argv.empty() && std::find(out.begin(), out.end(), argv[0]) == out.end()) out.push_back(argv[0]);
  };
  add(cfg.settings.message_cmd);
  add(cfg.settings.notify_cmd);
  add(cfg.settings.dns01_cmd);
  for (const auto& em : cfg.mds) add(em.md.dns01_cmd);
  return out;
}

/// Where the engine may write (Landlock): the store's User-owned groups, its own directory,
/// and the directories of a status file or socket configured elsewhere.
std::vector<std::string> writable_dirs(const engine_config& cfg) {
  const std::string& store = cfg.settings.store_dir;
  std::vector<std::string> out{store + "/staging", store + "/challenges", store + "/ocsp", engine_dir(cfg.settings)};
  for (const std::string& file : {status_file_path(cfg.settings), cfg.settings.status_socket}) {
    if (file.empty()) continue;
    const auto slash = file.rfind('/');
    const std::string dir = slash == std::string::npos || slash == 0 ? "/" : file.substr(0, slash);
    if (std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
  }
  // A group directory that does not exist yet cannot carry a rule; the store makes them at
  // the parent's start, so only a store that lost one meets this.
  out.erase(std::remove_if(out.begin(), out.end(), [](const std::string& d) { return ::access(d.c_str(), F_OK) != 0; }),
            out.end());
  return out;
}

/// Signal set-up of the child: Apache's handlers are inherited; the restart signals are not
/// ours (prefork signals its whole process group), SIGCHLD must reach the engine's waits.
void child_signals() {
  for (int sig : {SIGHUP, SIGUSR1, SIGWINCH, SIGPIPE}) std::signal(sig, SIG_IGN);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT}) std::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

/// The child's work; its result is the exit code.
int child_run() {
  server_rec* s = g_engine->server;
  prctl(PR_SET_NAME, "md-engine"); // `ps -o comm` tells it from the workers
  ap_close_listeners();
  child_signals();
  if (ap_unixd_setup_child() != 0) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0141: engine process: dropping privileges failed");
    return k_exit_no_start;
  }
  prctl(PR_SET_DUMPABLE, 0); // no ptrace or /proc/<pid>/mem for other processes of the User
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != g_engine->parent) return 0; // the parent went before PDEATHSIG was set
  // The launcher first: it keeps what the confinement takes away (execve, gaining privileges
  // through sudo), and forgets the store's secrets the fork copied into it.
  auto launcher = start_launcher(
      configured_programs(g_engine->cfg),
      [] {
        g_engine->preload.reset();
        if (module_state* st = mutable_state()) st->store.reset();
      },
      [s] {
        // Confined, the engine cannot start another launcher: it stops, and Apache starts a
        // new engine (with a new launcher).
        static std::once_flag once;
        std::call_once(once, [s] {
          ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                       "MDA0141: engine process: its launcher is gone; the engine stops and is started again");
          ::kill(::getpid(), SIGTERM);
        });
      });
  if (!launcher) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0186: engine could not start: %s",
                 launcher.error().message.c_str());
    return k_exit_no_start;
  }
  confinement c;
  c.writable = writable_dirs(g_engine->cfg);
  auto confined = confine_process(c);
  if (!confined) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0186: engine could not start: confining the process: %s",
                 confined.error().message.c_str());
    return k_exit_no_start;
  }
  ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
               "MDA0143: engine process %ld confined: no capabilities, no new privileges, seccomp "
               "filter, %s; launcher %ld",
               static_cast<long>(getpid()),
               confined->landlock_abi > 0 ? ("writes only below " + std::to_string(confined->writable.size()) +
                                             " directories (Landlock ABI " + std::to_string(confined->landlock_abi) + ")")
                                                .c_str()
                                          : "no Landlock in this kernel",
               static_cast<long>(launcher->pid));
  auto stop = stop_on_signals();
  engine_options opts;
  opts.stop = stop;
  opts.activate = false;
  opts.status_seed = g_engine->status_seed;
  opts.st = std::make_shared<engine_store>(g_engine->preload);
  if (auto copies = use_file_copies(g_engine->preload->outside); !copies) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0186: engine could not start: %s", copies.error().message.c_str());
    return k_exit_no_start;
  }
  auto mu = std::make_shared<std::mutex>();
  opts.log = [mu, s](const std::string& line) {
    std::lock_guard<std::mutex> lock(*mu);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "MDA0142: engine: %s", line.c_str());
  };
  opts.warn = [mu, s](const std::string& line) {
    std::lock_guard<std::mutex> lock(*mu);
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MDA0185: engine: %s", line.c_str());
  };
  opts.error = [mu, s](const std::string& line) {
    std::lock_guard<std::mutex> lock(*mu);
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0186: engine could not start: %s", line.c_str());
  };
  opts.gave_up = [mu, s](const std::string& line) {
    // the supervisor's restart limit, or a shared actor lost: this engine ends (exit 3) and
    // the parent forks a new one
    std::lock_guard<std::mutex> lock(*mu);
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0151: engine gives up, a new one starts: %s",
                 line.c_str());
  };
  if (backoff(stop, g_engine->quick_deaths)) return 0;
  ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MDA0144: engine process %ld started for %d MD(s)",
               static_cast<long>(getpid()), static_cast<int>(g_engine->cfg.mds.size()));
  opts.restarts = g_engine->restarts;
  const int rc = run_engine(g_engine->cfg, opts);
  ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MDA0149: engine process %ld ends with %d",
               static_cast<long>(getpid()), rc);
  return rc;
}

/// The child's body; never returns, nothing unwinds into Apache's code (the child would go on
/// as a second server).
[[noreturn]] void child_main() {
  int rc = k_exit_failed;
  try {
    rc = child_run();
  } catch (const std::exception& e) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, g_engine->server, "MDA0141: engine process failed: %s", e.what());
  } catch (...) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, g_engine->server, "MDA0141: engine process failed");
  }
  _exit(rc);
}

void maintenance(int reason, void* data, apr_wait_t status);

/// Forks the engine; in the parent registers it for the pool's cleanup and for re-forks.
void fork_engine() {
  engine_proc& e = *g_engine;
  e.parent = getpid();
  e.proc = static_cast<apr_proc_t*>(apr_pcalloc(e.pool, sizeof(apr_proc_t)));
  e.forked_at = apr_time_now();
  const apr_status_t rv = apr_proc_fork(e.proc, e.pool);
  if (rv == APR_INCHILD) child_main();
  if (rv != APR_INPARENT) {
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, e.server, "MDA0140: engine process: fork failed");
    return;
  }
  apr_pool_note_subprocess(e.pool, e.proc, APR_KILL_AFTER_TIMEOUT);
  apr_proc_other_child_register(e.proc, maintenance, &e, nullptr, e.pool);
  ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, e.server, "MDA0145: engine process %ld forked",
               static_cast<long>(e.proc->pid));
}

/// apr other-child callback, run by the MPM in the parent.
void maintenance(int reason, void* data, apr_wait_t status) {
  auto* e = static_cast<engine_proc*>(data);
  if (e != g_engine.get()) return;
  switch (reason) {
  case APR_OC_REASON_DEATH:
  case APR_OC_REASON_LOST:
    apr_proc_other_child_unregister(e);
    // `status`: the exit code or the signal number, as the MPM's apr_proc_wait_all_procs
    // decoded it (signal 2, SIGINT, is taken by the engine as "stop" and ends with 0).
    if (reason == APR_OC_REASON_DEATH && status == k_exit_no_start) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, e->server,
                   "MDA0146: engine process %ld could not start; not restarted before the next "
                   "(graceful) restart", static_cast<long>(e->proc->pid));
      return;
    }
    e->quick_deaths = apr_time_now() - e->forked_at < k_quick_death ? e->quick_deaths + 1 : 0;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, e->server,
                 "MDA0147: engine process %ld ended (exit code or signal %d), starting a new one",
                 static_cast<long>(e->proc->pid), static_cast<int>(status));
    ++e->restarts;
    fork_engine();
    break;
  case APR_OC_REASON_RESTART:
  case APR_OC_REASON_UNREGISTER:
  default:
    break; // the pool cleanup stops it
  }
}

apr_status_t forget_engine(void* data) {
  if (g_engine.get() == data) g_engine.reset();
  return APR_SUCCESS;
}

/// <store>/mdactor-engine.json, for debugging and md-replay (may hold EAB keys: 0600). Atomic
/// but not fsynced: it is rewritten at every start and the engine gets its configuration in
/// memory, so a lost copy costs nothing (and the start no fsyncs).
void write_config_file(server_rec* s, const engine_config& cfg) {
  const std::string path = cfg.settings.store_dir + "/mdactor-engine.json";
  fsio::atomic_write_options opts;
  opts.durable = false;
  if (auto r = fsio::write_file_atomic(path, to_json(cfg).dump(2), 0600, opts); !r) {
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MDA0148: writing %s: %s", path.c_str(),
                 r.error().message.c_str());
  }
}

} // namespace

/// The status socket's path: MDActorStatusSocket, else status.sock in the User's directory of
/// the store (engine_dir; the parent made it at its start). "" when its directory is missing:
/// the engine then runs without a socket and workers read the status file; said once per
/// start, at warn level.
std::string status_socket_path(apr_pool_t* pconf, server_rec* s, const engine_settings& settings) {
  const std::string path = settings.status_socket.empty() ? default_status_socket(settings) : settings.status_socket;
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  apr_finfo_t info;
  const apr_status_t rv = apr_stat(&info, dir.c_str(), APR_FINFO_TYPE, pconf);
  if (rv == APR_SUCCESS && info.filetype == APR_DIR) return path;
  ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
               "MDA0187: no status socket: directory %s does not exist; md-status, "
               "certificate-status and server-status are served from the status file, updated "
               "every half second (for live answers create %s or set MDActorStatusSocket)",
               dir.c_str(), dir.c_str());
  return std::string();
}

void start_engine_process(apr_pool_t* pconf, server_rec* s, const fs_store& st, engine_config& cfg,
                          std::vector<md_snapshot> status_seed) {
  if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG || cfg.mds.empty()) return;
  cfg.settings.status_socket = status_socket_path(pconf, s, cfg.settings);
  std::vector<managed_domain> mds;
  // Files outside the store the engine reads; the User may not be able to open them.
  std::vector<std::string> outside = cfg.settings.staple_other_files;
  for (const std::string* ca : {&cfg.settings.ca_certs, &cfg.settings.proxy_ca_certs})
    if (!ca->empty()) outside.push_back(*ca);
  for (const auto& em : cfg.mds) {
    mds.push_back(em.md);
    outside.insert(outside.end(), em.md.cert_files.begin(), em.md.cert_files.end());
    for (const std::string* ca : {&em.md.ca_certs, &em.md.proxy_ca_certs})
      if (!ca->empty()) outside.push_back(*ca);
  }
  auto preload = preload_for_engine(st, mds, outside);
  if (!preload) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0186: engine could not start: reading the store for it: %s",
                 preload.error().message.c_str());
    return;
  }
  write_config_file(s, cfg);
  g_engine = std::make_unique<engine_proc>();
  g_engine->pool = pconf;
  g_engine->server = s;
  g_engine->cfg = cfg;
  g_engine->status_seed = std::move(status_seed);
  g_engine->preload = std::make_shared<const store_preload>(std::move(*preload));
  // At the pool's clear the cleanups run first, in reverse order (the other-child
  // registration, then this one), then the noted subprocess is killed (SIGTERM, SIGKILL).
  apr_pool_cleanup_register(pconf, g_engine.get(), forget_engine, apr_pool_cleanup_null);
  fork_engine();
}

} // namespace mda::httpd
