// The status socket's client (see status_client.hpp).
#include "ipc/status_client.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

#include <sys/socket.h>
#include <unistd.h>

#include "ipc/unix_socket_io.hpp"

namespace mda {

using namespace uds;

namespace {

/// A connected socket that closes itself.
struct connection {
  int fd = -1;
  ~connection() {
    if (fd >= 0) ::close(fd);
  }
};

/// The status line ("OK <length>" or "ERR <message>"; at most this long) and whatever
/// arrived after it: the first bytes of the body.
constexpr std::size_t k_line_max = 4096;
/// The longest body believed (md-status of 10,000 MDs is ~20 MB): a larger length is taken
/// for a damaged answer, not reserved.
constexpr std::size_t k_body_max = std::size_t{1} << 30;
struct answer_start {
  std::string line; // without the "\n"
  std::string rest;
};

error protocol_error(std::string text) {
  return error(std::make_error_code(std::errc::protocol_error), std::move(text));
}

/// Connects, sends the request line and reads the answer's status line.
expected<answer_start> open_answer(connection& c, const std::string& path, std::string_view request,
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
  std::string got;
  for (;;) {
    auto eol = got.find('\n');
    if (eol != std::string::npos) return answer_start{got.substr(0, eol), got.substr(eol + 1)};
    if (got.size() >= k_line_max) break;
    char buf[512];
    auto n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return receive_failed(path, timeout);
    if (n == 0) break; // closed before the line ended
    got.append(buf, static_cast<std::size_t>(n));
  }
  if (got.compare(0, 4, "ERR ") == 0) return protocol_error(trim_line(std::string_view(got).substr(4)));
  return protocol_error("malformed answer from '" + path + "'");
}

/// The body's length from an "OK <length>" line; an "ERR <message>" line as its error.
expected<std::size_t> body_length(const answer_start& a, const std::string& path) {
  std::string_view line = a.line;
  if (line.compare(0, 4, "ERR ") == 0) return protocol_error(trim_line(line.substr(4)));
  std::size_t length = 0;
  const char* first = line.data() + 3;
  const char* last = line.data() + line.size();
  if (line.compare(0, 3, "OK ") != 0 || first == last) return protocol_error("malformed answer from '" + path + "'");
  auto [end, ec] = std::from_chars(first, last, length);
  if (ec != std::errc() || end != last || length > k_body_max)
    return protocol_error("malformed answer from '" + path + "'");
  return length;
}

/// The error of a body that ended before its announced length.
error broke_off(const std::string& path, std::size_t got, std::size_t length) {
  return error(std::make_error_code(std::errc::connection_aborted),
               "the answer of '" + path + "' broke off after " + std::to_string(got) + " of " +
                 std::to_string(length) + " bytes");
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
  auto start = open_answer(c, path, request, timeout);
  if (!start) return start.error();
  auto length = body_length(*start, path);
  if (!length) return length.error();
  std::string body = std::move(start->rest); // straight into the string returned
  if (body.size() < *length) {
    body.reserve(*length);
    if (!recv_into(c.fd, body, *length)) return receive_failed(path, timeout);
  }
  if (body.size() < *length) return broke_off(path, body.size(), *length);
  body.resize(*length);
  return body;
}

status query_status_socket_stream(const std::string& path, std::string_view request,
                                  std::chrono::milliseconds timeout, std::size_t piece_size,
                                  const std::function<bool(status_piece)>& sink) {
  connection c;
  auto start = open_answer(c, path, request, timeout);
  if (!start) return start.error();
  auto length = body_length(*start, path);
  if (!length) return length.error();
  std::string_view early = std::string_view(start->rest).substr(0, *length);
  for (std::size_t delivered = 0; delivered < *length;) {
    const std::size_t want = std::min(piece_size, *length - delivered);
    status_piece p{static_cast<char*>(std::malloc(want)), 0, *length};
    if (!p.data)
      return error(std::make_error_code(std::errc::not_enough_memory), "no memory for the answer of '" + path + "'");
    p.size = std::min(want, early.size());
    std::memcpy(p.data, early.data(), p.size);
    early.remove_prefix(p.size);
    while (p.size < want) {
      auto n = ::recv(c.fd, p.data + p.size, want - p.size, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        std::free(p.data);
        return n < 0 ? receive_failed(path, timeout) : broke_off(path, delivered + p.size, *length);
      }
      p.size += static_cast<std::size_t>(n);
    }
    delivered += p.size;
    if (!sink(p))
      return error(std::make_error_code(std::errc::broken_pipe), "the answer of '" + path + "' was not taken");
  }
  return {};
}

} // namespace mda
