// Live activation in the workers (issue 16): every child process serves the sets the engine
// announces in <store>/mdactor/live.json (store/live.hpp) without a restart, and replaced
// MDCertificateFile / MDCertificateKeyFile pairs as well.
//
// - Parent, mod_ssl's post_config: mod_ssl's optional hook `init_server` hands over each
//   server's SSL_CTX. For a non-proxy SSL_CTX of a server with exactly one MD it remembers the
//   MD's slot, the fingerprints of the certificates mod_ssl loaded into it (and, for static
//   files, their stamps) and installs a certificate callback with the slot as its argument.
//   SNI switches a connection to the vhost's SSL_CTX (SSL_set_SSL_CTX copies the callback)
//   before the callback runs. With `MDActivation restart` nothing of this happens.
// - Handshake (any worker thread): the callback reads the slot's immutable snapshot
//   (std::atomic_load of a shared_ptr). None: it returns at once, the SSL_CTX's certificates
//   are served. Else each key spec's leaf, key and chain replace that key type's slot on
//   this SSL only (SSL_use_cert_and_key); the shared SSL_CTX is never changed. A
//   tls-alpn-01 answer already set on the SSL (ALPN acme-tls/1) is left alone. No lock held
//   by I/O, no I/O, no wait.
// - Each child process (child_init, every MPM): one pass at once, then a watcher thread that
//   stats live.json every second and, when it changed, reads it; an MD whose announced
//   fingerprints differ from what the process serves is loaded with load_live_set (the key
//   decrypted with the store secret the parent's fork left here) and checked; the new
//   snapshot replaces the old (std::atomic_store), MDA0153. A set that fails is not served
//   and logged once per (MD, fingerprints): MDA0152, the previous certificates stay; it is
//   tried again at every change of live.json and every minute. Announced leaves that
//   mod_ssl loaded already (after a restart moved the set to domains/) need no loading. An
//   MD missing from the file keeps what it has. live.json that does not read: MDA0155 once
//   per version of the file, the last good table stays.
// - Static certificates: every minute and at every change of live.json, the stamps of an
//   MD's MDCertificateFile / MDCertificateKeyFile are compared with those mod_ssl loaded; a
//   changed pair that reads and checks out (key fits, names covered, valid now) is served
//   the same way; a key file the User cannot read (root's, the usual case) is MDA0154 once,
//   served at the next restart.
// - OCSP: for an MD with MDStapling each leaf that goes live is registered with the staple
//   cache (ocsp_hooks.hpp staple_live_leaf), so mod_ssl's stapling finds it.
// The watcher is stopped and joined in a cleanup of the child's pool.
// Not here: deciding what goes live and writing live.json (the engine), the check itself
// (store/live.hpp), md-status.
#pragma once

namespace mda::httpd {

/// Registers the init_server optional hook and the child_init hook (from register_ssl_hooks).
void register_live_certs();

} // namespace mda::httpd
