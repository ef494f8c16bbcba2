// A CONNECT tunnel (RFC 9110 §9.3.6) for https requests through an http:// proxy (MDHttpProxy),
// made here instead of by cpp-httplib: 0.11.4 never finishes reading a proxy's answer to
// CONNECT when it comes as HTTP/1.0 without a body length — and Apache's own forward proxy
// (mod_proxy_connect) answers exactly "HTTP/1.0 200 Connection Established" — so every request
// through such a proxy hung until the engine's timeouts.
//
// - open(): a listener on 127.0.0.1 (an ephemeral port) for one target host:port. The TLS client
//   connects there (cpp-httplib's host-to-address map sends the CA's host name to 127.0.0.1), so
//   SNI, the Host header and the certificate check keep the CA's name.
// - Each accepted connection: a TCP connection to the proxy within `connect_timeout`, then
//   "CONNECT host:port HTTP/1.1" with Host (and Proxy-Authorization: Basic with credentials);
//   the answer's head is read (at most 16 KB, within `connect_timeout`). A 2xx answer: bytes are
//   relayed both ways until either side closes (what came after the head goes first). Anything
//   else: the local connection is closed and why is kept for the caller (take_failure), e.g.
//   "proxy localhost:1: connection refused" or "proxy p:3128 answered CONNECT with 403".
// - One thread per tunnel does all of it (poll); the destructor wakes it and joins it, closing
//   whatever is open.
// Not here: the TLS (cpp-httplib with our verification, http_client.cpp), plain http through a
// proxy (absolute-form requests, which cpp-httplib does right).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace mda::acme {

struct tunnel_target {
  std::string proxy_host;
  int proxy_port = 0;
  std::string user, password; ///< proxy credentials; empty user = none
  std::string host;           ///< where the tunnel leads (the CA)
  int port = 0;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
};

class connect_tunnel {
 public:
  /// Starts the listener and its thread. Errors: the listener could not be made.
  static expected<std::unique_ptr<connect_tunnel>> open(tunnel_target target);
  ~connect_tunnel();
  connect_tunnel(const connect_tunnel&) = delete;
  connect_tunnel& operator=(const connect_tunnel&) = delete;

  /// The local port to connect to (on 127.0.0.1).
  int local_port() const;
  /// Why the last connection through the proxy could not be made, once: after a failed
  /// request the caller asks, and gets nullopt when the tunnel was not the cause.
  std::optional<error> take_failure();

  struct state;

 private:
  explicit connect_tunnel(std::shared_ptr<state> s);
  std::shared_ptr<state> s_;
};

/// The head of a CONNECT request for `t` (exposed for tests).
std::string connect_request(const tunnel_target& t);

/// The status code of a proxy's answer head ("HTTP/1.x NNN ..."); 0 when it is not one.
int connect_answer_status(const std::string& head);

} // namespace mda::acme
