// The status socket: listener thread and client (see status_socket.hpp).
#include "ipc/status_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/timefmt.hpp"
#include "ipc/unix_socket_io.hpp"
#include "status/md_status.hpp"
#include "store/fs_io.hpp"

namespace mda {

using namespace uds;

namespace {

constexpr int k_server_send_buffer = 4 << 20;

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

void md_status_cache::set_snapshot(const std::string& name, md_snapshot_texts texts) {
  std::lock_guard<std::mutex> lock(mu_);
  std::swap(snapshots_[name], texts); // the old texts go after the lock, with `texts`
}

void md_status_cache::set_cert_check(std::string name, std::string url) {
  std::lock_guard<std::mutex> lock(mu_);
  cert_check_name_ = std::move(name);
  cert_check_url_ = std::move(url);
}

void md_status_cache::set_metrics(const std::string& name, metrics_fragment fragment) {
  auto frag = std::make_shared<const metrics_fragment>(std::move(fragment));
  std::lock_guard<std::mutex> lock(mu_);
  metrics_[name].swap(frag); // the old one goes after the lock, with `frag`
}

void md_status_cache::set_engine(engine_figures e) {
  std::lock_guard<std::mutex> lock(mu_);
  engine_ = e;
}

std::optional<std::string> md_status_cache::metrics(metrics_format f) const {
  std::vector<std::shared_ptr<const metrics_fragment>> held; // joined after the lock
  engine_figures e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_)
      return std::nullopt;
    held.reserve(metrics_.size());
    for (const auto& [name, frag] : metrics_)
      held.push_back(frag);
    e = engine_;
  }
  e.up = true;
  std::vector<const metrics_fragment*> frags;
  frags.reserve(held.size());
  for (const auto& h : held)
    frags.push_back(h.get());
  return metrics_join(frags, e, f);
}

void md_status_cache::erase(const std::string& name) {
  std::shared_ptr<const std::string> old;
  std::shared_ptr<const metrics_fragment> old_metrics;
  md_snapshot_texts old_texts;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = metrics_.find(name); it != metrics_.end()) {
    old_metrics.swap(it->second);
    metrics_.erase(it);
  }
  if (auto it = snapshots_.find(name); it != snapshots_.end()) {
    std::swap(old_texts, it->second);
    snapshots_.erase(it);
  }
  auto it = by_name_.find(name);
  if (it == by_name_.end())
    return;
  old.swap(it->second);
  by_name_.erase(it);
}

std::optional<std::string> md_status_cache::snapshot(const std::string& name) const {
  status_snapshot outer; // the members around the entries (no other-ocsp-renewal, as the actor)
  md_snapshot_texts texts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = snapshots_.find(name);
    if (closed_ || it == snapshots_.end() || !it->second.entry)
      return std::nullopt;
    texts = it->second;
    outer.cert_check_name = cert_check_name_;
    outer.cert_check_url = cert_check_url_;
  }
  outer.published = std::chrono::system_clock::now();
  std::vector<std::string_view> staplings;
  staplings.reserve(texts.staplings.size());
  for (const auto& t : texts.staplings)
    staplings.emplace_back(*t);
  return snapshot_join(outer, {*texts.entry}, staplings);
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
    return error_answer(snap.error().message);
  if (snap->mds.empty())
    return std::nullopt;
  return ok_answer(render_json(md_status_json(*snap, snap->mds.front(), true)));
}

/// The format a "GET metrics [openmetrics]" line asks for; nullopt for other lines.
std::optional<metrics_format> metrics_request(const std::string& req) {
  if (req == "GET metrics")
    return metrics_format::text_004;
  if (req == "GET metrics openmetrics")
    return metrics_format::openmetrics;
  return std::nullopt;
}

} // namespace

std::optional<status_answer> answer_from_cache(std::string_view line, const md_status_cache& cache) {
  static const std::string snapshot_prefix = "GET snapshot ";
  const auto req = trim_line(line);
  if (req == "GET md-status")
    return md_status_from_cache(cache);
  if (auto f = metrics_request(req)) {
    auto text = cache.metrics(*f);
    if (!text)
      return error_answer("the status actor is gone");
    return ok_answer(std::move(*text));
  }
  if (req.compare(0, snapshot_prefix.size(), snapshot_prefix) != 0 || req.size() == snapshot_prefix.size())
    return std::nullopt;
  auto text = cache.snapshot(req.substr(snapshot_prefix.size()));
  if (!text)
    return std::nullopt;
  return ok_answer(std::move(*text));
}

std::optional<status_answer> answer_renew_request(std::string_view line, const renew_request& renew) {
  static const std::string prefix = "RENEW ";
  const auto req = trim_line(line);
  if (req.compare(0, prefix.size(), prefix) != 0)
    return std::nullopt;
  const std::string name = req.substr(prefix.size());
  if (name.empty() || name.find(' ') != std::string::npos)
    return error_answer("'RENEW' needs one MD name");
  if (!renew)
    return error_answer("'RENEW' is not served here");
  auto text = renew(name);
  if (!text)
    return error_answer(text.error().message);
  return ok_answer(std::move(*text));
}

status_answer answer_status_request(std::string_view line, const snapshot_fetch& fetch,
                                    const md_status_cache* cache,
                                    const md_snapshot_fetch& fetch_one) {
  if (cache)
    if (auto answer = answer_from_cache(line, *cache))
      return std::move(*answer);
  auto req = trim_line(line);
  enum class kind { all, one, snapshot } k;
  std::string name;
  static const std::string md_prefix = "GET md-status ";
  static const std::string snapshot_prefix = "GET snapshot ";
  if (req == "GET md-status") {
    k = kind::all;
  } else if (req.compare(0, md_prefix.size(), md_prefix) == 0 && req.size() > md_prefix.size()) {
    k = kind::one;
    name = req.substr(md_prefix.size());
  } else if (req == "GET snapshot") {
    k = kind::snapshot;
  } else if (req.compare(0, snapshot_prefix.size(), snapshot_prefix) == 0 &&
             req.size() > snapshot_prefix.size()) {
    if (!fetch_one)
      return error_answer("'GET snapshot <name>' is not served here");
    auto snap = fetch_one(req.substr(snapshot_prefix.size()));
    if (!snap)
      return error_answer(snap.error().message);
    return ok_answer(render_json(to_json(*snap)));
  } else if (auto f = metrics_request(req)) {
    auto snap = fetch();
    if (!snap)
      return error_answer(snap.error().message);
    engine_figures e;
    e.up = true;
    return ok_answer(metrics_text(*snap, e, *f));
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
  if (k == kind::all && cache) // no MD of the name asked for: all of them
    return md_status_from_cache(*cache);
  auto snap = fetch();
  if (!snap)
    return error_answer(snap.error().message);
  switch (k) {
    case kind::all: return ok_answer(render_json(md_status_all_json(*snap)));
    case kind::one: return ok_answer(md_status_text(*snap, "/" + name));
    case kind::snapshot: return ok_answer(render_json(to_json(*snap)));
  }
  return error_answer("internal");
}

// -- server ---------------------------------------------------------------------------------

namespace detail {

/// The listening socket, the pipe that stops the loop and the pipe that tells it an answer is
/// ready; closed when the last thread lets go.
struct status_socket_fds {
  int listen = -1;
  int wake_read = -1;
  int wake_write = -1;
  int ready_read = -1;
  int ready_write = -1;
  ~status_socket_fds() {
    for (int fd : {listen, wake_read, wake_write, ready_read, ready_write})
      if (fd >= 0)
        ::close(fd);
  }
};

/// What the loop thread and the answer threads share: request lines to answer (by client id)
/// and the answers made.
struct status_socket_core {
  std::shared_ptr<status_socket_fds> fds;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::deque<std::pair<std::uint64_t, std::string>> requests;
  std::vector<std::pair<std::uint64_t, status_answer>> answers;
};

} // namespace detail

namespace {

using detail::status_socket_core;

/// Writes one byte to a pipe (a wake-up); a full pipe already wakes its reader.
void poke(int fd) {
  char b = 1;
  while (::write(fd, &b, 1) < 0 && errno == EINTR) {
  }
}

/// Empties a non-blocking wake-up pipe.
void drain(int fd) {
  char buf[256];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

/// Sends what `fd` takes now of `pieces` from `first` on, without waiting (up to k_iov_batch
/// texts per sendmsg, straight from where they are). `first` and the first piece left are
/// advanced past what went out. Returns false when the peer is gone or the socket failed.
bool send_available(int fd, std::vector<std::string_view>& pieces, std::size_t& first, bool& progress) {
  constexpr std::size_t k_iov_batch = 512;
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
    auto n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return true;
    if (n <= 0)
      return false;
    progress = true;
    auto sent = static_cast<std::size_t>(n);
    while (first < pieces.size() && sent >= pieces[first].size())
      sent -= pieces[first++].size();
    if (sent > 0)
      pieces[first].remove_prefix(sent);
  }
}

/// One connection of the loop: reading its request line, waiting for its answer, writing it.
struct client {
  enum class phase { reading, answering, writing };
  std::uint64_t id = 0;
  int fd = -1;
  phase at = phase::reading;
  mono_time deadline{}; ///< reading: the whole line; writing: the next progress
  std::string line;
  status_answer answer;
  std::vector<std::string_view> pieces; ///< views into `answer` (a client never moves)
  std::size_t first = 0;
  ~client() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// The answer threads: each takes request lines from the queue and answers them, asking its
/// own snapshot source.
void run_answers(std::shared_ptr<status_socket_core> core, snapshot_source_maker make_source,
                 std::shared_ptr<const md_status_cache> cache) {
  const snapshot_source source = make_source();
  for (;;) {
    std::pair<std::uint64_t, std::string> req;
    {
      std::unique_lock<std::mutex> lock(core->mu);
      core->cv.wait(lock, [&] { return core->stopping || !core->requests.empty(); });
      if (core->stopping)
        return;
      req = std::move(core->requests.front());
      core->requests.pop_front();
    }
    auto renewed = answer_renew_request(req.second, source.renew);
    auto answer = renewed ? std::move(*renewed)
                          : answer_status_request(req.second, source.all, cache.get(), source.one);
    {
      std::lock_guard<std::mutex> lock(core->mu);
      core->answers.emplace_back(req.first, std::move(answer));
    }
    poke(core->fds->ready_write);
  }
}

/// The loop thread: accepts, reads request lines, hands them on, writes answers, all without
/// blocking, until woken through the wake pipe.
class socket_loop {
 public:
  socket_loop(std::shared_ptr<status_socket_core> core, std::shared_ptr<const md_status_cache> cache)
      : core_(std::move(core)), cache_(std::move(cache)) {}

  void run() {
    const auto& fds = *core_->fds;
    std::vector<pollfd> pfds;
    std::vector<client*> polled;
    for (;;) {
      const auto now = mono_clock::now();
      expire(now);
      pfds.clear();
      polled.clear();
      pfds.push_back({fds.wake_read, POLLIN, 0});
      pfds.push_back({fds.ready_read, POLLIN, 0});
      const bool accepting = now >= accept_paused_until_;
      pfds.push_back({accepting ? fds.listen : -1, POLLIN, 0});
      for (auto& [id, c] : clients_) {
        if (c->at == client::phase::answering)
          continue;
        pfds.push_back({c->fd, static_cast<short>(c->at == client::phase::reading ? POLLIN : POLLOUT), 0});
        polled.push_back(c.get());
      }
      if (::poll(pfds.data(), pfds.size(), poll_timeout(now, accepting)) < 0) {
        if (errno == EINTR)
          continue;
        return;
      }
      if (pfds[0].revents != 0)
        return;
      if (pfds[1].revents != 0)
        take_answers();
      if (pfds[2].revents != 0)
        accept_all();
      for (std::size_t i = 0; i < polled.size(); ++i) {
        if (pfds[i + 3].revents == 0)
          continue;
        client& c = *polled[i];
        if (c.at == client::phase::reading)
          read_from(c);
        else
          write_to(c);
      }
      for (auto id : finished_)
        clients_.erase(id);
      finished_.clear();
    }
  }

 private:
  /// The poll timeout: until the first deadline of a client or the end of an accept pause.
  int poll_timeout(mono_time now, bool accepting) const {
    std::optional<mono_time> next;
    if (!accepting)
      next = accept_paused_until_;
    for (const auto& [id, c] : clients_)
      if (c->at != client::phase::answering && (!next || c->deadline < *next))
        next = c->deadline;
    if (!next)
      return -1;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count() + 1;
    return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
  }

  /// Drops the clients past their deadline; a reader too slow is told why first.
  void expire(mono_time now) {
    for (auto& [id, c] : clients_) {
      if (c->at == client::phase::answering || now < c->deadline)
        continue;
      if (c->at == client::phase::reading)
        (void)::send(c->fd, too_slow_.data(), too_slow_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      finished_.push_back(id);
    }
    for (auto id : finished_)
      clients_.erase(id);
    finished_.clear();
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(core_->fds->listen, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED)
          continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
          accept_paused_until_ = mono_clock::now() + k_accept_pause; // no descriptor to spare
        return;
      }
      if (clients_.size() >= k_status_max_clients) {
        (void)::send(fd, k_too_many.data(), k_too_many.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        continue;
      }
      // md-status of thousands of MDs is megabytes: a large send buffer lets the reader take
      // it in few wake-ups (the kernel caps it at net.core.wmem_max).
      int sndbuf = k_server_send_buffer;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
      auto c = std::make_unique<client>();
      c->id = next_id_++;
      c->fd = fd;
      c->deadline = mono_clock::now() + k_status_request_deadline;
      const auto id = c->id;
      clients_.emplace(id, std::move(c));
    }
  }

  void read_from(client& c) {
    char buf[256];
    for (;;) {
      auto n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (n <= 0) { // gone before the line ended: nobody to answer
        finished_.push_back(c.id);
        return;
      }
      c.line.append(buf, static_cast<std::size_t>(n));
      const auto eol = c.line.find('\n');
      if (eol != std::string::npos) {
        c.line.resize(eol);
        return answer(c);
      }
      if (c.line.size() > k_status_request_max)
        return start_write(c, error_answer("request longer than " + std::to_string(k_status_request_max) + " bytes"));
    }
  }

  /// What the cache answers at once; everything else by the answer threads.
  void answer(client& c) {
    if (cache_)
      if (auto a = answer_from_cache(c.line, *cache_))
        return start_write(c, std::move(*a));
    c.at = client::phase::answering;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->requests.emplace_back(c.id, std::move(c.line));
    }
    core_->cv.notify_one();
  }

  void take_answers() {
    drain(core_->fds->ready_read);
    std::vector<std::pair<std::uint64_t, status_answer>> ready;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      ready.swap(core_->answers);
    }
    for (auto& [id, a] : ready) {
      auto it = clients_.find(id);
      if (it != clients_.end())
        start_write(*it->second, std::move(a));
    }
  }

  void start_write(client& c, status_answer a) {
    c.at = client::phase::writing;
    c.answer = std::move(a);
    c.pieces = c.answer.pieces();
    c.first = 0;
    c.deadline = mono_clock::now() + k_status_write_stall;
    write_to(c);
  }

  void write_to(client& c) {
    bool progress = false;
    const bool ok = send_available(c.fd, c.pieces, c.first, progress);
    if (!ok || c.first == c.pieces.size()) {
      finished_.push_back(c.id);
      return;
    }
    if (progress)
      c.deadline = mono_clock::now() + k_status_write_stall;
  }

  static constexpr std::chrono::milliseconds k_accept_pause{100};
  static constexpr std::string_view k_too_many = "ERR too many clients at once\n";

  std::shared_ptr<status_socket_core> core_;
  std::shared_ptr<const md_status_cache> cache_;
  std::map<std::uint64_t, std::unique_ptr<client>> clients_;
  std::vector<std::uint64_t> finished_;
  std::uint64_t next_id_ = 1;
  mono_time accept_paused_until_{};
  const std::string too_slow_ = "ERR the request line did not come within " +
                                std::to_string(k_status_request_deadline.count()) + " ms\n";
};

} // namespace

status_socket_server::status_socket_server(std::string path,
                                           std::shared_ptr<detail::status_socket_fds> fds)
    : path_(std::move(path)), core_(std::make_shared<detail::status_socket_core>()) {
  core_->fds = std::move(fds);
}

expected<std::unique_ptr<status_socket_server>> status_socket_server::bind(const std::string& path,
                                                                           mode_t mode) {
  sockaddr_un addr;
  if (!make_address(path, addr))
    return too_long(path);
  if (auto st = clear_stale(path, addr); !st)
    return st.error();
  auto fds = std::make_shared<detail::status_socket_fds>();
  fds->listen = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fds->listen < 0)
    return sys_err("socket", path);
  if (::bind(fds->listen, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return sys_err("bind", path);
  if (::chmod(path.c_str(), mode) != 0 || ::listen(fds->listen, SOMAXCONN) != 0) {
    auto err = sys_err("listen", path);
    ::unlink(path.c_str());
    return err;
  }
  int wake[2], ready[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    auto err = sys_err("pipe2", path);
    ::unlink(path.c_str());
    return err;
  }
  fds->wake_read = wake[0];
  fds->wake_write = wake[1];
  if (::pipe2(ready, O_CLOEXEC | O_NONBLOCK) != 0) {
    auto err = sys_err("pipe2", path);
    ::unlink(path.c_str());
    return err;
  }
  fds->ready_read = ready[0];
  fds->ready_write = ready[1];
  return std::unique_ptr<status_socket_server>(new status_socket_server(path, std::move(fds)));
}

void status_socket_server::start(snapshot_source_maker make_source,
                                 std::shared_ptr<const md_status_cache> cache) {
  for (std::size_t i = 0; i < k_status_answer_threads; ++i)
    threads_.emplace_back(run_answers, core_, make_source, cache);
  threads_.emplace_back([core = core_, cache] { socket_loop(core, cache).run(); });
}

void status_socket_server::stop() {
  if (stopped_.exchange(true))
    return;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->stopping = true;
  }
  core_->cv.notify_all();
  poke(core_->fds->wake_write);
  for (auto& t : threads_) {
    if (!t.joinable())
      continue;
    if (t.get_id() == std::this_thread::get_id())
      t.detach(); // an answer thread ending the actor: it ends after the answer it makes
    else
      t.join();
  }
  ::unlink(path_.c_str());
  core_.reset();
}

status_socket_server::~status_socket_server() { stop(); }

} // namespace mda
