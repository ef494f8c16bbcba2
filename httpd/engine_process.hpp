// The engine process of mod_mdactor (DESIGN.md "Process model"; issue 5 item 3): one process
// forked from the Apache parent on the real configuration pass, as mod_cgid forks its
// daemon, that runs the actor engine (actors/engine.hpp run_engine) for the configuration of
// that pass until the pass ends.
//
// - Started from the post_config after mod_ssl (the final configuration), never on the dry
//   run. The parent writes the configuration to <store>/mdactor-engine.json (0600, atomic;
//   for debugging and `md-replay --config`); the child uses the in-memory copy fork gave it.
// - The child: closes the listeners, drops to the User with ap_unixd_setup_child() while
//   keeping the file-access capabilities CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
//   CAP_FOWNER (the store's secret, domains/ and accounts/ belong to root as mod_md leaves
//   them; programs it runs, MDMessageCmd and friends, get none of them), sets
//   PR_SET_PDEATHSIG, ignores Apache's restart signals, takes SIGTERM/SIGINT as "stop" and
//   leaves with _exit. Its name (comm) is "md-engine". The CAF actor system exists only in
//   this process, on its main thread.
// - Engine options: activate=false (Apache activates staged sets at its next restart, as
//   mod_md does), challenges in the store's challenges/ group (Apache answers them), no
//   embedded responders; the status file in the store (<store>/status.json unless set) and
//   the status socket at <DefaultRuntimeDir>/mdactor-status.sock unless set. The socket path
//   is also written back into the module state, so the workers find it.
// - Re-forked when it dies (apr other-child DEATH/LOST), unless it exited with 2 ("could not
//   start": the same configuration would fail again; logged). After deaths in a row within
//   10 s of the fork the new child waits 2, 4, ... 60 s before it starts the engine. Stopped
//   when pconf is cleared (graceful, restart, stop): SIGTERM, up to 3 s for a clean end, then
//   SIGKILL (APR's APR_KILL_AFTER_TIMEOUT): a restart waits at most that long (an idle engine
//   ends in ~100 ms; one inside a blocking step, e.g. a hanging MDChallengeDns01 program,
//   takes the 3 s and the program it ran is left to finish on its own). Apache never waits
//   on it otherwise.
// Not here: the engine itself (actors/), answering challenges (request hooks), activation
// (store_sync.hpp).
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
