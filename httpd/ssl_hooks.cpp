// The certificate hand-over to mod_ssl through the core hooks of http_ssl.h (reference §4,
// §4.1; mod_md src/mod_md.c get_certificates, md_add_cert_files, md_add_fallback_cert_files,
// md_post_config_after_ssl), and the post_config that runs after mod_ssl's.
//
// - ssl_add_cert_files: mod_ssl calls it for every SSL server_rec; that call is how we learn
//   the server uses SSL. For a server assigned to exactly one MD it adds the MD's static
//   files or its certificates in domains/ (md_cert_files) and answers DONE. Nothing there:
//   DECLINED, so mod_ssl asks for a fallback. Several MDs: an error in the log, DECLINED.
// - ssl_add_fallback_cert_files: the MD's fallback pairs, made where missing with one key per
//   key spec shared by all MDs of this pass (store/cert_files.hpp); mod_ssl then answers 503
//   on that server (its AH10085 warning) until a restart. With MDActivation live the pairs
//   are handed over by ssl_add_cert_files instead (MDA0157), and live_certs.cpp answers the
//   503 until the MD's first certificate is served in the process.
// - post_config after mod_ssl (APR_HOOK_LAST, mod_ssl/mod_tls as predecessors), every pass:
//   phase 2 of the linking (an error stops the start), its warnings (not on the dry run, as
//   mod_md skips this step there), md.json of every MD synced to domains/.
// Only the core hooks are registered, not mod_ssl.h's optional ones: mod_ssl runs both kinds,
// so registering both would add every file twice.
// Not here: OCSP stapling (ocsp_hooks.cpp, registered from here), certificates served
// without a restart (live_certs.hpp, registered from here), tls-alpn-01
// (request_hooks.cpp); the engine process is started at
// the end of the post_config after mod_ssl (engine_process.hpp).
#include <chrono>
#include <optional>
#include <vector>

#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_ssl.h>
#include <apr_strings.h>
#include <unixd.h>

#include "httpd/engine_process.hpp"
#include "httpd/live_certs.hpp"
#include "httpd/module.hpp"
#include "httpd/ocsp_hooks.hpp"
#include "store/fs_io.hpp"
#include "store/live.hpp"
#include "store/registry.hpp"

APLOG_USE_MODULE(md);

namespace mda::httpd {

namespace {

/// get_certificates' common part: marks `s` as an SSL server and returns its one MD, or null
/// (no MD, an unknown server, or several MDs, which is logged unless `fallback`).
const md_spec* md_of_server(module_state& st, server_rec* s, bool fallback) {
  const auto it = st.server_index.find(s);
  if (it == st.server_index.end() || it->second >= st.linked.assigned.size()) return nullptr;
  st.input.vhosts[it->second].ssl = true;
  const auto& assigned = st.linked.assigned[it->second];
  if (assigned.empty()) return nullptr;
  if (assigned.size() > 1) {
    if (!fallback) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                   "MDA0130: conflict: %d MDs match Virtualhost %s which uses SSL, however there can be at most 1.",
                   static_cast<int>(assigned.size()), s->server_hostname ? s->server_hostname : "");
    }
    return nullptr;
  }
  return assigned.front() < st.specs.size() ? &st.specs[assigned.front()] : nullptr;
}

void push_files(apr_pool_t* p, apr_array_header_t* cert_files, apr_array_header_t* key_files,
                const std::vector<cert_file_pair>& files) {
  for (const auto& f : files) {
    APR_ARRAY_PUSH(cert_files, const char*) = apr_pstrdup(p, f.cert_file.c_str());
    APR_ARRAY_PUSH(key_files, const char*) = apr_pstrdup(p, f.key_file.c_str());
  }
}

const char* host_of(const server_rec* s) { return s->server_hostname ? s->server_hostname : ""; }

/// The MD's fallback pairs (made where missing), or nothing after logging why.
std::optional<std::vector<cert_file_pair>> fallback_files(server_rec* s, module_state& st, const md_spec& md) {
  auto files = ensure_fallback_files(*st.store, md, st.fallbacks, std::chrono::system_clock::now());
  if (!files) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0133: %s", files.error().message.c_str());
    return std::nullopt;
  }
  ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MDA0134: %s: providing %d fallback certificate(s) for server %s",
               md.name.c_str(), static_cast<int>(files->size()), host_of(s));
  return std::move(*files);
}

int add_cert_files(server_rec* s, apr_pool_t* p, apr_array_header_t* cert_files,
                   apr_array_header_t* key_files) {
  return guarded(s, "MDA0139", "ssl_add_cert_files", DECLINED, [&]() -> int {
    module_state* st = mutable_state();
    if (!st || !st->store) return DECLINED;
    const md_spec* md = md_of_server(*st, s, false);
    if (!md) return DECLINED;
    const auto files = md_cert_files(*st->store, *md);
    if (files.empty() && st->linked.config.settings.live_activation && apr_is_empty_array(cert_files)) {
      // MDActivation live: the fallback goes in as the server's certificate, not as mod_ssl's
      // fallback, whose 503 only a restart ends; our request hook answers 503 until the MD's
      // first certificate is served (live_certs.hpp).
      auto fallback = fallback_files(s, *st, *md);
      if (!fallback) return DECLINED;
      ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                   "MDA0157: %s: server %s answers '503 Service Unavailable' until the managed domain's "
                   "certificate is obtained; it is served then without a restart",
                   md->name.c_str(), host_of(s));
      st->live_fallbacks.insert(s);
      push_files(p, cert_files, key_files, *fallback);
      return DONE;
    }
    if (files.empty()) return DECLINED;
    if (!apr_is_empty_array(cert_files)) {
      ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                   "MDA0131: host '%s' is covered by a Managed Domain, but certificate/key files are "
                   "already configured for it (most likely via SSLCertificateFile).", host_of(s));
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MDA0132: %s: providing %d certificate(s) for server %s",
                 md->name.c_str(), static_cast<int>(files.size()), host_of(s));
    push_files(p, cert_files, key_files, files);
    return DONE;
  });
}

int add_fallback_cert_files(server_rec* s, apr_pool_t* p, apr_array_header_t* cert_files,
                            apr_array_header_t* key_files) {
  return guarded(s, "MDA0139", "ssl_add_fallback_cert_files", DECLINED, [&]() -> int {
    module_state* st = mutable_state();
    if (!st || !st->store) return DECLINED;
    const md_spec* md = md_of_server(*st, s, true);
    if (!md || !md_cert_files(*st->store, *md).empty()) return DECLINED;
    auto files = fallback_files(s, *st, *md);
    if (!files) return DECLINED;
    push_files(p, cert_files, key_files, *files);
    return DONE;
  });
}

/// md.json of every MD to domains/ (md_reg_sync_finish); problems are logged per MD.
void sync_mds(server_rec* s, module_state& st) {
  for (auto& em : st.linked.config.mds) {
    auto r = sync_md_json(*st.store, em.md);
    if (!r) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0135: %s: saving md.json: %s", em.md.name.c_str(),
                   r.error().message.c_str());
    } else if (r->replaced) {
      ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MDA0136: %s: replaced a damaged md.json: %s",
                   em.md.name.c_str(), r->replaced->message.c_str());
    }
  }
}

/// The status file as the store shows every MD now, before the engine starts (see
/// store/registry.hpp status_at_start); returns the entries for the engine's status actor.
std::vector<md_snapshot> publish_status_at_start(server_rec* s, const module_state& st) {
  const engine_settings& settings = st.linked.config.settings;
  status_snapshot snap =
    status_at_start(*st.store, st.linked.config, st.specs, std::chrono::system_clock::now());
  const std::string path = status_file_path(settings);
  fsio::atomic_write_options o;
  o.durable = false; // a live view: the engine rewrites it
  // The engine (the User) replaces it; workers (the User) read it; nobody else may.
  if (geteuid() == 0) o.owner = std::make_pair(ap_unixd_config.user_id, ap_unixd_config.group_id);
  if (auto w = fsio::write_file_atomic(path, render_snapshot_file(snap), 0600, o); !w) {
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MDA0138: writing the status file: %s",
                 w.error().message.c_str());
  }
  // Nothing is served live in the new generation yet: the sets announced before this start
  // were moved into domains/ by the activation above (store/live.hpp). The engine announces
  // again what it serves from staging/.
  if (auto w = fsio::write_file_atomic(live_file_path(settings), render_live_file(live_table{}), 0600, o); !w) {
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MDA0138: writing %s: %s", live_file_path(settings).c_str(),
                 w.error().message.c_str());
  }
  return std::move(snap.mds);
}

int post_config_after_ssl(apr_pool_t*, apr_pool_t*, apr_pool_t*, server_rec* s) {
  return guarded(s, "MDA0101", "post_config", HTTP_INTERNAL_SERVER_ERROR, [&]() -> int {
    module_state* st = mutable_state();
    if (!st || !st->store) return OK;
    if (auto r = finish_config(st->linked, st->input); !r) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0100: %s", r.error().message.c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!st->dry_run) {
      for (const auto& w : st->linked.warnings) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "%s: %s", w.id.c_str(), w.text.c_str());
      }
    }
    sync_mds(s, *st);
    // `used` is final now, and md.json's sync completed the MDs (renew mode, the CA of the
    // certificates in use): the specs the status at start is made with.
    auto specs = make_md_specs(st->linked.config);
    if (!specs) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0100: %s", specs.error().message.c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    st->specs = std::move(*specs);
    // The store was opened without a sync per write (md.json, fallback files, activation):
    // one sync for all of them here, before the engine starts.
    if (auto f = st->store->flush(); !f) {
      ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MDA0127: syncing the store: %s",
                   f.error().message.c_str());
    }
    if (APLOG_IS_LEVEL(s, APLOG_TRACE1)) {
      const std::string json = to_json(st->linked.config).dump();
      ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, s, "MDA0111: engine configuration %s", json.c_str());
    }
    if (!st->dry_run) {
      std::vector<md_snapshot> seed = publish_status_at_start(s, *st);
      start_engine_process(s->process->pconf, s, *st->store, st->linked.config, std::move(seed));
    }
    return OK;
  });
}

} // namespace

void register_ssl_hooks() {
  static const char* const after_ssl[] = {"mod_ssl.c", "mod_tls.c", nullptr};
  ap_hook_post_config(post_config_after_ssl, after_ssl, nullptr, APR_HOOK_LAST);
  ap_hook_ssl_add_cert_files(add_cert_files, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_ssl_add_fallback_cert_files(add_fallback_cert_files, nullptr, nullptr, APR_HOOK_MIDDLE);
  register_ocsp_hooks();
  register_live_certs();
}

} // namespace mda::httpd
