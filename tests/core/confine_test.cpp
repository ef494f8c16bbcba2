// The engine's confinement (core/confine.hpp) and its launcher (core/launcher.hpp), in a
// forked child that drops to nobody as the engine drops to the User; the child reports what
// it could and could not do, one line each, and the test compares the lines.
#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <string>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/confine.hpp"
#include "core/launcher.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using mda::test::temp_dir;

namespace {

constexpr uid_t k_nobody = 65534;

std::string status_line(const std::string& status, const std::string& name) {
  const auto at = status.find("\n" + name + ":");
  if (at == std::string::npos) return name + ": ?";
  const auto end = status.find('\n', at + 1);
  std::string line = status.substr(at + 1, end - at - 1);
  for (auto& c : line) if (c == '\t') c = ' ';
  return line;
}

std::string try_create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return "errno " + std::to_string(errno);
  ::close(fd);
  return "created";
}

std::string try_bind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  const int e = errno;
  ::close(fd);
  return ok ? "bound" : "errno " + std::to_string(e);
}

/// The child: drop to nobody, start the launcher, confine, then try things.
std::string confined_child(const std::string& dir) {
  std::string out;
  if (::setgroups(0, nullptr) != 0 || ::setgid(k_nobody) != 0 || ::setuid(k_nobody) != 0) return "setuid failed\n";
  static bool lost = false;
  auto launcher = start_launcher({"/bin/echo"}, {}, [] { lost = true; });
  if (!launcher) return "launcher: " + launcher.error().message + "\n";
  confinement c;
  c.writable = {dir + "/w"};
  auto confined = confine_process(c);
  if (!confined) return "confine: " + confined.error().message + "\n";
  out += "landlock: " + std::string(confined->landlock_abi > 0 ? "on" : "off") + "\n";
  auto echo = run_process({"/bin/echo", "hi", "there"});
  out += echo ? "echo: " + echo->describe({}) + ", out '" + echo->out + "'\n" : "echo: " + echo.error().message + "\n";
  auto cat = run_process({"/bin/cat", "/etc/hostname"});
  out += cat ? "cat: ran\n" : "cat: " + cat.error().message + "\n";
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  ::execv("/bin/true", argv);
  out += "execv: errno " + std::to_string(errno) + "\n";
  const int raw = ::socket(AF_PACKET, SOCK_RAW, 0);
  out += "socket(AF_PACKET): " + (raw < 0 ? "errno " + std::to_string(errno) : std::string("made")) + "\n";
  const int tcp = ::socket(AF_INET6, SOCK_STREAM, 0);
  out += "socket(AF_INET6): " + std::string(tcp >= 0 ? "made" : "refused") + "\n";
  out += "bind a fixed port: " + try_bind(45678) + "\n";
  out += "bind an ephemeral port: " + try_bind(0) + "\n";
  out += "create in w: " + try_create(dir + "/w/file") + "\n";
  out += "create in x: " + try_create(dir + "/x/file") + "\n";
  const std::string st = test::read_file("/proc/self/status");
  for (const char* name : {"CapInh", "CapPrm", "CapEff", "CapAmb", "NoNewPrivs", "Seccomp"})
    out += status_line(st, name) + "\n";
  // The launcher gone: programs fail, and the owner is told (the engine then stops).
  ::kill(launcher->pid, SIGKILL);
  ::waitpid(launcher->pid, nullptr, 0);
  auto gone = run_process({"/bin/echo", "again"});
  out += gone ? "after the launcher: ran\n" : "after the launcher: " + gone.error().message + "\n";
  out += std::string("lost: ") + (lost ? "told" : "not told") + "\n";
  return out;
}

} // namespace

TEST_CASE("confinement: no capability, no execve, writes only where allowed; the launcher runs the configured programs",
          "[core][confine]") {
  REQUIRE(::geteuid() == 0); // the tests run as root, as Apache's parent does
  temp_dir dir;
  for (const char* d : {"w", "x"}) {
    const std::string p = dir / d;
    REQUIRE(::mkdir(p.c_str(), 0700) == 0);
    REQUIRE(::chown(p.c_str(), k_nobody, k_nobody) == 0);
  }
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string text;
    try {
      text = confined_child(dir.path());
    } catch (const std::exception& e) {
      text = std::string("exception: ") + e.what() + "\n";
    }
    (void)!::write(fds[1], text.data(), text.size());
    _exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int wst = 0;
  ::waitpid(pid, &wst, 0);
  CHECK(got == "landlock: on\n"
               "echo: exited with status 0, out 'hi there\n'\n"
               "cat: '/bin/cat' is not a configured program (MDMessageCmd, MDNotifyCmd, MDChallengeDns01); the "
               "launcher runs nothing else\n"
               "execv: errno 1\n"
               "socket(AF_PACKET): errno 97\n"
               "socket(AF_INET6): made\n"
               "bind a fixed port: errno 13\n"
               "bind an ephemeral port: bound\n"
               "create in w: created\n"
               "create in x: errno 13\n"
               "CapInh: 0000000000000000\n"
               "CapPrm: 0000000000000000\n"
               "CapEff: 0000000000000000\n"
               "CapAmb: 0000000000000000\n"
               "NoNewPrivs: 1\n"
               "Seccomp: 2\n"
               "after the launcher: '/bin/echo': the launcher process is gone\n"
               "lost: told\n");
}

TEST_CASE("launcher: requests and answers survive the trip", "[core][confine]") {
  process_options o;
  o.timeout = std::chrono::milliseconds(1500);
  o.kill_grace = std::chrono::milliseconds(20);
  o.max_output = 99;
  CHECK(launcher_request_json({"/bin/x", "a b"}, o) ==
        R"({"argv":["/bin/x","a b"],"kill-grace-ms":20,"max-output":99,"timeout-ms":1500})");
  process_result r;
  r.exit_code = 3;
  r.out = std::string("ok\xff", 3); // not UTF-8: replaced, not thrown
  r.elapsed = std::chrono::milliseconds(12);
  auto back = launcher_answer_from_json(launcher_answer_json(r));
  REQUIRE(back);
  CHECK(back->exit_code == 3);
  CHECK(back->out == "ok\xef\xbf\xbd");
  CHECK(back->elapsed == std::chrono::milliseconds(12));
  auto err = launcher_answer_from_json(launcher_answer_json(error(process_errc::timeout, "slow")));
  REQUIRE_FALSE(err);
  CHECK(err.error().code == make_error_code(process_errc::timeout));
  CHECK(err.error().message == "slow");
  auto junk = launcher_answer_from_json("{");
  REQUIRE_FALSE(junk);
  CHECK(junk.error().code == make_error_code(process_errc::spawn));
}
