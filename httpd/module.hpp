// What the module's post_config computed for the configuration pass in progress: the input
// of the MD <-> vhost linking (with the server_recs in the same order as
// build_input::vhosts), its result, the opened store and the fallback keys of this pass.
// Reset at every pass (graceful restarts included); only the parent's configuration hooks
// touch it (single-threaded).
// Not here: the hooks (mod_mdactor.cpp, ssl_hooks.cpp), the linking itself (config_build.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <exception>

#include <httpd.h>

#include "core/md_spec.hpp"
#include "httpd/config_build.hpp"
#include "store/cert_files.hpp"
#include "store/fs_store.hpp"

namespace mda::httpd {

struct module_state {
  build_input input;
  std::vector<server_rec*> servers; ///< servers[i] is described by input.vhosts[i]
  std::unordered_map<const server_rec*, std::size_t> server_index; ///< inverse of servers
  linked_config linked;             ///< phase 1 (link_config) done; phase 2 after mod_ssl
  /// make_md_specs(linked.config), same order: made after phase 1 (the certificate hooks need
  /// the key specs), made again once phase 2 and the md.json sync completed the MDs.
  std::vector<md_spec> specs;
  bool dry_run = false;             ///< the first pass of the initial start
  std::optional<fs_store> store;    ///< open when post_config succeeded
  fallback_keys fallbacks;          ///< one fallback key per key spec, shared by the MDs
  /// MDActivation live: the servers given their MD's fallback certificate as if it were the
  /// real one (ssl_hooks.cpp), so that the first certificate can replace it live; until it
  /// does, live_certs.cpp answers their requests with 503 (what mod_ssl does otherwise).
  std::unordered_set<const server_rec*> live_fallbacks;
};

/// The state of the last successful post_config; null before one or after a failed one.
const module_state* current_state();
/// The same, for the configuration hooks of the parent that complete it (mod_ssl's calls,
/// the post_config after mod_ssl).
module_state* mutable_state();

/// Registers the http_ssl.h certificate hooks and the post_config after mod_ssl
/// (ssl_hooks.cpp).
void register_ssl_hooks();

/// Runs the body of a hook: a C++ exception never reaches httpd; it is logged as
/// "<id>: <what> failed: <reason>" and `on_error` is returned.
void log_hook_failure(server_rec* s, const char* id, const char* what, const char* reason);
template <class Body>
int guarded(server_rec* s, const char* id, const char* what, int on_error, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    log_hook_failure(s, id, what, e.what());
  } catch (...) {
    log_hook_failure(s, id, what, "unknown exception");
  }
  return on_error;
}

} // namespace mda::httpd
