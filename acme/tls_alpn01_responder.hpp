// An embedded tls-alpn-01 responder (RFC 8737): a TLS server (OpenSSL, own thread) that
// answers only handshakes negotiating ALPN "acme-tls/1", with the challenge certificate of
// certgen.hpp for the SNI name, and closes the connection right after the handshake
// (RFC 8737 §3). For mdctl and tests, where no Apache answers.
//
// - A ClientHello without "acme-tls/1" among its ALPN protocols (or with no ALPN at all) is
//   refused with the no_application_protocol alert (RFC 8737 §3: the challenge certificate is
//   for acme-tls/1 only). An SNI name nobody set up, or none, gets unrecognized_name.
// - The SNI of an IP identifier is its reverse-DNS name (RFC 8738 §6):
//   "4.3.2.1.in-addr.arpa" for 1.2.3.4, nibbles + ".ip6.arpa" for IPv6.
// - TLS 1.2 and 1.3 (RFC 8737 §3 requires at least 1.2). Each connection is handled on a
//   short-lived thread with an I/O timeout; all are ended when the object goes.
// Not here: the store's challenge files and Apache's handshake glue (which can reuse
// acme_tls_sni_name / ip_from_reverse_dns_name).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "acme/challenge.hpp"
#include "core/key_spec.hpp"
#include "core/timefmt.hpp"

namespace mda::acme {

/// The reverse-DNS name of an IP literal (RFC 8738 §6), lowercase, no trailing dot; nothing
/// when `ip` is not an IP literal.
std::optional<std::string> reverse_dns_name(const std::string& ip);
/// The IP literal (canonical text) a reverse-DNS name stands for; nothing for other names.
std::optional<std::string> ip_from_reverse_dns_name(const std::string& name);
/// The SNI name a validation of `identifier` uses: the reverse-DNS name for an IP, the DNS
/// name lowercased otherwise.
std::string acme_tls_sni_name(const std::string& identifier, bool is_ip);

struct tls_alpn01_responder_options {
  std::string address = "127.0.0.1";         ///< numeric address to listen on ("0.0.0.0", "::")
  int port = 0;                              ///< 0 = any free port (see port())
  key_spec spec = key_spec::ec("P-256");     ///< key type of the challenge certificates
  std::shared_ptr<const time_source> clock; ///< certificate validity start; null = system
  std::chrono::milliseconds io_timeout{std::chrono::seconds(5)}; ///< per connection
  std::size_t max_connections = 32; ///< more at once are closed at once
};

class tls_alpn01_responder final : public challenge_setup {
 public:
  /// Binds and starts serving. Failures: acme_errc::config "tls-alpn-01 responder: cannot
  /// listen on <address>:<port>: <reason>", or the OpenSSL call that failed.
  static expected<std::unique_ptr<tls_alpn01_responder>> start(tls_alpn01_responder_options opts);
  ~tls_alpn01_responder() override;
  tls_alpn01_responder(const tls_alpn01_responder&) = delete;
  tls_alpn01_responder& operator=(const tls_alpn01_responder&) = delete;

  int port() const { return port_; }

  bool supports(challenge_type t) const override { return t == challenge_type::tls_alpn_01; }
  /// Makes a key and the challenge certificate for c.identifier and serves it for its SNI.
  status setup(const challenge_data& c) override;
  /// Stops serving the identifier (absent is fine).
  status teardown(const challenge_data& c) override;

 private:
  struct impl; ///< OpenSSL state, certificates, connections (in the .cpp)

  explicit tls_alpn01_responder(tls_alpn01_responder_options opts);
  void accept_loop();
  void reap_finished(bool all);

  tls_alpn01_responder_options opts_;
  std::unique_ptr<impl> impl_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1}; ///< self-pipe that ends the accept loop
  int port_ = 0;
  std::thread thread_;
};

} // namespace mda::acme
