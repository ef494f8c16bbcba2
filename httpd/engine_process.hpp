// The engine process of mod_mdactor (DESIGN.md "Process model"; issue 5 item 3): one process
// forked from the Apache parent on the real configuration pass, as mod_cgid forks its
// daemon, that runs the actor engine (actors/engine.hpp run_engine) for the configuration of
// that pass until the pass ends.
//
// - Started from the post_config after mod_ssl (the final configuration), never on the dry
//   run. The parent writes the configuration to <store>/mdactor-engine.json (0600, atomic;
//   for debugging and `md-replay --config`); the child uses the in-memory copy fork gave it.
// - The parent reads for it what it needs of root's files (store/engine_store.hpp
//   store_preload: the store secret, domains/ certificates, accounts, CA and certificate files
//   outside the store), kept for re-forks; docs/process-model.md.
// - The child: closes the listeners, drops to the User with ap_unixd_setup_child() (no
//   capability kept), PR_SET_DUMPABLE 0, PR_SET_PDEATHSIG; forks its launcher
//   (core/launcher.hpp: MDMessageCmd and friends run there, as the User, unconfined); then
//   confines itself (core/confine.hpp: no capability, NoNewPrivs, Landlock where the kernel
//   has it, a seccomp filter without execve). Any of these failing is MDA0186 at error level
//   and exit code 2. It ignores Apache's restart signals, takes SIGTERM/SIGINT as "stop" and
//   leaves with _exit. Its name (comm) is "md-engine". The CAF actor system exists only in
//   this process, on its main thread, over an engine_store.
// - Engine options: activate=false (Apache activates staged sets at its next restart, as
//   mod_md does), challenges in the store's challenges/ group (Apache answers them), no
//   embedded responders; the status file and socket in the User's directory of the store
//   (<store>/mdactor/status.json and status.sock, unless set). The socket path is also
//   written back into the module state, so the workers find it.
// - Re-forked when it dies (apr other-child DEATH/LOST), unless it exited with 2 ("could not
//   start": the same configuration would fail again; logged). An engine whose supervisor gave
//   up (actors/supervisor_actor.hpp: restart limit, a shared actor lost) exits with 3, logged
//   at error (MDA0151), and is re-forked like one that died. After deaths in a row within
//   10 s of the fork the new child waits 2, 4, ... 60 s before it starts the engine. Stopped
//   when pconf is cleared (graceful, restart, stop): SIGTERM, up to 3 s for a clean end, then
//   SIGKILL (APR's APR_KILL_AFTER_TIMEOUT): a restart waits at most that long (an idle engine
//   ends in ~100 ms; one waiting for a hanging MDChallengeDns01 program has its launcher end
//   the program, SIGTERM then SIGKILL after 1 s, and the launcher does so by itself when the
//   engine is gone). Apache never waits on it otherwise.
// Not here: the engine itself (actors/), answering challenges (request hooks), activation
// (store/registry.hpp).
#pragma once

#include <httpd.h>
#include <apr_pools.h>

#include <vector>

#include "core/engine_config.hpp"
#include "status/snapshot.hpp"
#include "store/fs_store.hpp"

namespace mda::httpd {

/// Starts the engine process for this configuration pass; a no-op on the dry run and when
/// no MD needs it. `cfg` is completed (status socket: "" when Apache's runtime directory is
/// missing, said at warn level) and kept for re-forks, as is `status_seed` (every MD's status
/// entry as the store showed it at start: the engine publishes it before its actors report).
/// Errors are logged; Apache's start never fails because of the engine.
void start_engine_process(apr_pool_t* pconf, server_rec* s, const fs_store& st, engine_config& cfg,
                          std::vector<md_snapshot> status_seed);

} // namespace mda::httpd
