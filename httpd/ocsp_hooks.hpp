// OCSP stapling in the handshake through the core hooks of http_ssl.h (reference §4, §7;
// mod_md src/mod_md_ocsp.c md_ocsp_prime_status / md_ocsp_provide_status):
//
// - ssl_ocsp_prime_hook (parent, mod_ssl's post_config, every pass; mod_ssl calls it for
//   every server certificate, SSLUseStapling or not): when the server staples (its one MD
//   has MDStapling on, or without an MD: MDStapling and MDStapleOthers on in the server) and
//   the leaf has an AIA OCSP URL, the certificate id (hex SHA-1 of the leaf DER) is
//   registered in the process-wide staple cache (ocsp_cache.hpp) with the store file of its
//   response, ocsp/<MD name | "other">/ocsp-<id>.json, which is read once right there (the
//   workers inherit it and staple from their first handshake); the hook answers OK. Without an
//   OCSP URL it declines quietly (a debug line). For a certificate outside any MD the PEM
//   mod_ssl hands over (leaf, then its chain) is written to ocsp/other/cert-<id>.pem and that
//   file added to the engine settings' staple_other_files, so the engine (as the User) can
//   fetch for it without reading the server's own certificate files.
// - ssl_ocsp_get_resp_hook (workers, each handshake that asks for a status): unknown id ->
//   DECLINED (mod_ssl's own stapling may apply); a registered one -> the cached DER, or
//   nothing (callback with NULL, 0) while no servable response exists; OK either way. No
//   network, no wait on the engine: the cache reads the store file at most every 2 s.
// The registrations belong to one configuration pass: they are dropped when the parent
// clears its configuration pool (restart, graceful); forked workers keep their copy.
// Not here: fetching and storing responses (the engine), the cache logic (ocsp_cache.hpp).
#pragma once

#include <string>

namespace mda::httpd {

/// Registers the two hooks (called from register_ssl_hooks()).
void register_ocsp_hooks();

/// A leaf that went live in this worker process (live_certs.hpp) for an MD with MDStapling:
/// mod_ssl asks for the staple by the id of the certificate the handshake now carries, so
/// that id (hex SHA-1 of `leaf_der`) is registered under the MD's name with the file
/// ocsp/<md>/ocsp-<id>.json, as prime() registers the certificates mod_ssl loaded. Safe while
/// handshakes look up (any thread); a no-op before a configuration pass completed.
void staple_live_leaf(const std::string& md, const std::string& leaf_der);

} // namespace mda::httpd
