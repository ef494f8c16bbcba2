// A private Apache with one managed domain certified by a pebble fixture, for the end-to-end
// suites that swap or vary the certificate module (accounts, migration): an http and an https
// listener on free loopback ports, `md-status` on /md-status, a vhost per MD name, and the
// module to load given by path (ours: MODULE_PATH, Debian's: k_debian_mod_md).
// Helpers read what a client and pebble see: the served certificate's serial and issuer, the
// md-status JSON, the number of certificates pebble issued (from its log).
// Not here: the scenarios and their checks (tests/httpd/apache_*_test.cpp).
#pragma once

#include <string>
#include <vector>

#include "tests/support/apache.hpp"
#include "tests/support/pebble.hpp"

namespace mda::test {

/// Debian's mod_md 2.6.x.
inline const std::string k_debian_mod_md = k_apache_modules + "/mod_md.so";

struct md_site : private_apache {
  int http = 0, https = 0;
  std::string md = "a.example.test"; ///< the MD name and its only domain
  std::string challenges = "http-01"; ///< MDCAChallenges; "" leaves the directive out
  std::string mpm = "event";          ///< base_conf's MPM
  /// The lines that load the module; "" (the default): `LoadModule md_module <module>` of
  /// configure(). The package test sets Include lines of a .load/.conf pair here.
  std::string load_lines;

  md_site(int http_port, int https_port) : http(http_port), https(https_port) {}

  /// Writes httpd.conf: base_conf(), both listeners, `LoadModule md_module <module>` (or
  /// `load_lines`), the CA
  /// lines for `p` (unless `ca_lines` replaces them; the CA file copied to <root>/pebble-ca.pem
  /// where the User can read it), agreement, contact, MDPortMap,
  /// MDStoreDir <root>/md, MDRetryDelay 1s, MDCAChallenges `challenges`, `extra` (module directives), md-status, the MD
  /// and its vhost.
  void configure(const pebble_fixture& p, const std::string& module, const std::string& extra = "",
                 const std::string& ca_lines = "");

  /// Waits up to `seconds` until staging/<md>/job.json says "finished": true.
  bool wait_staged(int seconds) const;
  /// Waits up to `seconds` until `path` exists and contains `text`.
  static bool wait_for_text(const std::string& path, const std::string& text, int seconds);

  /// GET http://127.0.0.1:<http><path> with Host localhost: the body ("" when it fails).
  std::string http_get(const std::string& path) const;
  /// The body of GET /md-status/<md> (the one-MD form with its job log).
  std::string md_status() const { return http_get("/md-status/" + md); }
  /// `openssl x509 -noout <what>` of the certificate served for SNI `host` ("" on failure),
  /// e.g. what = "-serial" or "-issuer".
  std::string served(const std::string& host, const std::string& what) const;
  /// HTTP status of https://<host>/index.html.
  std::string status_of(const std::string& host) const { return https_status(host, https); }
};

/// How many certificates pebble issued so far ("Issued certificate serial" in its log).
int pebble_issued(const pebble_fixture& p);

/// Writes an executable sh script `path` that appends its arguments ("$@") as one line to
/// `out` (the directory of `out` is made world-writable: the programs run as the User).
void write_recording_script(const std::string& path, const std::string& out);

/// The lines of a file (none when missing).
std::vector<std::string> lines_of(const std::string& path);

} // namespace mda::test
