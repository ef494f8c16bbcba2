// A CONNECT tunnel through an http:// proxy (see connect_tunnel.hpp).
#include "http/connect_tunnel.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base64.hpp"
#include "http/errors.hpp"

namespace mda::acme {

namespace {

constexpr std::size_t k_max_head = 16 * 1024;
constexpr std::size_t k_buffer = 64 * 1024;

using steady = std::chrono::steady_clock;

int remaining_ms(steady::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string where(const tunnel_target& t) { return t.proxy_host + ":" + std::to_string(t.proxy_port); }

/// A blocking-mode TCP connection to the proxy, made within the deadline; -1 and `why`.
int connect_proxy(const tunnel_target& t, steady::time_point deadline, std::string& why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(t.proxy_port);
  if (int rc = ::getaddrinfo(t.proxy_host.c_str(), port.c_str(), &hints, &list); rc != 0) {
    why = "cannot resolve '" + t.proxy_host + "': " + gai_strerror(rc);
    return -1;
  }
  int last = ECONNREFUSED;
  int fd = -1;
  for (addrinfo* ai = list; ai && fd < 0; ai = ai->ai_next) {
    int s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (s < 0) { last = errno; continue; }
    int err = ::connect(s, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{s, POLLOUT, 0};
      int n = ::poll(&p, 1, remaining_ms(deadline));
      socklen_t len = sizeof err;
      if (n == 0) err = ETIMEDOUT;
      else if (n < 0 || ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    if (err != 0) {
      last = err;
      ::close(s);
      continue;
    }
    fd = s;
  }
  freeaddrinfo(list);
  if (fd < 0) {
    why = last == ECONNREFUSED ? "connection refused"
          : last == ETIMEDOUT  ? "connect timed out"
                               : std::string(std::strerror(last));
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, const char* data, std::size_t n, steady::time_point deadline) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w > 0) {
      data += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
  }
  return true;
}

/// One relayed connection: the local side and the proxy side, each with what waits to be
/// written to it.
struct relay {
  int local = -1;
  int remote = -1;
  std::string to_local, to_remote;
  bool local_eof = false, remote_eof = false;
  ~relay() {
    if (local >= 0) ::close(local);
    if (remote >= 0) ::close(remote);
  }
};

} // namespace

std::string connect_request(const tunnel_target& t) {
  const std::string authority =
    (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
  std::string head = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!t.user.empty())
    head += "Proxy-Authorization: Basic " + base64_encode(t.user + ":" + t.password) + "\r\n";
  return head + "\r\n";
}

int connect_answer_status(const std::string& head) {
  // "HTTP/1.0 200 Connection Established" or "HTTP/1.1 200 ..."
  if (head.size() < 12 || head.compare(0, 7, "HTTP/1.") != 0 || head[8] != ' ') return 0;
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return 0;
    code = code * 10 + (head[i] - '0');
  }
  return code;
}

struct connect_tunnel::state {
  tunnel_target target;
  int listen_fd = -1;
  int wake_read = -1, wake_write = -1;
  int port = 0;
  std::thread thread;
  std::mutex mu;
  std::optional<error> failure;

  ~state() {
    for (int fd : {listen_fd, wake_read, wake_write})
      if (fd >= 0) ::close(fd);
  }

  void fail(std::string why) {
    std::lock_guard<std::mutex> lock(mu);
    failure = error(acme_errc::connection, "proxy " + where(target) + ": " + std::move(why));
  }

  /// Opens the way through the proxy for one accepted connection; the proxy side, or -1.
  int through_proxy(std::string& early) {
    const auto deadline = steady::now() + target.connect_timeout;
    std::string why;
    int fd = connect_proxy(target, deadline, why);
    if (fd < 0) {
      fail(why);
      return -1;
    }
    const std::string req = connect_request(target);
    if (!write_all(fd, req.data(), req.size(), deadline)) {
      fail("sending CONNECT failed");
      ::close(fd);
      return -1;
    }
    std::string head;
    char buf[4096];
    std::size_t end = std::string::npos;
    while ((end = head.find("\r\n\r\n")) == std::string::npos) {
      if (head.size() > k_max_head) {
        fail("the answer to CONNECT has a head over 16 KB");
        ::close(fd);
        return -1;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
        fail("no answer to CONNECT within " + std::to_string(target.connect_timeout.count()) + " ms");
        ::close(fd);
        return -1;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
        fail("closed the connection instead of answering CONNECT");
        ::close(fd);
        return -1;
      }
      if (n > 0) head.append(buf, static_cast<std::size_t>(n));
    }
    const int status = connect_answer_status(head);
    if (status < 200 || status > 299) {
      fail(status == 0 ? "answered CONNECT with something that is not HTTP"
                       : "answered CONNECT to " + target.host + ":" + std::to_string(target.port) +
                           " with " + std::to_string(status));
      ::close(fd);
      return -1;
    }
    early = head.substr(end + 4); // the server's first bytes may follow the head at once
    return fd;
  }

  void run() {
    std::vector<std::unique_ptr<relay>> relays;
    std::vector<char> buf(k_buffer);
    for (;;) {
      std::vector<pollfd> fds{{wake_read, POLLIN, 0}, {listen_fd, POLLIN, 0}};
      for (const auto& r : relays) {
        auto events = [](bool eof, const std::string& pending) {
          return static_cast<short>((eof ? 0 : POLLIN) | (pending.empty() ? 0 : POLLOUT));
        };
        fds.push_back({r->local, events(r->local_eof, r->to_local), 0});
        fds.push_back({r->remote, events(r->remote_eof, r->to_remote), 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents) return; // the destructor: close everything
      if (fds[1].revents & POLLIN) {
        int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          auto r = std::make_unique<relay>();
          r->local = c;
          r->remote = through_proxy(r->to_local);
          if (r->remote >= 0) {
            ::fcntl(r->local, F_SETFL, ::fcntl(r->local, F_GETFL) | O_NONBLOCK);
            relays.push_back(std::move(r));
          }
        }
      }
      for (std::size_t i = 0; i < relays.size(); ++i) {
        relay& r = *relays[i];
        const pollfd& pl = fds[2 + 2 * i];
        const pollfd& pr = fds[3 + 2 * i];
        bool broken = false;
        auto pump = [&](int from, bool& eof, std::string& out, short revents) {
          if (!(revents & (POLLIN | POLLHUP | POLLERR)) || eof) return;
          ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
          if (n > 0) out.append(buf.data(), static_cast<std::size_t>(n));
          else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) eof = true;
        };
        pump(r.local, r.local_eof, r.to_remote, pl.revents);
        pump(r.remote, r.remote_eof, r.to_local, pr.revents);
        auto flush = [&](int to, std::string& pending) {
          if (pending.empty()) return;
          ssize_t n = ::send(to, pending.data(), pending.size(), MSG_NOSIGNAL);
          if (n > 0) pending.erase(0, static_cast<std::size_t>(n));
          else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) broken = true;
        };
        flush(r.local, r.to_local);
        flush(r.remote, r.to_remote);
        // one side gone and everything it sent delivered: the connection is over
        if (broken || (r.local_eof && r.to_remote.empty()) || (r.remote_eof && r.to_local.empty()))
          relays[i].reset();
      }
      relays.erase(std::remove(relays.begin(), relays.end(), nullptr), relays.end());
    }
  }
};

expected<std::unique_ptr<connect_tunnel>> connect_tunnel::open(tunnel_target target) {
  auto s = std::make_shared<state>();
  s->target = std::move(target);
  s->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int p[2];
  if (s->listen_fd < 0 || ::bind(s->listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(s->listen_fd, 8) != 0 ||
      ::getsockname(s->listen_fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      ::pipe2(p, O_CLOEXEC) != 0)
    return error(acme_errc::config, std::string("proxy tunnel: cannot listen on 127.0.0.1: ") + std::strerror(errno));
  s->wake_read = p[0];
  s->wake_write = p[1];
  s->port = ntohs(a.sin_port);
  s->thread = std::thread([raw = s.get()] { raw->run(); });
  return std::unique_ptr<connect_tunnel>(new connect_tunnel(std::move(s)));
}

connect_tunnel::connect_tunnel(std::shared_ptr<state> s) : s_(std::move(s)) {}

connect_tunnel::~connect_tunnel() {
  const char x = 'x';
  (void)!::write(s_->wake_write, &x, 1);
  if (s_->thread.joinable()) s_->thread.join();
}

int connect_tunnel::local_port() const { return s_->port; }

std::optional<error> connect_tunnel::take_failure() {
  std::lock_guard<std::mutex> lock(s_->mu);
  std::optional<error> f;
  f.swap(s_->failure);
  return f;
}

} // namespace mda::acme
