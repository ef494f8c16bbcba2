#include "tests/support/scripted_socket.hpp"

#include <cstdio>
#include <stdexcept>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace mda::test {

namespace {

void serve(int listener, const std::string& answer) {
  int c = ::accept(listener, nullptr, nullptr);
  if (c < 0) return;
  char buf[256];
  for (std::string line; line.find('\n') == std::string::npos;) {
    auto n = ::recv(c, buf, sizeof buf, 0);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  for (std::size_t sent = 0; sent < answer.size();) {
    auto n = ::send(c, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::close(c);
}

} // namespace

scripted_socket::scripted_socket(const std::string& path, std::string answer) : path_(path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0 ||
      ::chmod(path.c_str(), 0666) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot listen on " + path);
  }
  thread_ = std::thread(serve, fd_, std::move(answer));
}

scripted_socket::~scripted_socket() {
  thread_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

} // namespace mda::test
