// The workers' side of live activation; see live_certs.hpp.
#include "httpd/live_certs.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <apr_optional_hooks.h>
#include <apr_pools.h>

#include "httpd/live_slots.hpp"
#include "httpd/module.hpp"

APLOG_USE_MODULE(md);

namespace mda::httpd {

namespace {

/// mod_ssl's optional hook (mod_ssl_openssl.h, which Debian's apache2-dev does not ship):
/// called in the parent for each server's SSL_CTX, is_proxy 1 for its proxy context.
using ssl_HOOK_init_server_t = int(server_rec* s, apr_pool_t* p, int is_proxy, SSL_CTX* ctx);

/// The slots of the current configuration pass, by MD name. Filled by init_server in the
/// parent; forked children inherit them (the SSL_CTX callbacks point into it).
std::map<std::string, std::unique_ptr<live_slot>>& slots() {
  static std::map<std::string, std::unique_ptr<live_slot>> s;
  return s;
}

/// The slot of each server whose SSL_CTX has the callback (the fallback's 503 is per server).
std::map<const server_rec*, live_slot*>& by_server() {
  static std::map<const server_rec*, live_slot*> s;
  return s;
}

apr_pool_t* g_slots_pool = nullptr;
pid_t g_slots_parent = 0;

apr_status_t forget_slots(void*) {
  // The pool's SSL_CTXs are gone with it; children never clear what their callbacks use.
  if (::getpid() == g_slots_parent) {
    slots().clear();
    by_server().clear();
  }
  g_slots_pool = nullptr;
  return APR_SUCCESS;
}

void watch_pool(apr_pool_t* pconf) {
  if (g_slots_pool == pconf) return;
  if (g_slots_pool == nullptr) {
    slots().clear();
    by_server().clear();
  }
  g_slots_pool = pconf;
  g_slots_parent = ::getpid();
  apr_pool_cleanup_register(pconf, nullptr, forget_slots, apr_pool_cleanup_null);
}

/// The certificate callback (see the header). Runs in handshakes: no lock, no I/O.
int serve_live(SSL* ssl, void* arg) {
  const auto* slot = static_cast<const live_slot*>(arg);
  const live_snapshot_ptr snap = std::atomic_load(&slot->current);
  if (!snap) return 1;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  static constexpr char k_acme_tls[] = "acme-tls/1"; // RFC 8737 §6.2: a challenge answer
  if (alpn_len == sizeof k_acme_tls - 1 && std::memcmp(alpn, k_acme_tls, alpn_len) == 0) return 1;
  for (const auto& pair : snap->pairs) {
    // A failure keeps what the SSL has for that key type: still a matching pair.
    (void)SSL_use_cert_and_key(ssl, pair.leaf.get(), pair.key.get(), pair.chain.get(), 1);
  }
  return 1;
}

/// The SHA-256 fingerprints of the certificates mod_ssl loaded into `ctx`; the context's
/// current certificate is left as it was.
std::vector<std::string> loaded_fingerprints(SSL_CTX* ctx) {
  std::vector<std::string> out;
  X509* const current = SSL_CTX_get0_certificate(ctx);
  for (int rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); rc == 1;
       rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
    X509* x = SSL_CTX_get0_certificate(ctx);
    if (!x || X509_up_ref(x) != 1) continue;
    out.push_back(certificate::adopt(x).fingerprint_sha256());
  }
  for (int rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
       rc == 1 && SSL_CTX_get0_certificate(ctx) != current;
       rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
  }
  return out;
}

/// The one MD of `s`, or null.
const md_spec* md_of(const module_state& st, server_rec* s) {
  const auto it = st.server_index.find(s);
  if (it == st.server_index.end() || it->second >= st.linked.assigned.size()) return nullptr;
  const auto& assigned = st.linked.assigned[it->second];
  if (assigned.size() != 1 || assigned.front() >= st.specs.size()) return nullptr;
  return &st.specs[assigned.front()];
}

int init_server(server_rec* s, apr_pool_t*, int is_proxy, SSL_CTX* ctx) {
  return guarded(s, "MDA0156", "ssl init_server", DECLINED, [&]() -> int {
    const module_state* st = current_state();
    if (is_proxy || !ctx || !st || !st->store || !st->linked.config.settings.live_activation)
      return DECLINED;
    const md_spec* md = md_of(*st, s);
    if (!md) return DECLINED;
    watch_pool(s->process->pconf);
    auto& slot = slots()[md->name];
    if (!slot) {
      slot = std::make_unique<live_slot>();
      slot->md = md->name;
      slot->static_stamps = static_file_stamps(*md);
    }
    for (auto& fp : loaded_fingerprints(ctx)) {
      if (std::find(slot->loaded.begin(), slot->loaded.end(), fp) == slot->loaded.end())
        slot->loaded.push_back(std::move(fp));
    }
    if (st->live_fallbacks.count(s)) slot->unavailable.store(true);
    by_server()[s] = slot.get();
    SSL_CTX_set_cert_cb(ctx, serve_live, slot.get());
    ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, s, "MDA0156: %s: certificates of server %s may go live",
                 md->name.c_str(), s->server_hostname ? s->server_hostname : "");
    return OK;
  });
}

/// mod_ssl's 503 for a server on its fallback, ended by the MD's first live set: a request
/// over TLS to a server whose slot is still unavailable is answered 503.
int refuse_on_fallback(request_rec* r) {
  if (by_server().empty()) return DECLINED;
  const auto it = by_server().find(r->server);
  if (it == by_server().end() || !it->second->unavailable.load()) return DECLINED;
  if (!ap_ssl_conn_is_ssl(r->connection)) return DECLINED;
  return HTTP_SERVICE_UNAVAILABLE;
}

void child_init(apr_pool_t* pchild, server_rec* s) {
  (void)guarded(s, "MDA0156", "starting the live certificate watcher", 0, [&]() -> int {
    const module_state* st = current_state();
    if (slots().empty() || !st || !st->store) return 0;
    std::vector<live_slot*> mine;
    for (auto& [name, slot] : slots()) mine.push_back(slot.get());
    start_live_watcher(pchild, s, *st, std::move(mine));
    return 0;
  });
}

} // namespace

void register_live_certs() {
  APR_OPTIONAL_HOOK(ssl, init_server, init_server, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_child_init(child_init, nullptr, nullptr, APR_HOOK_MIDDLE);
  // as mod_ssl's own 503 (which knows only its fallbacks): after the http-01 answer and
  // /.httpd/certificate-status (REALLY_FIRST, FIRST), before mod_ssl's request hook
  static const char* const before[] = {"mod_ssl.c", nullptr};
  ap_hook_post_read_request(refuse_on_fallback, nullptr, before, APR_HOOK_FIRST + 5);
}

} // namespace mda::httpd
