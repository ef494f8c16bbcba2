// The decisions of the module's request hooks, as pure functions (no httpd include), so they
// are tested without Apache (reference §4.2 - §4.4; mod_md src/mod_md.c md_http_challenge_pr,
// md_require_https_maybe):
//
// - http-01: which request paths are challenge requests, whether a token is well formed
//   (RFC 8555 §8.1: base64url), whether the key authorization in the store answers it, and
//   whether an MD allows the challenge type at all (MDCAChallenges; an empty list = any).
// - MDRequireHttps: the redirect status (GET 302/301, other methods 307/308) and the Location
//   of the public https port, 443, as mod_md (MDPortMap says which local port 443 reaches).
// - which configured MD a host name belongs to (md_get_by_domain: exact, case-insensitive).
// Not here: reading files, answering requests (request_hooks.cpp, status_handlers.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine_config.hpp"
#include "core/md.hpp"

namespace mda::httpd {

/// "/.well-known/acme-challenge/"
inline constexpr std::string_view k_acme_challenge_prefix = "/.well-known/acme-challenge/";
/// "/.well-known/": MDRequireHttps never redirects below it.
inline constexpr std::string_view k_well_known_prefix = "/.well-known/";
/// The path of MDCertificateStatus.
inline constexpr std::string_view k_certificate_status_path = "/.httpd/certificate-status";
/// The HSTS value mod_md sends on https with MDRequireHttps permanent (half a year).
inline constexpr const char* k_hsts_value = "max-age=15768000";
/// The ALPN protocol of tls-alpn-01 (RFC 8737 §6.2).
inline constexpr const char* k_acme_tls_1 = "acme-tls/1";

/// The token of a challenge request path: what follows the prefix, when the path starts with
/// it, the rest is not empty and holds no '/'. nullopt for other paths.
std::optional<std::string_view> http01_token_of(std::string_view path);

/// The key specs whose tls-alpn-01 challenge certificate to answer with, in the order to try:
/// the default RSA, other RSA sizes, then EC, each in configured order. mod_ssl puts the one
/// certificate answered in place of the fallback of its key type only; with an RSA and an EC
/// fallback a CA that prefers RSA (pebble, Let's Encrypt) gets the RSA fallback unless the RSA
/// challenge certificate is answered (as mod_md does; its suite, 702_040 "secp384r1 rsa 4096").
std::vector<key_spec> tls_alpn01_answer_order(const std::vector<key_spec>& specs);

/// A token as RFC 8555 §8.1 makes them: base64url characters only, at most 256 of them.
/// Anything else ("..", "%2e", ...) never reaches the store.
bool http01_token_valid(std::string_view token);

/// The key authorization "<token>.<thumbprint>" (RFC 8555 §8.1) answers `token`.
bool key_authorization_matches(std::string_view key_authorization, std::string_view token);

/// MDCAChallenges allows `type` ("http-01", "tls-alpn-01"); an empty list allows all.
bool challenge_allowed(const managed_domain& md, std::string_view type);

/// The configured MD listing `host` among its domains (ASCII case-insensitive), or null.
const managed_domain* md_for_host(const engine_config& cfg, std::string_view host);

/// MDRequireHttps on a plain http request: 301 / 302 for GET (and HEAD), 308 / 307 otherwise;
/// 0 when `mode` is off.
int redirect_status(md_require_https mode, bool is_get);

/// The https URL of a request: "https://<host>[:<port>]<uri>[?<query>][#<fragment>]"; the port
/// is left out when it is 443, and 0 (public 443 not mapped, "MDPortMap https:-") means 443.
/// `host` is as ap_get_server_name_for_url gives it (IPv6 in brackets); empty query and
/// fragment are left out.
std::string https_location(std::string_view host, int https_port, std::string_view uri,
                           std::string_view query, std::string_view fragment);

/// The last segment of a path ("/md-status/a.test" -> "a.test"); "" when there is none.
std::string last_path_segment(std::string_view path);

} // namespace mda::httpd
