// The supervisor: spawns the engine's actors from an engine_config and ends them again.
//
// What it spawns: two worker pools (io: loads, saves, commands, status file writes; orders:
// ACME orders, bounded by settings.orders_in_flight), the ca_policy actor, the status actor
// (file status_file_path: settings.status_file or <store>/mdactor/status.json, socket settings.status_socket), one
// account actor per (CA URL, EAB kid, contacts) and one domain actor per MD; with stapling
// (MDs with stapling on that a vhost uses, or MDStapleOthers files), the stapling actor
// (ocsp_stapling.hpp), which spawns one OCSP responder actor per responder URL, and, with
// `activate`, re-reads an MD's certificates whenever its domain actor has activated new ones.
// The accounts and domains are spawned by the supervisor actor (supervisor_actor.hpp), which
// monitors every actor here and restarts a domain or account actor that died abnormally.
// Accounts: selected or registered in the store on first use (acme/account_store.hpp), with
// an acme::client per account (shared by that account's orders: one nonce pool).
// Not here: the actor_system and its thread (engine.hpp), md.json sync, responders (mdctl).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/account.hpp"
#include "actors/ca_policy.hpp"
#include "actors/domain.hpp"
#include "actors/ocsp_stapling.hpp"
#include "actors/status.hpp"
#include "actors/supervisor_actor.hpp"
#include "actors/worker_pool.hpp"
#include "core/engine_config.hpp"
#include "http/http_client.hpp"
#include "store/store.hpp"

namespace mda {

/// The transport to a CA (blocking; called on a worker thread).
using transport_factory =
    std::function<expected<std::shared_ptr<acme::http_transport>>(const std::string& ca_url)>;

struct supervisor_options {
  std::shared_ptr<store> st;            ///< required
  actor_env env;                        ///< required
  challenge_factory challenges;         ///< empty = store_challenge_factory(settings)
  transport_factory transports;         ///< empty = httplib with MDCACertificateFile, proxy
  std::shared_ptr<domain_backend> backend; ///< empty = make_store_backend(st, ...)
  bool activate = false;                ///< activate staged sets in-process (mdctl run)
  md_observer observer;
  engine_log log;
  engine_log warn;                      ///< an optional part left out (status socket); empty = log
  std::vector<md_snapshot> status_seed; ///< the status actor's first entries (status_config::seed)
  /// Engine processes started anew since Apache's last (re)start (metrics); nullopt = unknown.
  std::optional<std::int64_t> engine_restarts;
  int max_bad_nonce_retries = 30;       ///< per request (pebble rejects nonces at random)
  std::size_t io_jobs = 4;              ///< bound of the io pool
  /// Transports to OCSP responders; empty = httplib with MDHttpProxy and MDCACertificateFile,
  /// connect/read timeouts 10 s, 30 s in all (a hanging responder holds an io worker no longer).
  ocsp_transport_factory ocsp_transports;
  command_runner run_command;           ///< OCSP events; empty = process_command_runner()
  engine_log error;                     ///< the supervisor's escalation; empty = log
  std::size_t max_restarts = k_default_max_restarts;     ///< of one actor within the window
  milliseconds restart_window = k_default_restart_window;
  /// false: the pools run jobs on scheduled actors (only for tests under the test_coordinator,
  /// whose jobs must not block).
  bool detached_pools = true;
  /// MDStoreEtcd: the cluster service every domain actor asks before it renews (optional).
  std::shared_ptr<cluster_service> cluster;
};

/// The handles of everything spawned.
struct engine_actors {
  worker_pool_actor io_pool;
  worker_pool_actor order_pool;
  ca_policy_actor policy;
  status_actor status;
  ocsp_stapling_actor stapling;                ///< invalid when nothing is stapled
  supervisor_actor supervisor;                 ///< holds the account and domain actors
};

/// The MDs the stapling actor staples: stapling on (the merged MDStapling) and used by a vhost.
std::vector<managed_domain> stapling_mds(const engine_config& cfg);

/// What an MD's account at a CA is registered with: contacts, agreement, EAB. An MD with
/// "MDExternalAccountBinding none" (kid "none", as mod_md keeps it) has no EAB, whatever the
/// server-wide binding is.
acme::account_options account_options_of(const managed_domain& md);

/// The account actor key of an MD at one CA: "<url> <eab kid> <contacts...>", plus the MD's
/// own proxy and CA files when it has them (its account actor's transport is its own).
std::string account_key(const managed_domain& md, const std::string& ca_url);

/// Spawns every actor; an invalid setting (status socket path, policy values, an MD window
/// that make_md_spec cannot parse) is an error.
caf::expected<engine_actors> spawn_engine_actors(caf::actor_system& sys, const engine_config& cfg,
                                                 supervisor_options opts);

/// Sends an exit to every actor, the supervisor first (it ends the accounts and domains; the
/// system's destructor then waits for them).
void stop_engine_actors(const engine_actors& a);

} // namespace mda
