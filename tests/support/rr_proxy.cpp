#include "tests/support/rr_proxy.hpp"

#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mda::test {

namespace {

int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

rr_proxy::rr_proxy(std::vector<int> backends, int port)
    : backends_(std::move(backends)), counts_(backends_.size(), 0) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(listener_, 64) != 0)
    throw std::runtime_error("rr_proxy: cannot listen on port " + std::to_string(port));
  socklen_t len = sizeof(a);
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

rr_proxy::~rr_proxy() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  ::close(listener_);
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::vector<int> rr_proxy::counts() const {
  std::lock_guard<std::mutex> lk(mu_);
  return counts_;
}

void rr_proxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::lock_guard<std::mutex> lk(mu_);
    threads_.emplace_back([this, c] { relay(c); });
  }
}

void rr_proxy::relay(int client) {
  int backend = -1;
  for (std::size_t tries = 0; tries < backends_.size() && backend < 0; ++tries) {
    const auto i = next_++ % backends_.size();
    backend = connect_local(backends_[i]);
    if (backend >= 0) {
      std::lock_guard<std::mutex> lk(mu_);
      ++counts_[i];
    }
  }
  if (backend < 0) {
    ::close(client);
    return;
  }
  char buf[16384];
  pollfd fds[2] = {{client, POLLIN, 0}, {backend, POLLIN, 0}};
  while (!stopping_) {
    int n = ::poll(fds, 2, 200);
    if (n < 0) break;
    if (n == 0) continue;
    bool done = false;
    for (int k = 0; k < 2 && !done; ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::read(fds[k].fd, buf, sizeof(buf));
      if (r <= 0) {
        done = true;
        break;
      }
      int to = fds[1 - k].fd;
      ssize_t off = 0;
      while (off < r) {
        ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(r - off));
        if (w <= 0) {
          done = true;
          break;
        }
        off += w;
      }
    }
    if (done) break;
  }
  ::close(client);
  ::close(backend);
}

} // namespace mda::test
