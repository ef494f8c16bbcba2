#include "acme/tls_alpn01_responder.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <vector>

#include <arpa/inet.h>
#include <csignal>
#include <pthread.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/certgen.hpp"
#include "core/pkey.hpp"
#include "core/x509.hpp"
#include "http/errors.hpp"

namespace mda::acme {

namespace {

/// The ALPN protocol of RFC 8737 §6.2, in wire form (length-prefixed).
constexpr unsigned char k_acme_tls_1[] = {10, 'a', 'c', 'm', 'e', '-', 't', 'l', 's', '/', '1'};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

/// Whether an ALPN extension body (RFC 7301 §3.1) lists acme-tls/1.
bool offers_acme_tls(const unsigned char* p, size_t len) {
  if (len < 2 || static_cast<size_t>((p[0] << 8) | p[1]) != len - 2) return false;
  for (size_t i = 2; i < len;) {
    size_t l = p[i];
    if (i + 1 + l > len) return false;
    if (l + 1 == sizeof k_acme_tls_1 && std::memcmp(p + i, k_acme_tls_1, l + 1) == 0) return true;
    i += 1 + l;
  }
  return false;
}

int client_hello_cb(SSL* s, int* al, void*) {
  const unsigned char* ext = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                &len) != 1 ||
      !offers_acme_tls(ext, len)) {
    *al = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

int alpn_cb(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
            unsigned int inlen, void*) {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, k_acme_tls_1, sizeof k_acme_tls_1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

/// Per connection: the socket, closed by its thread, shut down by the destructor.
struct conn_state {
  std::mutex mu;
  int fd = -1;
  std::atomic<bool> done{false};
};

struct conn {
  std::thread thread;
  std::shared_ptr<conn_state> state;
};

} // namespace

struct tls_alpn01_responder::impl {
  struct entry {
    certificate cert;
    private_key key;
  };

  SSL_CTX* ctx = nullptr;
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const entry>> certs; ///< by SNI name
  std::list<conn> conns; ///< only touched by the accept thread (and after it, the destructor)

  ~impl() { SSL_CTX_free(ctx); }

  std::shared_ptr<const entry> find(const std::string& sni) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = certs.find(sni);
    return it == certs.end() ? nullptr : it->second;
  }

  static int servername_cb(SSL* s, int* al, void* arg) {
    auto* self = static_cast<impl*>(arg);
    const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
    std::string sni = name ? lower(name) : "";
    if (!sni.empty() && sni.back() == '.') sni.pop_back();
    auto e = sni.empty() ? nullptr : self->find(sni);
    if (!e) {
      *al = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (SSL_use_certificate(s, e->cert.get()) != 1 || SSL_use_PrivateKey(s, e->key.get()) != 1) {
      *al = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
  }

  /// One handshake, then close_notify and close (RFC 8737 §3).
  void serve(const std::shared_ptr<conn_state>& st) {
    // A peer that went away must not kill the process with SIGPIPE: block it in this thread,
    // so writes fail with EPIPE instead (the pending signal goes with the thread).
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    SSL* ssl = SSL_new(ctx);
    if (ssl && SSL_set_fd(ssl, st->fd) == 1 && SSL_accept(ssl) == 1) SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
    std::lock_guard<std::mutex> lock(st->mu);
    ::close(st->fd);
    st->fd = -1;
    st->done = true;
  }
};

// --- names ---------------------------------------------------------------------------------

std::optional<std::string> reverse_dns_name(const std::string& ip) {
  std::string s = ip;
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  unsigned char b[16];
  if (::inet_pton(AF_INET, s.c_str(), b) == 1) {
    std::string r;
    for (int i = 3; i >= 0; --i) r += std::to_string(b[i]) + ".";
    return r + "in-addr.arpa";
  }
  if (::inet_pton(AF_INET6, s.c_str(), b) == 1) {
    static const char hex[] = "0123456789abcdef";
    std::string r;
    for (int i = 15; i >= 0; --i) {
      r += hex[b[i] & 0xf];
      r += '.';
      r += hex[b[i] >> 4];
      r += '.';
    }
    return r + "ip6.arpa";
  }
  return std::nullopt;
}

std::optional<std::string> ip_from_reverse_dns_name(const std::string& name) {
  std::string n = lower(name);
  if (!n.empty() && n.back() == '.') n.pop_back();
  std::vector<std::string> labels;
  for (size_t pos = 0; pos <= n.size();) {
    size_t end = std::min(n.find('.', pos), n.size());
    labels.push_back(n.substr(pos, end - pos));
    pos = end + 1;
  }
  auto ends_with = [&](const char* a, const char* b, size_t count) {
    return labels.size() == count + 2 && labels[count] == a && labels[count + 1] == b;
  };
  char text[INET6_ADDRSTRLEN];
  if (ends_with("in-addr", "arpa", 4)) {
    std::string dotted = labels[3] + "." + labels[2] + "." + labels[1] + "." + labels[0];
    unsigned char b[4];
    if (::inet_pton(AF_INET, dotted.c_str(), b) != 1) return std::nullopt;
    return std::string(::inet_ntop(AF_INET, b, text, sizeof text));
  }
  if (ends_with("ip6", "arpa", 32)) {
    unsigned char b[16] = {};
    for (int i = 0; i < 32; ++i) {
      const std::string& l = labels[static_cast<size_t>(i)];
      if (l.size() != 1 || !std::isxdigit(static_cast<unsigned char>(l[0]))) return std::nullopt;
      int v = std::isdigit(static_cast<unsigned char>(l[0])) ? l[0] - '0' : l[0] - 'a' + 10;
      b[15 - i / 2] |= static_cast<unsigned char>(i % 2 == 0 ? v : v << 4);
    }
    return std::string(::inet_ntop(AF_INET6, b, text, sizeof text));
  }
  return std::nullopt;
}

std::string acme_tls_sni_name(const std::string& identifier, bool is_ip) {
  if (is_ip) {
    if (auto r = reverse_dns_name(identifier)) return *r;
  }
  std::string n = lower(identifier);
  if (!n.empty() && n.back() == '.') n.pop_back();
  return n;
}

// --- the server ----------------------------------------------------------------------------

tls_alpn01_responder::tls_alpn01_responder(tls_alpn01_responder_options opts)
    : opts_(std::move(opts)), impl_(std::make_unique<impl>()) {
  if (!opts_.clock) opts_.clock = std::make_shared<system_time_source>();
}

namespace {

/// A listening TCP socket on a numeric address; the bound port through `port`.
expected<int> listen_on(const std::string& address, int want, int& port) {
  const std::string where =
      "tls-alpn-01 responder: cannot listen on " + address + ":" + std::to_string(want);
  addrinfo hints{};
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(address.c_str(), std::to_string(want).c_str(), &hints, &res); rc != 0)
    return error(acme_errc::config, where + ": " + ::gai_strerror(rc));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  bool ok = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            ::bind(fd, res->ai_addr, res->ai_addrlen) == 0 && ::listen(fd, 64) == 0;
  int err = errno;
  ::freeaddrinfo(res);
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (ok && ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
    return fd;
  }
  if (fd >= 0) ::close(fd);
  return error(acme_errc::config, where + ": " + std::strerror(err));
}

} // namespace

expected<std::unique_ptr<tls_alpn01_responder>> tls_alpn01_responder::start(
    tls_alpn01_responder_options opts) {
  std::unique_ptr<tls_alpn01_responder> r(new tls_alpn01_responder(std::move(opts)));
  auto& ctx = r->impl_->ctx;
  ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return openssl_error("SSL_CTX_new()");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, nullptr);
  SSL_CTX_set_tlsext_servername_callback(ctx, &impl::servername_cb);
  SSL_CTX_set_tlsext_servername_arg(ctx, r->impl_.get());
  SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, nullptr);
  auto fd = listen_on(r->opts_.address, r->opts_.port, r->port_);
  if (!fd) return fd.error();
  r->listen_fd_ = *fd;
  if (::pipe2(r->wake_, O_CLOEXEC) != 0)
    return error(acme_errc::config,
                 std::string("tls-alpn-01 responder: pipe2() failed: ") + std::strerror(errno));
  tls_alpn01_responder* self = r.get();
  r->thread_ = std::thread([self] { self->accept_loop(); });
  return r;
}

tls_alpn01_responder::~tls_alpn01_responder() {
  if (thread_.joinable()) {
    char x = 'x';
    while (::write(wake_[1], &x, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  reap_finished(true);
  for (int fd : {listen_fd_, wake_[0], wake_[1]})
    if (fd >= 0) ::close(fd);
}

void tls_alpn01_responder::reap_finished(bool all) {
  auto& conns = impl_->conns;
  for (auto it = conns.begin(); it != conns.end();) {
    if (all) {
      std::lock_guard<std::mutex> lock(it->state->mu);
      if (it->state->fd >= 0) ::shutdown(it->state->fd, SHUT_RDWR);
    }
    if (all || it->state->done) {
      it->thread.join();
      it = conns.erase(it);
    } else {
      ++it;
    }
  }
}

void tls_alpn01_responder::accept_loop() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int n = ::poll(p, 2, 1000);
    if (n < 0 && errno != EINTR) break;
    if (p[1].revents != 0) break;
    reap_finished(false);
    if (n <= 0 || !(p[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (impl_->conns.size() >= opts_.max_connections) {
      ::close(fd);
      continue;
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(opts_.io_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((opts_.io_timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto st = std::make_shared<conn_state>();
    st->fd = fd;
    impl* state = impl_.get();
    impl_->conns.push_back(conn{std::thread([state, st] { state->serve(st); }), st});
  }
}

status tls_alpn01_responder::setup(const challenge_data& c) {
  const std::string what = "tls-alpn-01 setup for '" + c.identifier + "'";
  if (c.type != challenge_type::tls_alpn_01)
    return error(acme_errc::config, std::string("tls-alpn-01 responder cannot answer ") +
                                        to_string(c.type) + " for '" + c.identifier + "'");
  if (c.identifier.empty() || c.key_authorization.empty())
    return error(acme_errc::config, what + ": identifier or key authorization missing");
  auto key = private_key::generate(opts_.spec);
  if (!key) return key.error().prefixed(what);
  auto cert =
      make_tls_alpn_01_certificate(*key, c.identifier, c.key_authorization, opts_.clock->now());
  if (!cert) return cert.error().prefixed(what);
  auto e = std::make_shared<const impl::entry>(impl::entry{*cert, *key});
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->certs[acme_tls_sni_name(c.identifier, c.is_ip)] = std::move(e);
  return {};
}

status tls_alpn01_responder::teardown(const challenge_data& c) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->certs.erase(acme_tls_sni_name(c.identifier, c.is_ip));
  return {};
}

} // namespace mda::acme
