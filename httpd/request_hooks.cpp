// The challenge and MDRequireHttps hooks (see request_hooks.hpp; reference §4.2 - §4.4).
//
// - http-01: only for a host that is a domain of a configured MD whose MDCAChallenges allows
//   http-01 (or lists nothing). The token must be base64url and the stored key authorization
//   "<token>.<thumbprint>" must start with it (beyond mod_md, which answers any token): GET
//   (and HEAD) 200 with the key authorization and no Content-Type, other methods 501, an
//   unknown token or no file 404. As mod_md: no file and the MD is manual or has static
//   certificates -> declined (normal handling).
// - tls-alpn-01: "acme-tls/1" is proposed on TLS connections whose client offers it; httpd
//   selects it only where the vhost's Protocols list it. Switching to it marks the connection
//   (closed after the handshake) and ssl_answer_challenge then hands mod_ssl the challenge
//   certificate and key of the SNI name, in the MD's key spec order, else any spec found; the
//   reverse-DNS SNI of an IP identifier is mapped back to the IP (RFC 8738 §6).
// - MDRequireHttps for the one MD assigned to the request's server, when the host is one of
//   its domains and the path is not under /.well-known/: on http a redirect (GET 302/301,
//   other methods 307/308) to https on the public port 443, as mod_md; on https with permanent,
//   HSTS in err_headers_out, so error responses carry it too (mod_md sets headers_out only).
// Not here: the status outputs (status_handlers.cpp).
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include <httpd.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <apr_strings.h>

#include "acme/tls_alpn01_responder.hpp"
#include "httpd/cluster_challenges.hpp"
#include "httpd/module.hpp"
#include "httpd/request_hooks.hpp"
#include "httpd/request_rules.hpp"

APLOG_USE_MODULE(md);

namespace mda::httpd {

namespace {

constexpr const char* k_hsts_header = "Strict-Transport-Security";

std::string lowercase(const char* s) {
  std::string out = s ? s : "";
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

/// Whether a missing challenge file means 404 (mod_md) or "not ours, decline".
bool answers_http01(const managed_domain& md) {
  return md.renew_mode != md_renew_mode::manual && md.cert_files.empty();
}

int send_key_authorization(request_rec* r, const std::string& text) {
  ap_set_content_length(r, static_cast<apr_off_t>(text.size()));
  ap_rwrite(text.data(), static_cast<int>(text.size()), r);
  return DONE;
}

int http01_challenge(request_rec* r) {
  const auto token = http01_token_of(r->parsed_uri.path ? r->parsed_uri.path : "");
  if (!token) return DECLINED;
  return guarded(r->server, "MDA0169", "http-01 challenge", HTTP_INTERNAL_SERVER_ERROR, [&]() -> int {
    const module_state* st = current_state();
    if (!st || !st->store || !r->hostname) return DECLINED;
    const std::string host = lowercase(r->hostname);
    // As mod_md: the store's answer for the host is served whether or not an MD of this
    // server names it (a2md drives MDs of its own) and whatever token is asked for; a host
    // without one is declined unless an MD we renew names it (then 404).
    const managed_domain* md = md_for_host(st->linked.config, host);
    if (md && !challenge_allowed(*md, "http-01")) return DECLINED;
    bool ours = md && answers_http01(*md);
    if (!http01_token_valid(*token)) return ours ? HTTP_NOT_FOUND : DECLINED;
    auto text = st->store->load_text(store_group::challenges, host, aspect::http01);
    if (!text && is_not_found(text.error())) {
      // MDStoreEtcd: another server of the cluster may have ordered it
      if (auto shared = cluster_challenge_store(*st)) {
        auto there = shared->load_text(store_group::challenges, host, aspect::http01);
        if (there) {
          text = std::move(there);
          ours = true;
        } else if (!is_not_found(there.error())) {
          ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                        "MDA0112: the cluster's http-01 challenge of %s: %s", host.c_str(),
                        there.error().message.c_str());
        }
      }
    }
    if (!text) {
      // A host name the store cannot hold (Host header) has no answer either.
      if (is_not_found(text.error()) || text.error().code == store_errc::bad_name)
        return ours ? HTTP_NOT_FOUND : DECLINED;
      ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "MDA0160: loading the http-01 challenge of %s: %s",
                    host.c_str(), text.error().message.c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!key_authorization_matches(*text, *token))
      ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "MDA0161: %s: the http-01 answer is for another token", host.c_str());
    if (r->method_number != M_GET) return HTTP_NOT_IMPLEMENTED;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "MDA0162: %s: answering the http-01 challenge", host.c_str());
    return send_key_authorization(r, *text);
  });
}

// --- tls-alpn-01 ---------------------------------------------------------------------------

/// Per connection: set by protocol_switch when "acme-tls/1" was selected.
struct conn_marker {
  int acme_tls_1;
};

bool is_acme_tls_1(const conn_rec* c) {
  const auto* m = static_cast<const conn_marker*>(ap_get_module_config(c->conn_config, &md_module));
  return m && m->acme_tls_1;
}

int protocol_propose(conn_rec* c, request_rec* r, server_rec*, const apr_array_header_t* offers,
                     apr_array_header_t* proposals) {
  if (r || !offers || !current_state() || !ap_ssl_conn_is_ssl(c)) return DECLINED;
  for (int i = 0; i < offers->nelts; ++i) {
    const char* offer = APR_ARRAY_IDX(offers, i, const char*);
    if (offer && std::strcmp(offer, k_acme_tls_1) == 0) {
      APR_ARRAY_PUSH(proposals, const char*) = k_acme_tls_1;
      return OK;
    }
  }
  return DECLINED;
}

int protocol_switch(conn_rec* c, request_rec* r, server_rec*, const char* protocol) {
  if (r || !protocol || std::strcmp(protocol, k_acme_tls_1) != 0) return DECLINED;
  auto* m = static_cast<conn_marker*>(apr_pcalloc(c->pool, sizeof(conn_marker)));
  m->acme_tls_1 = 1;
  ap_set_module_config(c->conn_config, &md_module, m);
  c->keepalive = AP_CONN_CLOSE; // RFC 8737 §3: nothing follows the handshake
  return OK;
}

const char* protocol_get(const conn_rec* c) { return is_acme_tls_1(c) ? k_acme_tls_1 : nullptr; }

/// The challenge files to try: the MD's key specs in tls_alpn01_answer_order, else the default.
std::vector<std::string> pubcert_candidates(const module_state& st, const std::string& host) {
  std::vector<std::string> names;
  if (const managed_domain* md = md_for_host(st.linked.config, host)) {
    for (const auto& spec : tls_alpn01_answer_order(md->key_specs))
      names.push_back(aspect::tls_alpn01_pubcert(spec));
  }
  names.push_back(aspect::tls_alpn01_pubcert(key_spec::default_spec()));
  if (auto listed = st.store->list_aspects(store_group::challenges, host, "acme-tls-alpn-01-pubcert*.pem")) {
    names.insert(names.end(), listed->begin(), listed->end());
  }
  return names;
}

int answer_challenge(conn_rec* c, const char* server_name, const char** pcert_pem, const char** pkey_pem) {
  if (!server_name || !is_acme_tls_1(c)) return DECLINED;
  return guarded(c->base_server, "MDA0169", "tls-alpn-01 challenge", DECLINED, [&]() -> int {
    const module_state* st = current_state();
    if (!st || !st->store) return DECLINED;
    // An IP identifier's SNI is its reverse-DNS name (RFC 8738 §6); its files are under the IP.
    std::string host = lowercase(server_name);
    if (auto ip = acme::ip_from_reverse_dns_name(host)) host = *ip;
    for (const std::string& cert_name : pubcert_candidates(*st, host)) {
      std::string key_name = cert_name;
      const auto at = key_name.find("pubcert");
      if (at == std::string::npos) continue;
      key_name.replace(at, 7, "privkey");
      auto cert = st->store->load_text(store_group::challenges, host, cert_name);
      if (!cert) continue;
      auto key = st->store->load_text(store_group::challenges, host, key_name);
      if (!key) continue;
      *pcert_pem = apr_pstrmemdup(c->pool, cert->data(), cert->size());
      *pkey_pem = apr_pstrmemdup(c->pool, key->data(), key->size());
      ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "MDA0163: %s: answering the tls-alpn-01 challenge with %s",
                    host.c_str(), cert_name.c_str());
      return OK;
    }
    // MDStoreEtcd: another server of the cluster may have ordered it (keys encrypted there)
    if (auto shared = cluster_challenge_store(*st)) {
      if (auto listed = shared->list_aspects(store_group::challenges, host, "acme-tls-alpn-01-pubcert*.pem")) {
        for (const std::string& cert_name : *listed) {
          std::string key_name = cert_name;
          key_name.replace(key_name.find("pubcert"), 7, "privkey");
          auto cert = shared->load_text(store_group::challenges, host, cert_name);
          auto key = shared->load_key(store_group::challenges, host, key_name);
          if (!cert || !key) continue;
          auto pem = key->to_pem();
          if (!pem) continue;
          *pcert_pem = apr_pstrmemdup(c->pool, cert->data(), cert->size());
          *pkey_pem = apr_pstrmemdup(c->pool, pem->data(), pem->size());
          ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                        "MDA0113: %s: answering the tls-alpn-01 challenge from the cluster with %s",
                        host.c_str(), cert_name.c_str());
          return OK;
        }
      }
    }
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, "MDA0164: %s: unknown tls-alpn-01 challenge host", host.c_str());
    return DECLINED;
  });
}

// --- MDRequireHttps ------------------------------------------------------------------------

/// The MD assigned to the request's server that has `host` among its domains, or null.
const managed_domain* assigned_md(const module_state& st, const server_rec* s, const std::string& host) {
  const auto it = st.server_index.find(s);
  if (it == st.server_index.end() || it->second >= st.linked.assigned.size()) return nullptr;
  for (std::size_t i : st.linked.assigned[it->second]) {
    const managed_domain& md = st.linked.config.mds[i].md;
    for (const auto& d : md.domains) {
      if (dns_matches(d, host)) return &md;
    }
  }
  return nullptr;
}

int require_https(request_rec* r) {
  const char* path = r->parsed_uri.path;
  if (!path || std::strncmp(path, k_well_known_prefix.data(), k_well_known_prefix.size()) == 0) return DECLINED;
  return guarded(r->server, "MDA0169", "MDRequireHttps", DECLINED, [&]() -> int {
    const module_state* st = current_state();
    if (!st) return DECLINED;
    const char* name = ap_get_server_name_for_url(r);
    const std::string host = lowercase(name);
    const managed_domain* md = assigned_md(*st, r->server, host);
    if (!md || md->require_https == md_require_https::off) return DECLINED;
    if (ap_ssl_conn_is_ssl(r->connection)) {
      if (md->require_https == md_require_https::permanent && !apr_table_get(r->headers_out, k_hsts_header) &&
          !apr_table_get(r->err_headers_out, k_hsts_header)) {
        apr_table_setn(r->err_headers_out, k_hsts_header, k_hsts_value);
      }
      return DECLINED;
    }
    const int status = redirect_status(md->require_https, r->method_number == M_GET);
    // To the public https port, 443, as mod_md: MDPortMap says which local port that reaches,
    // not where clients connect.
    const std::string location =
        https_location(name ? name : "", 443, r->uri ? r->uri : "/",
                       r->parsed_uri.query ? r->parsed_uri.query : "",
                       r->parsed_uri.fragment ? r->parsed_uri.fragment : "");
    apr_table_setn(r->headers_out, "Location", apr_pstrdup(r->pool, location.c_str()));
    return status;
  });
}

} // namespace

void register_request_hooks() {
  static const char* const mod_ssl[] = {"mod_ssl.c", nullptr};
  // Challenges first of all: before mod_ssl's 503, redirects and access control.
  ap_hook_post_read_request(http01_challenge, nullptr, mod_ssl, APR_HOOK_REALLY_FIRST);
  ap_hook_post_read_request(require_https, mod_ssl, nullptr, APR_HOOK_MIDDLE);
  ap_hook_protocol_propose(protocol_propose, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_protocol_switch(protocol_switch, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_protocol_get(protocol_get, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_ssl_answer_challenge(answer_challenge, nullptr, nullptr, APR_HOOK_MIDDLE);
  register_status_hooks();
}

} // namespace mda::httpd
