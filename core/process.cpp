#include "core/process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mda {

namespace {

class process_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "mdactor.process"; }
  std::string message(int ev) const override {
    switch (static_cast<process_errc>(ev)) {
      case process_errc::ok:
        return "ok";
      case process_errc::bad_command:
        return "bad command line";
      case process_errc::spawn:
        return "cannot start program";
      case process_errc::failed:
        return "program failed";
      case process_errc::timeout:
        return "program timed out";
      case process_errc::wait:
        return "cannot wait for program";
    }
    return "unknown process error";
  }
};

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string sys_error(const std::string& call, int err) {
  return call + " failed: " + std::strerror(err);
}

/// A started child with the read ends of its stdout and stderr pipes.
struct child {
  pid_t pid = -1;
  int fds[2] = {-1, -1};
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

/// The process groups of the programs run_process is waiting for (terminate_running_processes).
std::mutex g_running_mutex;
std::set<pid_t> g_running;

void note_running(pid_t pid, bool running) {
  std::lock_guard<std::mutex> lock(g_running_mutex);
  if (running)
    g_running.insert(pid);
  else
    g_running.erase(pid);
}

std::size_t signal_running(int sig) {
  std::lock_guard<std::mutex> lock(g_running_mutex);
  for (pid_t pid : g_running) ::kill(-pid, sig);
  return g_running.size();
}

/// posix_spawn with stdin /dev/null, stdout/stderr into pipes, its own process group and
/// default signal handling.
expected<child> spawn_child(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return error(process_errc::spawn, sys_error("pipe2()", errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    return error(process_errc::spawn, sys_error("pipe2()", e));
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  child c;
  int rc = ::posix_spawn(&c.pid, argv[0].c_str(), &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    return error(process_errc::spawn,
                 "cannot run '" + argv[0] + "': " + sys_error("posix_spawn()", rc));
  }
  c.fds[0] = out[0];
  c.fds[1] = err[0];
  for (int fd : c.fds) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return c;
}

/// Reads what is there without blocking; closes the descriptor at end of file or error.
void read_some(int& fd, std::string& into, std::size_t max) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      std::size_t keep =
          std::min<std::size_t>(static_cast<std::size_t>(n), max - std::min(max, into.size()));
      into.append(buf, keep);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close_fd(fd);
    return;
  }
}

/// Waits up to `slice` for output and reads it.
void pump(child& c, process_result& r, std::size_t max, milliseconds slice) {
  pollfd p[2];
  nfds_t n = 0;
  for (int fd : c.fds)
    if (fd >= 0) p[n++] = pollfd{fd, POLLIN, 0};
  ::poll(n ? p : nullptr, n, static_cast<int>(slice.count()));
  if (c.fds[0] >= 0) read_some(c.fds[0], r.out, max);
  if (c.fds[1] >= 0) read_some(c.fds[1], r.err, max);
}

void record_status(process_result& r, int st) {
  if (WIFEXITED(st))
    r.exit_code = WEXITSTATUS(st);
  else if (WIFSIGNALED(st))
    r.term_signal = WTERMSIG(st);
}

/// SIGTERM to the group, up to `grace` for the child to go, then SIGKILL to what is left.
void kill_group(pid_t pid, milliseconds grace, process_result& r) {
  ::kill(-pid, SIGTERM);
  const auto until = clock_type::now() + grace;
  int st = 0;
  bool reaped = false;
  while (!reaped && clock_type::now() < until) {
    reaped = ::waitpid(pid, &st, WNOHANG) == pid;
    if (!reaped) std::this_thread::sleep_for(milliseconds(10));
  }
  ::kill(-pid, SIGKILL); // also members that outlived the leader
  if (!reaped) {
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  record_status(r, st);
}

std::string format_ms(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

} // namespace

const std::error_category& process_category() noexcept {
  static const process_category_impl instance;
  return instance;
}

std::error_code make_error_code(process_errc e) noexcept {
  return {static_cast<int>(e), process_category()};
}

std::string process_result::describe(milliseconds timeout) const {
  if (timed_out) return "did not finish within " + format_ms(timeout) + " and was killed";
  if (term_signal != 0) return "was killed by signal " + std::to_string(term_signal);
  return "exited with status " + std::to_string(exit_code);
}

namespace {
/// Set once before threads run (the engine process right after it started its launcher).
process_runner g_runner;
std::function<void()> g_stop_runner;
} // namespace

void set_process_runner(process_runner runner, std::function<void()> stop) {
  g_runner = std::move(runner);
  g_stop_runner = std::move(stop);
}

expected<process_result> run_process(const std::vector<std::string>& argv,
                                     const process_options& opts) {
  if (g_runner) return g_runner(argv, opts);
  return run_process_here(argv, opts);
}

expected<process_result> run_process_here(const std::vector<std::string>& argv,
                                          const process_options& opts) {
  if (argv.empty() || argv[0].empty())
    return error(process_errc::bad_command, "empty command line");
  if (argv[0][0] != '/')
    return error(
        process_errc::bad_command,
        "'" + argv[0] + "' is not an absolute path (programs are run without a PATH search)");
  const auto start = clock_type::now();
  auto c = spawn_child(argv);
  if (!c) return c.error();
  note_running(c->pid, true);
  process_result r;
  const bool limited = opts.timeout.count() > 0;
  for (;;) {
    int st = 0;
    pid_t w = ::waitpid(c->pid, &st, WNOHANG);
    if (w == c->pid) {
      note_running(c->pid, false);
      record_status(r, st);
      break;
    }
    if (w < 0 && errno != EINTR) {
      int e = errno;
      note_running(c->pid, false);
      ::kill(-c->pid, SIGKILL);
      close_fd(c->fds[0]);
      close_fd(c->fds[1]);
      return error(process_errc::wait, "'" + argv[0] + "': " + sys_error("waitpid()", e));
    }
    auto now = clock_type::now();
    if (limited && now - start >= opts.timeout) {
      r.timed_out = true;
      note_running(c->pid, false);
      kill_group(c->pid, opts.kill_grace, r);
      break;
    }
    auto slice = milliseconds(20);
    if (limited)
      slice = std::min(slice, std::chrono::duration_cast<milliseconds>(start + opts.timeout - now) +
                                  milliseconds(1));
    pump(*c, r, opts.max_output, slice);
  }
  // What is left in the pipes; descendants still holding them are not waited for.
  for (int i = 0; i < 2; ++i)
    if (c->fds[i] >= 0) read_some(c->fds[i], i == 0 ? r.out : r.err, opts.max_output);
  close_fd(c->fds[0]);
  close_fd(c->fds[1]);
  r.elapsed = std::chrono::duration_cast<milliseconds>(clock_type::now() - start);
  return r;
}

std::size_t terminate_running_processes(milliseconds grace) {
  if (g_stop_runner) {
    g_stop_runner();
    return 0;
  }
  const std::size_t n = signal_running(SIGTERM);
  const auto until = clock_type::now() + grace;
  while (n > 0 && clock_type::now() < until) {
    {
      std::lock_guard<std::mutex> lock(g_running_mutex);
      if (g_running.empty()) return n;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  signal_running(SIGKILL);
  return n;
}

std::string output_tail(std::string_view text, std::size_t max) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view l = text.substr(pos, end - pos);
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ' || l.back() == '\t'))
      l.remove_suffix(1);
    if (!l.empty()) lines.push_back(l);
    pos = end + 1;
  }
  std::string tail;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string piece(*it);
    if (tail.empty() && piece.size() > max) return piece.substr(0, max) + "...";
    if (tail.size() + piece.size() + 3 > max && !tail.empty()) break;
    tail = tail.empty() ? piece : piece + " | " + tail;
  }
  return tail;
}

} // namespace mda
