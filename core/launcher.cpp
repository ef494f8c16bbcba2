// The launcher process (see launcher.hpp).
#include "core/launcher.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace mda {

namespace {

using json = nlohmann::json;

/// The largest request (argv of a dns-01 program with many domains fits many times).
constexpr std::size_t k_max_request = 64 * 1024;
/// Between SIGTERM and SIGKILL for the programs still running when the engine stops (as the
/// engine gave its own programs before the launcher existed).
constexpr std::chrono::seconds k_stop_grace{1};
/// The message that asks for that (it carries no answer socket).
constexpr char k_stop_message[] = "stop";

std::string dump(const json& j) {
  // Program output need not be UTF-8: replace what is not, rather than throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void close_fd(int fd) {
  if (fd >= 0) ::close(fd);
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string read_all(int fd) {
  std::string out;
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

/// A message of one buffer with room for one passed file descriptor.
struct fd_message {
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))]{};
  msghdr msg{};
  explicit fd_message(iovec& iov) {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
  }
  fd_message(const fd_message&) = delete;
  fd_message& operator=(const fd_message&) = delete;
};

/// Sends one request with the answer socket attached.
bool send_request(int control, const std::string& text, int answer_fd) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  fd_message m(iov);
  msghdr& msg = m.msg;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &answer_fd, sizeof(int));
  for (;;) {
    const ssize_t n = ::sendmsg(control, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    return n == static_cast<ssize_t>(text.size());
  }
}

/// Receives one request; false at the end of the stream (or a broken one). `fd` is -1 when
/// the message carried none.
bool receive_request(int control, std::string& text, int& fd) {
  text.assign(k_max_request, '\0');
  iovec iov{text.data(), text.size()};
  fd_message m(iov);
  msghdr& msg = m.msg;
  ssize_t n;
  do {
    n = ::recvmsg(control, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  text.resize(static_cast<std::size_t>(n));
  fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  }
  return true;
}

/// Runs one request and answers on its socket.
void serve(const std::vector<std::string>& programs, std::string text, int answer_fd) {
  expected<process_result> r = error(process_errc::bad_command, "a request the launcher cannot read");
  try {
    const json j = json::parse(text);
    const auto argv = j.at("argv").get<std::vector<std::string>>();
    process_options o;
    o.timeout = std::chrono::milliseconds(j.at("timeout-ms").get<long long>());
    o.kill_grace = std::chrono::milliseconds(j.at("kill-grace-ms").get<long long>());
    o.max_output = j.at("max-output").get<std::size_t>();
    if (argv.empty() || std::find(programs.begin(), programs.end(), argv[0]) == programs.end()) {
      r = error(process_errc::bad_command,
                "'" + (argv.empty() ? std::string() : argv[0]) +
                    "' is not a configured program (MDMessageCmd, MDNotifyCmd, MDChallengeDns01); "
                    "the launcher runs nothing else");
    } else {
      r = run_process_here(argv, o);
    }
  } catch (const std::exception& e) {
    r = error(process_errc::bad_command, std::string("a request the launcher cannot read: ") + e.what());
  }
  write_all(answer_fd, launcher_answer_json(r));
  close_fd(answer_fd);
}

[[noreturn]] void launcher_main(int control, const std::vector<std::string>& programs) {
  prctl(PR_SET_NAME, "md-launcher");
  std::string text;
  int fd = -1;
  while (receive_request(control, text, fd)) {
    if (fd < 0) { // the engine stops: end what runs, so its waiting calls return
      std::thread([] { terminate_running_processes(k_stop_grace); }).detach();
      continue;
    }
    try {
      std::thread(serve, programs, text, fd).detach();
    } catch (...) {
      write_all(fd, launcher_answer_json(error(process_errc::spawn, "the launcher cannot start a thread")));
      close_fd(fd);
    }
  }
  terminate_running_processes(k_stop_grace);
  _exit(0);
}

/// The engine's side of run_process. `lost` is told when the launcher is found gone.
expected<process_result> ask_launcher(int control, const std::vector<std::string>& argv,
                                      const process_options& opts, const std::function<void()>& lost) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return error(process_errc::spawn, std::string("socketpair(): ") + std::strerror(errno));
  const bool sent = send_request(control, launcher_request_json(argv, opts), pair[1]);
  close_fd(pair[1]);
  const std::string answer = sent ? read_all(pair[0]) : std::string();
  close_fd(pair[0]);
  if (answer.empty()) {
    if (lost) lost();
    return error(process_errc::spawn, "'" + (argv.empty() ? std::string() : argv[0]) +
                                          "': the launcher process is gone");
  }
  return launcher_answer_from_json(answer);
}

} // namespace

std::string launcher_request_json(const std::vector<std::string>& argv, const process_options& opts) {
  return dump(json{{"argv", argv},
                   {"timeout-ms", opts.timeout.count()},
                   {"kill-grace-ms", opts.kill_grace.count()},
                   {"max-output", opts.max_output}});
}

std::string launcher_answer_json(const expected<process_result>& r) {
  if (!r) return dump(json{{"ok", false}, {"code", r.error().code.value()}, {"message", r.error().message}});
  return dump(json{{"ok", true},
                   {"exit-code", r->exit_code},
                   {"term-signal", r->term_signal},
                   {"timed-out", r->timed_out},
                   {"out", r->out},
                   {"err", r->err},
                   {"elapsed-ms", r->elapsed.count()}});
}

expected<process_result> launcher_answer_from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (!j.at("ok").get<bool>())
      return error(std::error_code(j.at("code").get<int>(), process_category()), j.at("message").get<std::string>());
    process_result r;
    r.exit_code = j.at("exit-code").get<int>();
    r.term_signal = j.at("term-signal").get<int>();
    r.timed_out = j.at("timed-out").get<bool>();
    r.out = j.at("out").get<std::string>();
    r.err = j.at("err").get<std::string>();
    r.elapsed = std::chrono::milliseconds(j.at("elapsed-ms").get<long long>());
    return r;
  } catch (const std::exception& e) {
    return error(process_errc::spawn, std::string("an answer of the launcher that does not read: ") + e.what());
  }
}

expected<launcher_handle> start_launcher(std::vector<std::string> programs, const std::function<void()>& forget,
                                         std::function<void()> lost) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return error(process_errc::spawn, std::string("launcher: socketpair(): ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    close_fd(pair[0]);
    close_fd(pair[1]);
    return error(process_errc::spawn, std::string("launcher: fork(): ") + std::strerror(e));
  }
  if (pid == 0) {
    close_fd(pair[0]);
    try {
      if (forget) forget();
      launcher_main(pair[1], programs);
    } catch (...) {
      _exit(3);
    }
  }
  close_fd(pair[1]);
  const int control = pair[0];
  set_process_runner(
      [control, lost = std::move(lost)](const std::vector<std::string>& argv, const process_options& opts) {
        return ask_launcher(control, argv, opts, lost);
      },
      [control] {
        (void)::send(control, k_stop_message, sizeof k_stop_message - 1, MSG_NOSIGNAL);
      });
  return launcher_handle{pid};
}

} // namespace mda
