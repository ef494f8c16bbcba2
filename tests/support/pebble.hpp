// A test fixture running Debian's pebble (2.4.0, an ACME test CA) with pebble-challtestsrv as
// its DNS server, on 127.0.0.1 with free ports, everything written under a temp dir.
//
// - Debian's pebble ships no certificate for its HTTPS listener: the fixture makes a small CA
//   and a leaf for localhost/127.0.0.1/::1 with the `openssl` command line. Clients trust
//   `ca_file()` for the ACME connection. Issued certificates chain to a different root that
//   pebble makes anew at every start: `fetch_root()` gets it (management port, /roots/0).
// - challtestsrv answers every A query with 127.0.0.1 and no AAAA; its own challenge
//   responders are off. TXT records go through its management API (`set_txt`, `clear_txt`).
// - pebble validates http-01 on `http_port` and tls-alpn-01 on `tls_port` of the name's
//   address (127.0.0.1): point them at the responder under test.
// - PEBBLE_VA_NOSLEEP=1 always; nonce rejection and authz reuse are options.
// - Processes are stopped by PID (SIGTERM, then SIGKILL) when the fixture goes.
//
// pebble 2.4.0 has no ARI (renewalInfo) and no profiles: test those against a scripted server.
// Construction throws std::runtime_error (a failing test) when pebble is not installed or
// does not come up; the message says what to install or shows pebble's log.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>

#include "tests/test_util.hpp"

namespace mda::test {

struct pebble_options {
  int http_port = 0; ///< pebble's httpPort; 0 = a free port nobody listens on
  int tls_port = 0;  ///< pebble's tlsPort; 0 = a free port nobody listens on
  bool eab_required = false;
  std::map<std::string, std::string> eab_keys; ///< kid -> base64url HMAC key
  std::optional<int> nonce_reject;             ///< PEBBLE_WFE_NONCEREJECT (%); unset: pebble's 5
  std::optional<int> authz_reuse;              ///< PEBBLE_AUTHZREUSE (%); unset: pebble's 50
  /// PEBBLE_VA_SLEEPTIME: the validation waits up to this many seconds (random); unset: no
  /// wait (PEBBLE_VA_NOSLEEP).
  std::optional<int> va_sleep;
  /// PEBBLE_VA_ALWAYS_VALID: every challenge is valid without a validation request.
  bool always_valid = false;
  std::chrono::seconds startup_timeout{20};
};

/// Options for a pebble that validates http-01 on `http_port` and tls-alpn-01 on `tls_port`.
pebble_options pebble_answering(int http_port, int tls_port);

/// Whether an executable `program` is in a directory of $PATH.
bool on_path(const std::string& program);

/// A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral range (so
/// no outgoing connection takes it before the test binds it), not handed out before in this process.
int free_port();

/// A port free for both TCP and UDP (DNS).
int free_tcp_udp_port();

/// Writes ca.pem (a fresh test CA), leaf.pem and leaf.key (EC P-256, valid for 2 days from
/// now, SAN localhost, 127.0.0.1, ::1) into dir with the `openssl` command line.
void make_localhost_tls(const std::string& dir);

/// "" when pebble and pebble-challtestsrv are on PATH; otherwise what to install.
std::string pebble_missing();

class pebble_fixture {
 public:
  explicit pebble_fixture(pebble_options opts = {});
  ~pebble_fixture();
  pebble_fixture(const pebble_fixture&) = delete;
  pebble_fixture& operator=(const pebble_fixture&) = delete;

  const std::string& directory_url() const { return directory_url_; } ///< https://127.0.0.1:P/dir
  const std::string& ca_file() const { return ca_file_; } ///< trust this for the ACME connection
  std::string management_url() const;                      ///< https://127.0.0.1:M
  std::string challtestsrv_url() const;                    ///< http://127.0.0.1:C
  int http_port() const { return opts_.http_port; }
  int tls_port() const { return opts_.tls_port; }
  int dns_port() const { return dns_port_; }
  const std::string& dir() const { return tmp_.path(); }
  const pebble_options& options() const { return opts_; }

  /// PEM of the root that issued certificates chain to (changes with every start).
  std::string fetch_root() const;
  /// fetch_root() written to a file in dir(); returns its path.
  std::string write_root_file() const;

  /// POSTs a JSON body to challtestsrv's management API; throws unless it answers 200.
  void challtestsrv_post(const std::string& path, const std::string& json) const;
  /// TXT record for e.g. "_acme-challenge.x.test" (a trailing dot is added when missing).
  void set_txt(const std::string& host, const std::string& value) const;
  void clear_txt(const std::string& host) const;

  /// The management API's /cert-status-by-serial/<serial> answer as JSON text ({"Status":
  /// "Valid"|"Revoked", "Serial", "Reason"?, ...}); `serial_hex` as certificate::serial_hex
  /// gives it. Throws unless pebble answers 200.
  std::string cert_status(const std::string& serial_hex) const;

  /// What pebble printed so far.
  std::string pebble_log() const;

 private:
  bool start_once(std::string& why);
  void stop_all();

  temp_dir tmp_;
  pebble_options opts_;
  std::string ca_file_, directory_url_;
  int acme_port_ = 0, mgmt_port_ = 0, dns_port_ = 0, cts_port_ = 0;
  pid_t pebble_pid_ = -1, cts_pid_ = -1;
};

/// Writes <dir>/dns.sh, an MDChallengeDns01 program that sets / clears _acme-challenge TXT
/// records through challtestsrv's management API and logs its arguments:
/// dns.sh HOST:PORT LOG setup|teardown DNS [VALUE]. Returns its path.
std::string write_dns_script(const std::string& dir);

} // namespace mda::test
