// The http_ssl.h OCSP hooks; see ocsp_hooks.hpp.
#include "httpd/ocsp_hooks.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_ssl.h>
#include <apr_pools.h>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "core/x509.hpp"
#include "httpd/directives.hpp"
#include "httpd/module.hpp"
#include "httpd/ocsp_cache.hpp"

APLOG_USE_MODULE(md);

namespace mda::httpd {

namespace {

/// Registrations of the current configuration pass; read-only once workers run.
staple_cache& cache() {
  static staple_cache c(std::chrono::seconds(2));
  return c;
}

/// The pool whose clearing ends the current registrations, and the parent's pid.
apr_pool_t* g_cleanup_pool = nullptr;
pid_t g_parent = 0;

apr_status_t forget_registrations(void*) {
  if (::getpid() == g_parent) cache().clear(); // never under running worker threads
  g_cleanup_pool = nullptr;
  return APR_SUCCESS;
}

void watch_pool(apr_pool_t* pconf) {
  if (g_cleanup_pool == pconf) return;
  if (g_cleanup_pool == nullptr) cache().clear(); // a pass without a cleanup yet: start afresh
  g_cleanup_pool = pconf;
  g_parent = ::getpid();
  apr_pool_cleanup_register(pconf, nullptr, forget_registrations, apr_pool_cleanup_null);
}

/// mod_md's staple_here: the owner whose store name the response goes under, "" = no
/// stapling by us for certificates of `s`.
std::string staple_owner(const module_state& st, server_rec* s) {
  const auto it = st.server_index.find(s);
  if (it != st.server_index.end() && it->second < st.linked.assigned.size()) {
    const auto& assigned = st.linked.assigned[it->second];
    if (assigned.size() == 1) {
      const managed_domain& md = st.linked.config.mds[assigned.front()].md;
      return md.stapling ? md.name : std::string();
    }
  }
  const server_conf* sc = get_server_conf(s);
  if (!sc) return {};
  const bool on = sc->props.stapling.value_or(false) && sc->props.staple_others.value_or(true);
  return on ? std::string(ocsp::k_other_name) : std::string();
}

std::size_t count_certs(const std::string& pem) {
  std::size_t n = 0;
  for (auto at = pem.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
       at = pem.find("-----BEGIN CERTIFICATE-----", at + 1))
    ++n;
  return n;
}

/// Keeps the PEM of a certificate outside any MD where the engine reads it and lists the
/// file in the engine settings (real pass only: the dry run starts no engine).
void hand_to_engine(server_rec* s, module_state& st, const std::string& id, const std::string& pem) {
  if (st.dry_run) return;
  const std::string aspect = "cert-" + id + ".pem";
  if (auto saved = st.store->save_text(store_group::ocsp, ocsp::k_other_name, aspect, pem); !saved) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0182: keeping the certificate for OCSP stapling: %s",
                 saved.error().message.c_str());
    return;
  }
  auto path = st.store->file_path(store_group::ocsp, ocsp::k_other_name, aspect);
  if (!path) return;
  auto& files = st.linked.config.settings.staple_other_files;
  if (std::find(files.begin(), files.end(), *path) == files.end()) files.push_back(*path);
}

int prime(server_rec* s, apr_pool_t*, const char* id, apr_size_t id_len, const char* pem) {
  return guarded(s, "MDA0189", "ssl_ocsp_prime_hook", DECLINED, [&]() -> int {
    module_state* st = mutable_state();
    if (!st || !st->store || !id || !pem) return DECLINED;
    const std::string owner = staple_owner(*st, s);
    if (owner.empty()) return DECLINED;
    const std::string text(pem);
    auto leaf = certificate::from_pem(text, "the certificate to staple");
    if (!leaf || count_certs(text) < 2) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0180: %s: OCSP stapling needs the certificate and its issuer: %s",
                   owner.c_str(), leaf ? "no issuer certificate given" : leaf.error().message.c_str());
      return DECLINED;
    }
    if (leaf->ocsp_urls().empty()) {
      ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MDA0181: md[%s]: certificate with serial %s has no OCSP responder URL",
                   owner.c_str(), leaf->serial_hex().c_str());
      return DECLINED;
    }
    const std::string key = hex_lower(std::string_view(id, id_len));
    auto file = st->store->file_path(store_group::ocsp, owner, aspect::ocsp(key));
    if (!file) return DECLINED;
    watch_pool(s->process->pconf);
    cache().add(key, owner, *file, st->store->paths().base()); // no symlink followed in ocsp/
    // Read once here: the workers inherit the response and staple from their first handshake.
    cache().lookup(key, std::chrono::steady_clock::now(), std::chrono::system_clock::now());
    if (owner == ocsp::k_other_name) hand_to_engine(s, *st, key, text);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MDA0183: %s: stapling OCSP responses for certificate %s",
                 owner.c_str(), key.c_str());
    return OK;
  });
}

int get_resp(server_rec* s, conn_rec* c, const char* id, apr_size_t id_len, ap_ssl_ocsp_copy_resp* cb,
             void* userdata) {
  return guarded(s, "MDA0189", "ssl_ocsp_get_resp_hook", DECLINED, [&]() -> int {
    if (!id || !cb || cache().size() == 0) return DECLINED;
    const std::string key = hex_lower(std::string_view(id, id_len));
    const auto r = cache().lookup(key, std::chrono::steady_clock::now(), std::chrono::system_clock::now());
    if (!r.known) return DECLINED;
    if (r.staple) {
      cb(reinterpret_cast<const unsigned char*>(r.response->der.data()), r.response->der.size(), userdata);
    } else {
      cb(nullptr, 0, userdata);
      if (APLOGctrace2(c)) {
        const std::string why = cache().last_problem(key);
        ap_log_cerror(APLOG_MARK, APLOG_TRACE2, 0, c, "MDA0184: no OCSP response to staple for %s%s%s",
                      key.c_str(), why.empty() ? "" : ": ", why.c_str());
      }
    }
    return OK;
  });
}

} // namespace

void staple_live_leaf(const std::string& md, const std::string& leaf_der) {
  const module_state* st = current_state();
  if (!st || !st->store) return;
  const std::string key = hex_lower(sha1(leaf_der));
  auto file = st->store->file_path(store_group::ocsp, md, aspect::ocsp(key));
  if (!file || cache().owner_of(key) == md) return;
  cache().add(key, md, *file, st->store->paths().base());
}

void register_ocsp_hooks() {
  ap_hook_ssl_ocsp_prime_hook(prime, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_ssl_ocsp_get_resp_hook(get_resp, nullptr, nullptr, APR_HOOK_MIDDLE);
}

} // namespace mda::httpd
