// Unix-domain socket helpers (see unix_socket_io.hpp).
#include "ipc/unix_socket_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/time.h>

#include "store/fs_io.hpp"

namespace mda::uds {

error sys_err(const std::string& call, const std::string& path) {
  return fsio::sys_error(call, path, errno);
}

bool make_address(const std::string& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

error too_long(const std::string& path) {
  return error(std::make_error_code(std::errc::filename_too_long),
               "socket path '" + path + "' is empty or longer than " +
                 std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
}

void set_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool recv_into(int fd, std::string& out, std::size_t until) {
  std::size_t len = out.size();
  for (;;) {
    if (len >= until)
      break;
    if (len == out.size())
      out.resize(std::min(until, std::max<std::size_t>(64 * 1024, 2 * len)));
    auto n = ::recv(fd, &out[len], out.size() - len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      out.resize(len);
      return false;
    }
    if (n == 0)
      break;
    len += static_cast<std::size_t>(n);
  }
  out.resize(len);
  return true;
}

std::string trim_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  return std::string(line);
}


} // namespace mda::uds
