// The status socket: listener thread and client (see status_socket.hpp).
#include "actors/status_socket.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <caf/actor_cast.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include "status/md_status.hpp"
#include "store/fs_io.hpp"

namespace mda {

namespace {

constexpr std::chrono::milliseconds k_server_io_timeout{1000};

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

/// A stale socket file (nobody accepts on it) is removed; anything else in the way stays.
status clear_stale(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return {};
  if (!S_ISSOCK(st.st_mode))
    return error(std::make_error_code(std::errc::file_exists),
                 "'" + path + "' exists and is not a socket");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return sys_err("socket", path);
  bool alive = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  if (alive)
    return error(std::make_error_code(std::errc::address_in_use),
                 "'" + path + "' is in use by another server");
  if (::unlink(path.c_str()) != 0)
    return sys_err("unlink", path);
  return {};
}

std::string trim_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  return std::string(line);
}

} // namespace

void rendered_status::set(std::string md_status_all, std::uint64_t version) {
  auto text = std::make_shared<const std::string>(std::move(md_status_all));
  std::lock_guard<std::mutex> lock(mu_);
  all_ = std::move(text);
  version_ = version;
}

std::shared_ptr<const std::string> rendered_status::md_status_all(std::uint64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_ == version ? all_ : nullptr;
}

std::string answer_status_request(std::string_view line,
                                  const std::function<caf::expected<status_snapshot>()>& fetch,
                                  const rendered_status* rendered,
                                  const std::function<std::optional<std::uint64_t>()>& version) {
  auto req = trim_line(line);
  enum class kind { all, one, snapshot } k;
  std::string name;
  static const std::string md_prefix = "GET md-status ";
  if (req == "GET md-status") {
    k = kind::all;
  } else if (req.compare(0, md_prefix.size(), md_prefix) == 0 && req.size() > md_prefix.size()) {
    k = kind::one;
    name = req.substr(md_prefix.size());
  } else if (req == "GET snapshot") {
    k = kind::snapshot;
  } else {
    if (req.size() > 100)
      req = req.substr(0, 100) + "...";
    return "ERR unknown request '" + req + "'\n";
  }
  if (k == kind::all && rendered && version)
    if (auto v = version())
      if (auto text = rendered->md_status_all(*v))
        return "OK\n" + *text;
  auto snap = fetch();
  if (!snap)
    return "ERR " + error_text(snap.error()) + "\n";
  switch (k) {
    case kind::all: return "OK\n" + render_json(md_status_all_json(*snap));
    case kind::one: return "OK\n" + md_status_text(*snap, "/" + name);
    case kind::snapshot: return "OK\n" + render_json(to_json(*snap));
  }
  return "ERR internal\n";
}

// -- server ---------------------------------------------------------------------------------

namespace detail {

/// The listening socket and the wake-up pipe; closed when the last owner lets go.
struct status_socket_fds {
  int listen = -1;
  int wake_read = -1;
  int wake_write = -1;
  ~status_socket_fds() {
    for (int fd : {listen, wake_read, wake_write})
      if (fd >= 0)
        ::close(fd);
  }
};

} // namespace detail

namespace {

/// Reads one request line and writes the answer.
void serve_connection(int c, const std::function<caf::expected<status_snapshot>()>& fetch,
                      const rendered_status* rendered,
                      const std::function<std::optional<std::uint64_t>()>& version) {
  set_timeouts(c, k_server_io_timeout);
  std::string line;
  char buf[256];
  while (line.find('\n') == std::string::npos && line.size() <= k_status_request_max) {
    auto n = ::recv(c, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  auto eol = line.find('\n');
  if (eol != std::string::npos)
    send_all(c, answer_status_request(std::string_view(line).substr(0, eol), fetch, rendered, version));
  else if (line.size() > k_status_request_max)
    send_all(c, "ERR request longer than " + std::to_string(k_status_request_max) + " bytes\n");
}

/// The listener thread: accepts until woken through the pipe.
void run_listener(std::shared_ptr<detail::status_socket_fds> fds, caf::actor_system* sys,
                  caf::actor_addr status_addr, caf::timespan ask_timeout,
                  std::shared_ptr<const rendered_status> rendered) {
  caf::scoped_actor self{*sys, true};
  auto fetch = [&]() -> caf::expected<status_snapshot> {
    auto hdl = caf::actor_cast<status_actor>(status_addr);
    if (!hdl)
      return make_error(engine_errc::unavailable, "the status actor is gone");
    caf::expected<status_snapshot> out = make_error(engine_errc::unavailable, "no answer");
    self->request(hdl, ask_timeout, get_atom::value, snapshot_atom_v)
      .receive([&](status_snapshot& s) { out = std::move(s); },
               [&](caf::error& e) {
                 out = make_error(engine_errc::unavailable,
                                  e == caf::sec::request_timeout
                                    ? "the status actor did not answer in time"
                                    : "the status actor is gone");
               });
    return out;
  };
  auto version = [&]() -> std::optional<std::uint64_t> {
    auto hdl = caf::actor_cast<status_actor>(status_addr);
    if (!hdl)
      return std::nullopt;
    std::optional<std::uint64_t> out;
    self->request(hdl, ask_timeout, get_atom::value, stats_atom_v)
      .receive([&](status_stats& st) { out = st.updates; }, [&](caf::error&) {});
    return out;
  };
  for (;;) {
    pollfd pfds[2] = {{fds->listen, POLLIN, 0}, {fds->wake_read, POLLIN, 0}};
    if (::poll(pfds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (pfds[1].revents != 0)
      return;
    int c = ::accept4(fds->listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0)
      continue;
    serve_connection(c, fetch, rendered.get(), version);
    ::close(c);
  }
}

} // namespace

status_socket_server::status_socket_server(std::string path,
                                           std::shared_ptr<detail::status_socket_fds> fds)
    : path_(std::move(path)), fds_(std::move(fds)) {}

expected<std::unique_ptr<status_socket_server>> status_socket_server::bind(const std::string& path,
                                                                           mode_t mode) {
  sockaddr_un addr;
  if (!make_address(path, addr))
    return too_long(path);
  if (auto st = clear_stale(path, addr); !st)
    return st.error();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return sys_err("socket", path);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    auto err = sys_err("bind", path);
    ::close(fd);
    return err;
  }
  if (::chmod(path.c_str(), mode) != 0 || ::listen(fd, 64) != 0) {
    auto err = sys_err("listen", path);
    ::close(fd);
    ::unlink(path.c_str());
    return err;
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    auto err = sys_err("pipe2", path);
    ::close(fd);
    ::unlink(path.c_str());
    return err;
  }
  auto fds = std::make_shared<detail::status_socket_fds>();
  fds->listen = fd;
  fds->wake_read = p[0];
  fds->wake_write = p[1];
  return std::unique_ptr<status_socket_server>(new status_socket_server(path, std::move(fds)));
}

void status_socket_server::start(caf::actor_system& sys, const status_actor& status,
                                 caf::timespan ask_timeout,
                                 std::shared_ptr<const rendered_status> rendered) {
  auto addr = caf::actor_cast<caf::actor_addr>(status);
  thread_ = std::thread(run_listener, fds_, &sys, addr, ask_timeout, std::move(rendered));
}

void status_socket_server::stop() {
  if (stopped_.exchange(true))
    return;
  if (thread_.joinable()) {
    char b = 1;
    while (::write(fds_->wake_write, &b, 1) < 0 && errno == EINTR) {
    }
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  }
  ::unlink(path_.c_str());
  fds_.reset();
}

status_socket_server::~status_socket_server() { stop(); }

// -- client ---------------------------------------------------------------------------------

expected<std::string> query_status_socket(const std::string& path, std::string_view request,
                                          std::chrono::milliseconds timeout) {
  sockaddr_un addr;
  if (!make_address(path, addr))
    return too_long(path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return sys_err("socket", path);
  set_timeouts(fd, timeout);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    auto err = sys_err("connect", path);
    ::close(fd);
    return err;
  }
  std::string req(request);
  req += '\n';
  if (!send_all(fd, req)) {
    auto err = sys_err("send", path);
    ::close(fd);
    return err;
  }
  std::string answer;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = errno == EAGAIN || errno == EWOULDBLOCK
                   ? error(std::make_error_code(std::errc::timed_out),
                           "no answer from '" + path + "' within " +
                             std::to_string(timeout.count()) + " ms")
                   : sys_err("recv", path);
      ::close(fd);
      return err;
    }
    if (n == 0)
      break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (answer.compare(0, 3, "OK\n") == 0)
    return answer.substr(3);
  if (answer.compare(0, 4, "ERR ") == 0)
    return error(std::make_error_code(std::errc::protocol_error),
                 trim_line(std::string_view(answer).substr(4)));
  return error(std::make_error_code(std::errc::protocol_error),
               "malformed answer from '" + path + "'");
}

} // namespace mda
