#include "http/http_client.hpp"
#include "http/sigpipe_guard.hpp"

#include "core/config_files.hpp"
#include "core/redact.hpp"
#include "http/connect_tunnel.hpp"
#include "http/response_stream.hpp"

#include <httplib.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <mutex>
#include <csignal>
#include <pthread.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mda::acme {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// "30 s" or "250 ms".
std::string describe(std::chrono::milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

std::string contact_failure(const std::string& url) {
  // mod_md's wording (md_acme.c), so log watchers keep matching.
  return "Unsuccessful in contacting ACME server at " + url + ": ";
}

/// Why a TCP connect to host:port fails, found by trying once more with our own socket:
/// cpp-httplib 0.11.4 reports every connect failure as Error::Connection without errno.
std::string connect_failure_reason(const std::string& host, int port,
                                   std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
  if (rc != 0) return "cannot resolve host '" + host + "': " + gai_strerror(rc);
  int last = 0;
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) { last = errno; continue; }
    int err = ::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
      socklen_t len = sizeof err;
      if (n == 0) err = ETIMEDOUT;
      else if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    ::close(fd);
    if (err == 0) { freeaddrinfo(list); return "connection failed"; }
    last = err;
  }
  freeaddrinfo(list);
  if (last == ECONNREFUSED) return "connection refused";
  if (last == ETIMEDOUT) return "connect timed out after " + describe(timeout);
  std::string text = std::strerror(last);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

/// Makes OpenSSL check the server's name or IP address during chain verification
/// (RFC 6125). cpp-httplib 0.11.4 has its own check, but for IP literals it compares
/// against an uninitialised buffer and can accept a certificate for another address.
status expect_peer_name(SSL_CTX* ctx, const std::string& host) {
  X509_VERIFY_PARAM* param = ctx ? SSL_CTX_get0_param(ctx) : nullptr;
  if (!param) return error(acme_errc::tls, "SSL_CTX_get0_param() failed");
  unsigned char buf[16];
  bool is_ip = inet_pton(AF_INET, host.c_str(), buf) == 1 ||
               inet_pton(AF_INET6, host.c_str(), buf) == 1;
  if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1
            : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1)
    return error(acme_errc::tls, is_ip ? "X509_VERIFY_PARAM_set1_ip_asc() failed"
                                       : "X509_VERIFY_PARAM_set1_host() failed");
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return {};
}

status check_readable(const std::string& what, const std::string& path) {
  if (config_file_copy(path)) return {}; // the parent read it for the unprivileged engine
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return error(acme_errc::config, what + " '" + path + "' cannot be read: " +
                                              std::strerror(errno));
  std::fclose(f);
  return {};
}

expected<httplib_transport::proxy_parts> parse_proxy(const std::string& proxy) {
  const std::string shown = redact_url(proxy); // errors end up in job.json and md-status
  std::string rest = proxy;
  auto sep = rest.find("://");
  if (sep != std::string::npos) {
    auto scheme = lower(rest.substr(0, sep));
    if (scheme == "https")
      return error(acme_errc::config,
                   "proxy '" + shown + "': TLS to the proxy (https://) is not supported by "
                   "cpp-httplib 0.11.4; use an http:// proxy");
    if (scheme != "http")
      return error(acme_errc::config, "proxy '" + shown + "': unsupported scheme '" + scheme + "'");
    rest = rest.substr(sep + 3);
  }
  httplib_transport::proxy_parts p;
  auto at = rest.find('@');
  if (at != std::string::npos && at < rest.find('/')) {
    auto cred = rest.substr(0, at);
    auto colon = cred.find(':');
    p.user = cred.substr(0, colon);
    if (colon != std::string::npos) p.password = cred.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  auto hostport = rest.substr(0, rest.find('/'));
  bool has_port = !hostport.empty() && hostport.front() == '['
                      ? hostport.find("]:") != std::string::npos
                      : hostport.find(':') != std::string::npos;
  auto u = parse_url("http://" + rest);
  if (!u || u->target != "/")
    return error(acme_errc::config, "proxy '" + shown + "' is not of the form http://host:port");
  p.host = u->host;
  p.port = has_port ? u->port : 1080; // curl's default proxy port, as mod_md's libcurl uses
  return p;
}

/// The ACME-facing error for a failed cpp-httplib call.
struct failure_context {
  const http_request& req;
  const url_parts& url;
  const http_options& opts;
  const std::optional<httplib_transport::proxy_parts>& proxy;
  long verify_result = X509_V_OK;
  std::chrono::milliseconds elapsed{0};
  bool too_large = false;
  response_fault fault = response_fault::none;
};

/// The error for a response that overstepped a bound of response_stream.hpp.
error bound_failure(const failure_context& c) {
  const std::string& url = c.req.url;
  switch (c.fault) {
    case response_fault::head_too_large:
      return error(acme_errc::bad_response, "response head from " + url + " exceeds " +
                                                std::to_string(k_max_response_head) + " bytes");
    case response_fault::head_too_many_lines:
      return error(acme_errc::bad_response, "response head from " + url + " has more than " +
                                                std::to_string(k_max_response_lines) + " lines");
    case response_fault::head_overdue:
      return error(acme_errc::timeout, "response head from " + url + " not complete within " +
                                           describe(c.opts.head_timeout));
    case response_fault::body_too_large:
      return error(acme_errc::body_too_large, "response body from " + url + " exceeds " +
                                                  std::to_string(c.opts.max_body + k_max_response_head) +
                                                  " bytes on the wire");
    case response_fault::overdue:
    case response_fault::none: break;
  }
  return error(acme_errc::timeout, "response from " + url + " took longer than " + describe(c.opts.total_timeout));
}

error transport_failure(httplib::Error e, const failure_context& c) {
  const std::string& url = c.req.url;
  if (c.fault != response_fault::none) return bound_failure(c);
  switch (e) {
    case httplib::Error::Connection: {
      auto wait = std::min(c.opts.connect_timeout, std::chrono::milliseconds(5000));
      if (c.proxy)
        return error(acme_errc::connection,
                     contact_failure(url) + "proxy " + c.proxy->host + ":" +
                         std::to_string(c.proxy->port) + ": " +
                         connect_failure_reason(c.proxy->host, c.proxy->port, wait));
      return error(acme_errc::connection,
                   contact_failure(url) + connect_failure_reason(c.url.host, c.url.port, wait));
    }
    case httplib::Error::ConnectionTimeout:
      return error(acme_errc::timeout, contact_failure(url) + "connect timed out after " +
                                           describe(c.opts.connect_timeout));
    case httplib::Error::SSLConnection:
      return error(acme_errc::tls, contact_failure(url) + "TLS handshake failed");
    case httplib::Error::SSLLoadingCerts:
      return error(acme_errc::config, contact_failure(url) + "cannot load CA file '" +
                                          c.opts.ca_file + "'");
    case httplib::Error::SSLServerVerification:
      if (c.verify_result != X509_V_OK)
        return error(acme_errc::tls, contact_failure(url) +
                                         "server certificate verification failed: " +
                                         X509_verify_cert_error_string(c.verify_result));
      return error(acme_errc::tls, contact_failure(url) +
                                       "server certificate does not match host '" +
                                       c.url.host + "'");
    case httplib::Error::Read:
      if (c.elapsed >= c.opts.read_timeout)
        return error(acme_errc::timeout, contact_failure(url) + "no answer within " +
                                             describe(c.opts.read_timeout));
      return error(acme_errc::connection,
                   contact_failure(url) + "connection lost while reading the response");
    case httplib::Error::Write:
      return error(acme_errc::connection, contact_failure(url) + "sending the request failed");
    case httplib::Error::Canceled:
      if (c.too_large)
        return error(acme_errc::body_too_large, "response body from " + url + " exceeds " +
                                                    std::to_string(c.opts.max_body) + " bytes");
      break;
    case httplib::Error::Compression:
      return error(acme_errc::bad_response,
                   "response body from " + url + " cannot be decompressed");
    default:
      break;
  }
  return error(acme_errc::connection,
               contact_failure(url) + "request failed (" + httplib::to_string(e) + ")");
}

} // namespace

namespace {

/// One cpp-httplib client with its SSL context and, between requests, its open connection.
struct pooled_client {
  std::unique_ptr<connect_tunnel> tunnel; ///< https through a proxy; outlives `cli` (declared first)
  std::unique_ptr<httplib::ClientImpl> cli;
  httplib::SSLClient* ssl = nullptr; ///< cli, when it speaks TLS
  response_watch* watch = nullptr;   ///< cli's bounds (response_stream.hpp)
  std::chrono::steady_clock::time_point idle_since{};
};

} // namespace

/// Idle clients by "scheme://host:port" (oldest first), and a count for tests.
struct httplib_transport::pool {
  std::mutex mu;
  std::map<std::string, std::vector<pooled_client>> idle;
  std::size_t created = 0;
};

httplib_transport::httplib_transport(http_options opts, std::optional<proxy_parts> proxy)
    : opts_(std::move(opts)), proxy_(std::move(proxy)), pool_(std::make_shared<pool>()) {}

std::size_t httplib_transport::clients_created() const {
  std::lock_guard<std::mutex> lock(pool_->mu);
  return pool_->created;
}

expected<std::shared_ptr<httplib_transport>> httplib_transport::create(http_options opts) {
  if (!opts.ca_file.empty())
    if (auto st = check_readable("CA file", opts.ca_file); !st) return st.error();
  if (!opts.proxy_ca_file.empty())
    if (auto st = check_readable("proxy CA file", opts.proxy_ca_file); !st) return st.error();
  std::optional<proxy_parts> proxy;
  if (!opts.proxy_url.empty()) {
    auto p = parse_proxy(opts.proxy_url);
    if (!p) return p.error();
    proxy = std::move(*p);
  }
  return std::shared_ptr<httplib_transport>(
      new httplib_transport(std::move(opts), std::move(proxy)));
}

namespace {

/// A cpp-httplib client for u (its connection is made by the first request).
expected<pooled_client> make_client(const url_parts& u, const std::string& url,
                                     const http_options& o,
                                     const std::optional<httplib_transport::proxy_parts>& proxy) {
  pooled_client pc;
  if (u.scheme == "https") {
    int port = u.port;
    if (proxy) {
      // our own CONNECT tunnel (connect_tunnel.hpp): the client talks TLS with the CA's name
      // to the tunnel's local end
      tunnel_target t{proxy->host, proxy->port, proxy->user, proxy->password, u.host, u.port,
                      std::min(o.connect_timeout, std::chrono::milliseconds(30'000))};
      auto tunnel = connect_tunnel::open(std::move(t));
      if (!tunnel) return error(tunnel.error().code, contact_failure(url) + tunnel.error().message);
      pc.tunnel = std::move(*tunnel);
      port = pc.tunnel->local_port();
    }
    auto s = std::make_unique<bounded_client<httplib::SSLClient>>(u.host, port);
    if (pc.tunnel) s->set_hostname_addr_map({{u.host, "127.0.0.1"}});
    if (!o.ca_file.empty()) s->set_ca_cert_path(config_file_path(o.ca_file));
    s->enable_server_certificate_verification(true);
    if (auto st = expect_peer_name(s->ssl_context(), u.host); !st)
      return error(st.error().code, contact_failure(url) + st.error().message);
    pc.ssl = s.get();
    pc.watch = &s->watch;
    pc.cli = std::move(s);
  } else {
    auto plain = std::make_unique<bounded_client<httplib::ClientImpl>>(u.host, u.port);
    pc.watch = &plain->watch;
    pc.cli = std::move(plain);
  }
  auto& cli = *pc.cli;
  auto secs = [](std::chrono::milliseconds d) { return static_cast<time_t>(d.count() / 1000); };
  auto usecs = [](std::chrono::milliseconds d) {
    return static_cast<time_t>(d.count() % 1000 * 1000);
  };
  cli.set_connection_timeout(secs(o.connect_timeout), usecs(o.connect_timeout));
  cli.set_read_timeout(secs(o.read_timeout), usecs(o.read_timeout));
  cli.set_write_timeout(secs(o.read_timeout), usecs(o.read_timeout));
  cli.set_keep_alive(o.keep_alive_idle.count() > 0);
  // cpp-httplib writes the head and the body of a request separately: with Nagle on, the
  // body waits for the ACK of the head, which the peer delays (~40 ms on Linux) — measured
  // as 45 ms per ACME request on loopback. curl (mod_md) sets TCP_NODELAY too.
  cli.set_tcp_nodelay(true);
  cli.set_follow_location(false);
  cli.set_url_encode(false); // parse_url refused anything that would need it
  if (proxy && !pc.tunnel) {
    // cpp-httplib sends plain http in absolute form (RFC 9112 §3.2.2); https goes through our
    // tunnel (above: cpp-httplib's own CONNECT hangs on an HTTP/1.0 answer)
    cli.set_proxy(proxy->host, proxy->port);
    if (!proxy->user.empty()) cli.set_proxy_basic_auth(proxy->user, proxy->password);
  }
  return pc;
}

/// The outcome of one exchange on one client.
struct exchange_result {
  httplib::Error err = httplib::Error::Success;
  http_response out;
  bool too_large = false;
  response_fault fault = response_fault::none;
  std::chrono::milliseconds elapsed{0};
};

exchange_result exchange(pooled_client& pc, const http_request& req, const url_parts& u,
                         const http_options& o) {
  httplib::ClientImpl& cli = *pc.cli;
  httplib::Request hr;
  hr.method = req.method;
  hr.path = u.target;
  for (const auto& [name, value] : req.headers) hr.headers.emplace(name, value);
  hr.set_header("Host", u.authority);
  hr.set_header("User-Agent", o.user_agent);
  if (req.method == "POST") {
    hr.body = req.body;
    hr.set_header("Content-Type", req.content_type);
  }
  exchange_result r;
  r.out.url = req.url;
  const auto start = std::chrono::steady_clock::now();
  // The head's size, lines and time, the whole response's deadline: the stream (response_stream.hpp)
  pc.watch->bounds = response_bounds{start + o.total_timeout, o.head_timeout, o.read_timeout, o.read_timeout,
                                     o.max_body};
  pc.watch->fault = response_fault::none;
  // The decoded body goes through here so that its cap stops reading early.
  hr.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (r.out.body.size() + n > o.max_body) { r.too_large = true; return false; }
    r.out.body.append(data, n);
    return true;
  };
  httplib::Response res;
  if (!cli.send(hr, res, r.err) && r.err == httplib::Error::Success)
    r.err = httplib::Error::Unknown;
  r.fault = pc.watch->fault;
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (r.err != httplib::Error::Success) return r;
  r.out.status = res.status;
  for (const auto& [name, value] : res.headers) r.out.headers.emplace(name, value);
  return r;
}

/// Whether a failure on a reused connection means the server had closed it before answering.
bool stale_connection(const exchange_result& r, const http_options& o) {
  if (r.fault != response_fault::none) return false;
  if (r.err == httplib::Error::Write) return true;
  return r.err == httplib::Error::Read && r.out.body.empty() && r.elapsed < o.read_timeout;
}

/// An idle client for key, if one is kept; drops those idle for too long (into `expired`,
/// to be closed outside the lock).
std::optional<pooled_client> take_idle(std::map<std::string, std::vector<pooled_client>>& idle,
                                       const std::string& key, const http_options& o,
                                       std::vector<pooled_client>& expired) {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [k, list] : idle) {
    auto fresh = std::find_if(list.begin(), list.end(), [&](const pooled_client& c) {
      return now - c.idle_since < o.keep_alive_idle;
    });
    std::move(list.begin(), fresh, std::back_inserter(expired));
    list.erase(list.begin(), fresh);
  }
  auto it = idle.find(key);
  if (it == idle.end() || it->second.empty()) return std::nullopt;
  pooled_client c = std::move(it->second.back());
  it->second.pop_back();
  return c;
}

} // namespace

expected<http_response> httplib_transport::request(const http_request& req) {
  auto u = parse_url(req.url);
  if (!u) return u.error();
  if (req.method != "GET" && req.method != "HEAD" && req.method != "POST")
    return error(acme_errc::config, "unsupported HTTP method '" + req.method + "' for " + req.url);
  const std::string key = u->scheme + "://" + u->host + ":" + std::to_string(u->port);
  auto fresh_client = [&]() -> expected<pooled_client> {
    auto c = make_client(*u, req.url, opts_, proxy_);
    if (c) {
      std::lock_guard<std::mutex> lock(pool_->mu);
      ++pool_->created;
    }
    return c;
  };
  std::optional<pooled_client> pc;
  {
    std::vector<pooled_client> expired;
    std::lock_guard<std::mutex> lock(pool_->mu);
    pc = take_idle(pool_->idle, key, opts_, expired);
  }
  if (!pc) {
    auto c = fresh_client();
    if (!c) return c.error();
    pc = std::move(*c);
  }
  sigpipe_guard no_sigpipe;
  bool reused = pc->cli->is_socket_open() > 0;
  auto r = exchange(*pc, req, *u, opts_);
  if (r.err != httplib::Error::Success && reused && stale_connection(r, opts_)) {
    pc.reset(); // one more time on a new connection
    auto c = fresh_client();
    if (!c) return c.error();
    pc = std::move(*c);
    r = exchange(*pc, req, *u, opts_);
  }
  if (r.err != httplib::Error::Success) {
    if (pc->tunnel)
      if (auto why = pc->tunnel->take_failure()) return error(why->code, contact_failure(req.url) + why->message);
    failure_context c{req, *u, opts_, proxy_};
    c.verify_result = pc->ssl ? pc->ssl->get_openssl_verify_result() : X509_V_OK;
    c.elapsed = r.elapsed;
    c.too_large = r.too_large;
    c.fault = r.fault;
    return transport_failure(r.err, c); // the failed client (and its connection) goes
  }
  if (opts_.keep_alive_idle.count() > 0) {
    pc->idle_since = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(pool_->mu);
    auto& list = pool_->idle[key];
    if (list.size() < opts_.max_idle_per_host) list.push_back(std::move(*pc));
  }
  return std::move(r.out);
}

} // namespace mda::acme
