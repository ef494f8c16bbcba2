// The status socket: listener thread and client (see status_socket.hpp).
#include "actors/status_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <caf/actor_cast.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include "status/md_status.hpp"
#include "actors/unix_socket_io.hpp"
#include "store/fs_io.hpp"

namespace mda {

using namespace uds;

namespace {

constexpr std::chrono::milliseconds k_server_io_timeout{1000};
constexpr int k_server_send_buffer = 4 << 20;

/// Writes `pieces` one after another with as few sendmsg calls as the kernel allows (up to
/// k_iov_batch texts per call), straight from where they are.
bool send_pieces(int fd, std::vector<std::string_view> pieces) {
  constexpr std::size_t k_iov_batch = 512;
  std::size_t first = 0; // the first piece not (fully) sent
  for (;;) {
    while (first < pieces.size() && pieces[first].empty())
      ++first;
    if (first == pieces.size())
      return true;
    iovec iov[k_iov_batch];
    std::size_t count = 0;
    for (std::size_t j = first; j < pieces.size() && count < k_iov_batch; ++j)
      if (!pieces[j].empty())
        iov[count++] = {const_cast<char*>(pieces[j].data()), pieces[j].size()};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    auto n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    auto sent = static_cast<std::size_t>(n);
    while (first < pieces.size() && sent >= pieces[first].size())
      sent -= pieces[first++].size();
    if (sent > 0)
      pieces[first].remove_prefix(sent);
  }
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

} // namespace

void md_status_cache::set(const std::string& name, std::string fragment) {
  auto text = std::make_shared<const std::string>(std::move(fragment));
  std::lock_guard<std::mutex> lock(mu_);
  by_name_[name].swap(text); // the old text goes after the lock, with `text`
}

void md_status_cache::erase(const std::string& name) {
  std::shared_ptr<const std::string> old;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end())
    return;
  old.swap(it->second);
  by_name_.erase(it);
}

void md_status_cache::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

std::optional<std::vector<std::shared_ptr<const std::string>>> md_status_cache::fragments() const {
  std::vector<std::shared_ptr<const std::string>> out;
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_)
    return std::nullopt;
  out.reserve(by_name_.size());
  for (const auto& [name, text] : by_name_)
    out.push_back(text);
  return out;
}

std::size_t md_status_cache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_name_.size();
}

std::vector<std::string_view> status_answer::pieces() const {
  std::vector<std::string_view> out;
  out.reserve(2 * fragments.size() + 3);
  out.push_back(line);
  out.push_back(head);
  for (std::size_t i = 0; i < fragments.size(); ++i) {
    if (i > 0)
      out.push_back(separator);
    out.push_back(*fragments[i]);
  }
  out.push_back(tail);
  return out;
}

std::string status_answer::str() const {
  std::string out;
  for (auto p : pieces())
    out += p;
  return out;
}

status_answer ok_answer(std::string head, std::vector<std::shared_ptr<const std::string>> fragments,
                        std::string_view separator, std::string_view tail) {
  status_answer a{{}, std::move(head), std::move(fragments), separator, tail};
  std::size_t length = a.head.size() + a.tail.size();
  for (std::size_t i = 0; i < a.fragments.size(); ++i)
    length += a.fragments[i]->size() + (i > 0 ? a.separator.size() : 0);
  a.line = "OK " + std::to_string(length) + "\n";
  return a;
}

status_answer error_answer(std::string message) {
  for (auto& ch : message)
    if (ch == '\n' || ch == '\r')
      ch = ' ';
  return status_answer{"ERR " + message + "\n", {}, {}, {}, {}};
}

namespace {

/// "GET md-status" from the fragments: the frame of md_status_all_frame around them.
status_answer md_status_from_cache(const md_status_cache& cache) {
  auto fragments = cache.fragments();
  if (!fragments)
    return error_answer("the status actor is gone");
  auto frame = md_status_all_frame(k_mod_md_version, !fragments->empty());
  return ok_answer(frame.head, std::move(*fragments), frame.separator, frame.tail);
}

/// "GET md-status <name>" through `fetch_one`: the MD with its logs; nullopt (answer with all
/// MDs) when nothing matches the last path segment, as md_status_text.
std::optional<status_answer> one_md(const std::string& name, const md_snapshot_fetch& fetch_one) {
  const std::string segment = name.substr(name.rfind('/') + 1); // npos + 1: all of it
  if (segment.empty())
    return std::nullopt;
  auto snap = fetch_one(segment);
  if (!snap)
    return error_answer(error_text(snap.error()));
  if (snap->mds.empty())
    return std::nullopt;
  return ok_answer(render_json(md_status_json(*snap, snap->mds.front(), true)));
}

} // namespace

status_answer answer_status_request(std::string_view line, const snapshot_fetch& fetch,
                                    const md_status_cache* cache,
                                    const md_snapshot_fetch& fetch_one) {
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
    return error_answer("unknown request '" + req + "'");
  }
  if (k == kind::one && fetch_one) {
    if (auto answer = one_md(name, fetch_one))
      return std::move(*answer);
    k = kind::all; // no such MD: all of them
  }
  if (k == kind::all && cache)
    return md_status_from_cache(*cache);
  auto snap = fetch();
  if (!snap)
    return error_answer(error_text(snap.error()));
  switch (k) {
    case kind::all: return ok_answer(render_json(md_status_all_json(*snap)));
    case kind::one: return ok_answer(md_status_text(*snap, "/" + name));
    case kind::snapshot: return ok_answer(render_json(to_json(*snap)));
  }
  return error_answer("internal");
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
void serve_connection(int c, const snapshot_fetch& fetch, const md_status_cache* cache,
                      const md_snapshot_fetch& fetch_one) {
  set_timeouts(c, k_server_io_timeout);
  // md-status of thousands of MDs is megabytes: a large send buffer lets the reader take it
  // in few wake-ups (the kernel caps it at net.core.wmem_max).
  int sndbuf = k_server_send_buffer;
  setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
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
    send_pieces(c, answer_status_request(std::string_view(line).substr(0, eol), fetch, cache, fetch_one).pieces());
  else if (line.size() > k_status_request_max)
    send_all(c, "ERR request longer than " + std::to_string(k_status_request_max) + " bytes\n");
}

/// The listener thread: accepts until woken through the pipe.
void run_listener(std::shared_ptr<detail::status_socket_fds> fds, caf::actor_system* sys,
                  caf::actor_addr status_addr, caf::timespan ask_timeout,
                  std::shared_ptr<const md_status_cache> cache) {
  caf::scoped_actor self{*sys, true};
  auto ask = [&](auto... request) -> caf::expected<status_snapshot> {
    auto hdl = caf::actor_cast<status_actor>(status_addr);
    if (!hdl)
      return make_error(engine_errc::unavailable, "the status actor is gone");
    caf::expected<status_snapshot> out = make_error(engine_errc::unavailable, "no answer");
    self->request(hdl, ask_timeout, request...)
      .receive([&](status_snapshot& s) { out = std::move(s); },
               [&](caf::error& e) {
                 out = make_error(engine_errc::unavailable,
                                  e == caf::sec::request_timeout
                                    ? "the status actor did not answer in time"
                                    : "the status actor is gone");
               });
    return out;
  };
  snapshot_fetch fetch = [&] { return ask(get_atom::value, snapshot_atom_v); };
  md_snapshot_fetch fetch_one = [&](const std::string& name) {
    return ask(get_atom::value, snapshot_atom_v, name);
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
    serve_connection(c, fetch, cache.get(), fetch_one);
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
                                 std::shared_ptr<const md_status_cache> cache) {
  auto addr = caf::actor_cast<caf::actor_addr>(status);
  thread_ = std::thread(run_listener, fds_, &sys, addr, ask_timeout, std::move(cache));
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

} // namespace mda
