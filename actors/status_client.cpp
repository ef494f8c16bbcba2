// The status socket's client (see status_client.hpp).
#include "actors/status_client.hpp"

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <memory>

#include <sys/socket.h>
#include <unistd.h>

#include "actors/unix_socket_io.hpp"

namespace mda {

using namespace uds;

namespace {

constexpr std::size_t k_piece_size = 1 << 20;

/// A connected socket that closes itself.
struct connection {
  int fd = -1;
  ~connection() {
    if (fd >= 0) ::close(fd);
  }
};

/// Connects, sends the request line and reads the status word ("OK\n" or the start of
/// "ERR ..."): what it read, or the failure.
expected<std::string> open_answer(connection& c, const std::string& path, std::string_view request,
                                  std::chrono::milliseconds timeout) {
  sockaddr_un addr;
  if (!make_address(path, addr)) return too_long(path);
  c.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return sys_err("socket", path);
  set_timeouts(c.fd, timeout);
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return sys_err("connect", path);
  std::string req(request);
  req += '\n';
  if (!send_all(c.fd, req)) return sys_err("send", path);
  std::string word;
  if (!recv_into(c.fd, word, 3)) return receive_failed(path, timeout);
  return word;
}

/// The error of an answer that is not "OK": the rest is read for the message.
error not_ok(connection& c, std::string answer, const std::string& path, std::chrono::milliseconds timeout) {
  if (!recv_into(c.fd, answer, std::string::npos)) return receive_failed(path, timeout);
  if (answer.compare(0, 4, "ERR ") == 0)
    return error(std::make_error_code(std::errc::protocol_error), trim_line(std::string_view(answer).substr(4)));
  return error(std::make_error_code(std::errc::protocol_error), "malformed answer from '" + path + "'");
}

} // namespace

error receive_failed(const std::string& path, std::chrono::milliseconds timeout) {
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return error(std::make_error_code(std::errc::timed_out),
                 "no answer from '" + path + "' within " + std::to_string(timeout.count()) + " ms");
  return sys_err("recv", path);
}

expected<std::string> query_status_socket(const std::string& path, std::string_view request,
                                          std::chrono::milliseconds timeout) {
  connection c;
  auto word = open_answer(c, path, request, timeout);
  if (!word) return word.error();
  if (*word != "OK\n") return not_ok(c, std::move(*word), path, timeout);
  std::string body; // straight into the string returned
  if (!recv_into(c.fd, body, std::string::npos)) return receive_failed(path, timeout);
  return body;
}

void status_pieces::clear() {
  for (auto& p : pieces) std::free(p.data);
  pieces.clear();
}

std::size_t status_pieces::size() const {
  std::size_t n = 0;
  for (const auto& p : pieces) n += p.size;
  return n;
}

status query_status_socket_stream(const std::string& path, std::string_view request,
                                  std::chrono::milliseconds timeout, std::size_t piece_size,
                                  const std::function<bool(status_piece)>& sink) {
  connection c;
  auto word = open_answer(c, path, request, timeout);
  if (!word) return word.error();
  if (*word != "OK\n") return not_ok(c, std::move(*word), path, timeout);
  for (bool done = false; !done;) {
    status_piece p{static_cast<char*>(std::malloc(piece_size)), 0};
    if (!p.data)
      return error(std::make_error_code(std::errc::not_enough_memory), "no memory for the answer of '" + path + "'");
    while (p.size < piece_size) {
      auto n = ::recv(c.fd, p.data + p.size, piece_size - p.size, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        std::free(p.data);
        return receive_failed(path, timeout);
      }
      if (n == 0) {
        done = true;
        break;
      }
      p.size += static_cast<std::size_t>(n);
    }
    if (p.size == 0) {
      std::free(p.data);
    } else if (!sink(p)) {
      return error(std::make_error_code(std::errc::broken_pipe), "the answer of '" + path + "' was not taken");
    }
  }
  return {};
}

expected<std::unique_ptr<status_pieces>> query_status_socket_pieces(const std::string& path,
                                                                    std::string_view request,
                                                                    std::chrono::milliseconds timeout) {
  auto out = std::make_unique<status_pieces>();
  auto st = query_status_socket_stream(path, request, timeout, k_piece_size, [&](status_piece p) {
    out->pieces.push_back(p);
    return true;
  });
  if (!st) return st.error();
  return out;
}

} // namespace mda
