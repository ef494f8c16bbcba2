// The HTTP(S) transport shared by the ACME client (acme/) and OCSP fetching (ocsp/fetch.hpp):
// one blocking request at a time per call, over cpp-httplib 0.11.4 with OpenSSL.
//
// - `http_transport` is the interface the ACME and OCSP code talks to; tests and the engine
//   inject fakes. `httplib_transport` is the real one.
// - Namespace mda::acme, where it grew up: moving it to its own namespace would touch every
//   ACME, OCSP and actor file for no change in behaviour.
// - Trust: a CA file (MDCACertificateFile) or OpenSSL's default paths (the system store).
// - An HTTP proxy (MDHttpProxy): plain http:// only. cpp-httplib 0.11.4 speaks plain TCP to
//   the proxy (CONNECT for https targets), so a TLS connection *to* the proxy, and with it
//   MDHttpProxyCACertificateFile (curl's PROXY_CAINFO, which only applies to https://
//   proxies), cannot be honoured: an https:// proxy is refused at creation.
// - Limits as mod_md sets them for ACME (reference §6): connect 30 s, body 1 MiB, overall
//   10 min; a read stalling longer than the read timeout (30 s) fails. Beyond mod_md, the
//   response head is bounded in size (64 KiB, 100 lines) and time (complete 60 s after the
//   request went out), and the body on the wire too (see http/response_stream.hpp).
// - Errors are mda::error with an acme_errc code and a message naming the URL.
//
// - Connections are kept alive and reused (RFC 9112 §9.3), as mod_md's curl does: a pool per
//   transport of idle clients per (scheme, host, port), each with its own SSL context (the CA
//   file is read once per pooled client, not per request). A request checks a client out, so
//   any number of threads may share one transport. A client whose request failed is dropped;
//   idle ones are closed after `keep_alive_idle`. A request on a reused connection that fails
//   while writing or before any byte of the answer arrived (the server closed the idle
//   connection) is sent once more on a new connection: for ACME POSTs this is safe, as a JWS
//   whose nonce the server did consume comes back as badNonce.
//
// Not here: redirects (not followed; 3xx is returned as is), cookies, other retries, JSON.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "http/errors.hpp"

namespace mda::acme {

/// Case-insensitive ordering for header names.
struct ci_less {
  bool operator()(const std::string& a, const std::string& b) const;
};

/// Header fields; a name may occur several times (Link, Replay-Nonce).
using http_headers = std::multimap<std::string, std::string, ci_less>;

/// The 1 MiB cap mod_md applies to ACME responses (reference §6).
inline constexpr std::size_t default_max_body = 1024 * 1024;

/// "mdactor/<version>".
std::string default_user_agent();

/// An absolute http(s) URL split for connecting.
struct url_parts {
  std::string scheme;    ///< "http" or "https", lowercase
  std::string host;      ///< without IPv6 brackets
  int port = 0;          ///< explicit or the scheme's default
  std::string target;    ///< path and query, at least "/"; no fragment
  std::string authority; ///< host[:port] as for a Host header (IPv6 bracketed)
};

/// Parses "http(s)://host[:port][/path][?query][#fragment]"; userinfo is refused.
expected<url_parts> parse_url(std::string_view url);

/// Resolves a reference (Location, Link) against the URL it came with: absolute URLs,
/// "//host/..", "/path" and relative paths.
std::string resolve_url(const std::string& base, const std::string& ref);

struct http_request {
  std::string method = "GET"; ///< "GET", "HEAD" or "POST"
  std::string url;            ///< absolute
  std::string body;           ///< POST only
  std::string content_type;   ///< POST only
  http_headers headers;       ///< extra fields
};

struct http_response {
  int status = 0;
  http_headers headers;
  std::string body;
  std::string url; ///< the URL requested, for messages and relative references

  /// The first value of a header field, if present.
  std::optional<std::string> header(const std::string& name) const;
  /// All values of a header field in order of arrival.
  std::vector<std::string> header_values(const std::string& name) const;
  /// The media type of Content-Type, lowercase, without parameters; "" when absent.
  std::string media_type() const;
  /// Targets of Link header fields with rel=<rel> (RFC 8288), resolved against `url`.
  std::vector<std::string> links(std::string_view rel) const;
  /// The Location header resolved against `url`, if present.
  std::optional<std::string> location() const;
};

/// What the ACME code talks to.
class http_transport {
 public:
  virtual ~http_transport() = default;
  /// Performs one request. A non-2xx status is a response, not an error.
  virtual expected<http_response> request(const http_request& req) = 0;

  expected<http_response> get(const std::string& url);
  expected<http_response> head(const std::string& url);
  expected<http_response> post(const std::string& url, std::string body,
                               std::string content_type);
};

struct http_options {
  std::string ca_file;       ///< MDCACertificateFile; "" = system store
  std::string proxy_url;     ///< MDHttpProxy, "http://[user:pass@]host:port" or "host:port"
  std::string proxy_ca_file; ///< MDHttpProxyCACertificateFile; see the header comment
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};   ///< per stalled read
  std::chrono::milliseconds total_timeout{std::chrono::minutes(10)};  ///< whole response
  /// The whole response head, from when the request starts going out: a server may think up
  /// to the read timeout (30 s) before its first byte, and a head (at most 64 KiB) then comes
  /// in one round trip; twice the read timeout is never needed by a server that is not
  /// trickling its head a byte at a time. Within total_timeout.
  std::chrono::milliseconds head_timeout{std::chrono::seconds(60)};
  std::size_t max_body = default_max_body;
  std::string user_agent = default_user_agent();
  /// How long an idle connection is kept for reuse; 0 = a new connection per request.
  std::chrono::milliseconds keep_alive_idle{std::chrono::seconds(60)};
  std::size_t max_idle_per_host = 8; ///< idle connections kept per (scheme, host, port)
};

/// The real transport.
class httplib_transport final : public http_transport {
 public:
  /// Checks the options: an unreadable CA file, a bad or https:// proxy URL fail here.
  static expected<std::shared_ptr<httplib_transport>> create(http_options opts);

  expected<http_response> request(const http_request& req) override;
  const http_options& options() const { return opts_; }
  /// How many cpp-httplib clients (connections with their SSL context) were made so far.
  std::size_t clients_created() const;

  struct proxy_parts {
    std::string host;
    int port = 0;
    std::string user, password;
  };

 private:
  struct pool; // idle clients by (scheme, host, port); see http_client.cpp
  httplib_transport(http_options opts, std::optional<proxy_parts> proxy);

  http_options opts_;
  std::optional<proxy_parts> proxy_;
  std::shared_ptr<pool> pool_;
};

} // namespace mda::acme
