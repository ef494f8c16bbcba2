// What live_certs.cpp (hooks, certificate callback) and live_watch.cpp (the watcher thread of
// each child) share: one slot per MD whose SSL_CTXs carry the certificate callback, holding
// the snapshot the callback serves. See live_certs.hpp for the whole.
// Threads: `current` is read by handshakes with std::atomic_load and replaced by the watcher
// with std::atomic_store; everything else in a slot is written by the parent before the fork
// and afterwards by the watcher thread only.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include <httpd.h>

#include "core/ossl_ptr.hpp"
#include "core/pkey.hpp"
#include "core/x509.hpp"
#include "httpd/module.hpp"
#include "httpd/ocsp_cache.hpp"

namespace mda::httpd {

inline void free_x509_stack(STACK_OF(X509)* s) { sk_X509_pop_free(s, X509_free); }
using x509_stack = ossl_ptr<STACK_OF(X509), free_x509_stack>;

/// One key type's certificate: what SSL_use_cert_and_key takes.
struct live_pair {
  certificate leaf;
  private_key key;
  x509_stack chain; ///< the intermediates
};

/// What a slot serves; never changed once published.
struct live_snapshot {
  std::vector<live_pair> pairs;
};
using live_snapshot_ptr = std::shared_ptr<const live_snapshot>;

/// The stamp of each MDCertificateFile and MDCertificateKeyFile, in order (cert, key, ...).
using file_stamps = std::vector<std::optional<file_stamp>>;

struct live_slot {
  std::string md;
  live_snapshot_ptr current;          ///< null: the SSL_CTX's own certificates
  /// The SSL_CTX holds the MD's fallback (module_state::live_fallbacks): requests are answered
  /// 503 until a live set is published (read by any request thread, cleared by the watcher).
  std::atomic<bool> unavailable{false};
  std::vector<std::string> loaded;    ///< fingerprints of what mod_ssl loaded at start
  file_stamps static_stamps;          ///< of the static files mod_ssl loaded (or served since)
  // --- the watcher's own ---
  std::vector<std::string> served;    ///< fingerprints of the live set served; empty: none
  std::string failed;                 ///< the (fingerprints | stamps) last logged as failing
  std::string unreadable;             ///< the stamps last logged as unreadable (MDA0154)
};

/// The stamps of the MD's static files now (empty without MDCertificateFile).
file_stamps static_file_stamps(const md_spec& md);

/// Starts this child's watcher (live_watch.cpp): one pass at once, then the thread; stopped
/// and joined in a cleanup of `pchild`. `s`: the main server, for logs.
void start_live_watcher(apr_pool_t* pchild, server_rec* s, const module_state& st,
                        std::vector<live_slot*> slots);

} // namespace mda::httpd
