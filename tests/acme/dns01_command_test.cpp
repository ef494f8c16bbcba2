// core/process.hpp (running with captured output and a timeout) and acme/dns01_command.hpp
// (MDChallengeDns01 argument conventions, versions 1 and 2) with shell scripts in a temp dir.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include <sys/stat.h>

#include "acme/dns01_command.hpp"
#include "core/jws.hpp"
#include "core/process.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;
using namespace std::chrono_literals;

namespace {

std::string script(const test::temp_dir& dir, const std::string& name, const std::string& body) {
  std::string path = dir / name;
  test::write_file(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  return path;
}

/// A script appending "<argc> <args...>" (one per line, then "--") to args.log.
std::string recorder(const test::temp_dir& dir) {
  return script(dir, "hook.sh",
                "{ echo \"$#\"; for a in \"$@\"; do echo \"$a\"; done; echo --; } >> '" +
                    (dir / "args.log") + "'\n");
}

/// The recorded calls: each a list of arguments.
std::vector<std::vector<std::string>> recorded(const test::temp_dir& dir) {
  std::vector<std::vector<std::string>> calls(1);
  std::ifstream in(dir / "args.log");
  std::string line;
  bool count_line = true;
  while (std::getline(in, line)) {
    if (line == "--") {
      calls.emplace_back();
      count_line = true;
    } else if (count_line) {
      count_line = false;
    } else {
      calls.back().push_back(line);
    }
  }
  calls.pop_back();
  return calls;
}

challenge_data dns_challenge(const std::string& identifier) {
  challenge_data c;
  c.type = challenge_type::dns_01;
  c.identifier = identifier;
  c.md_name = identifier;
  c.token = "tok-1";
  c.key_authorization = "tok-1.thumbprint";
  return c;
}

bool process_alive(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string content;
  if (!std::getline(in, content)) return false;
  auto close_paren = content.rfind(')');
  return close_paren != std::string::npos && content.size() > close_paren + 2 &&
         content[close_paren + 2] != 'Z';
}

} // namespace

TEST_CASE("external programs run with absolute path, captured output and timeout",
          "[core][process]") {
  test::temp_dir dir;
  SECTION("relative paths are refused: no PATH search") {
    auto r = run_process({"sh", "-c", "true"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == process_errc::bad_command);
    CHECK(r.error().message ==
          "'sh' is not an absolute path (programs are run without a PATH search)");
    CHECK(run_process({}).error().message == "empty command line");
  }
  SECTION("a missing program is a spawn error naming it") {
    auto r = run_process({dir / "missing"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == process_errc::spawn);
    CHECK(r.error().message == "cannot run '" + (dir / "missing") +
                                   "': posix_spawn() failed: No such file or directory");
  }
  SECTION("exit status, stdout, stderr, stdin from /dev/null") {
    auto p = script(dir, "s.sh", "cat; echo out; echo err1 >&2; echo err2 >&2; exit 3\n");
    auto r = run_process({p});
    REQUIRE(r);
    CHECK(r->exit_code == 3);
    CHECK_FALSE(r->success());
    CHECK(r->out == "out\n");
    CHECK(r->err == "err1\nerr2\n");
    CHECK(r->describe(0ms) == "exited with status 3");
    CHECK(output_tail(r->err) == "err1 | err2");
  }
  SECTION("output is capped") {
    auto p = script(dir, "big.sh", "head -c 100000 /dev/zero | tr '\\0' x\n");
    process_options o;
    o.max_output = 1000;
    auto r = run_process({p}, o);
    REQUIRE(r);
    CHECK(r->success());
    CHECK(r->out == std::string(1000, 'x'));
  }
  SECTION("a hanging program and its children are killed at the timeout") {
    auto p = script(dir, "hang.sh", "sleep 30 & echo $! > '" + (dir / "child.pid") + "'\nwait\n");
    process_options o;
    o.timeout = 300ms;
    o.kill_grace = 500ms;
    auto start = std::chrono::steady_clock::now();
    auto r = run_process({p}, o);
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(r);
    CHECK(r->timed_out);
    CHECK(r->term_signal == SIGTERM);
    CHECK(r->describe(o.timeout) == "did not finish within 300 ms and was killed");
    CHECK(took < 3s);
    std::string child = test::read_file(dir / "child.pid");
    child.erase(child.find_last_not_of("\n") + 1);
    for (int i = 0; i < 100 && process_alive(child); ++i) std::this_thread::sleep_for(10ms);
    CHECK_FALSE(process_alive(child));
  }
  SECTION("at shutdown running programs and their children are ended, the waits return") {
    CHECK(terminate_running_processes(100ms) == 0); // nothing running: returns at once
    // The script ignores SIGTERM, its child does not: the group gets SIGTERM, then SIGKILL.
    auto p = script(dir, "stuck.sh",
                    "trap '' TERM\nsleep 30 & echo $! > '" + (dir / "child.pid") + "'\nwhile :; do sleep 1; done\n");
    expected<process_result> r = error(process_errc::spawn, "not run");
    std::thread waiter([&] { r = run_process({p}); }); // no timeout: would wait for ever
    for (int i = 0; i < 500 && !test::path_exists(dir / "child.pid"); ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(50ms);
    auto start = std::chrono::steady_clock::now();
    CHECK(terminate_running_processes(300ms) == 1);
    waiter.join();
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    REQUIRE(r);
    CHECK_FALSE(r->timed_out);
    CHECK(r->term_signal == SIGKILL);
    CHECK(r->describe(0ms) == "was killed by signal 9");
    std::string child = test::read_file(dir / "child.pid");
    child.erase(child.find_last_not_of("\n") + 1);
    for (int i = 0; i < 100 && process_alive(child); ++i) std::this_thread::sleep_for(10ms);
    CHECK_FALSE(process_alive(child));
    CHECK(terminate_running_processes(100ms) == 0);
  }
}

TEST_CASE("dns01_command checks its configuration", "[acme][dns01]") {
  auto rel = dns01_command::create({"dns-hook.sh --x", 1, 5s, 2s, {}});
  REQUIRE_FALSE(rel);
  CHECK(rel.error().code == process_errc::bad_command);
  CHECK(rel.error().message ==
        "MDChallengeDns01 'dns-hook.sh ***': 'dns-hook.sh' is not an "
        "absolute path (programs are run without a PATH search)");
  CHECK(dns01_command::create({"  ", 1, 5s, 2s, {}}).error().message ==
        "MDChallengeDns01: the command line is empty");
  CHECK(dns01_command::create({"/bin/true", 3, 5s, 2s, {}}).error().message ==
        "MDChallengeDns01Version 3: only 1 and 2 are known");
  auto ok = dns01_command::create({"/bin/true", 2, 5s, 2s, {}});
  REQUIRE(ok);
  CHECK(ok->supports(challenge_type::dns_01));
  CHECK_FALSE(ok->supports(challenge_type::http_01));
  CHECK_FALSE(ok->supports(challenge_type::tls_alpn_01));
}

TEST_CASE("dns01_command runs mod_md's argument lists", "[acme][dns01]") {
  test::temp_dir dir;
  const std::string hook = recorder(dir);
  auto c = dns_challenge("example.test");
  const std::string txt = dns01_txt_value("tok-1.thumbprint");
  CHECK(dns01_token(c) == txt);

  SECTION("version 1: teardown without the token; extra configured arguments first") {
    auto cmd = dns01_command::create({hook + " --zone 'my zone'", 1, 5s, 2s, {}});
    REQUIRE(cmd);
    REQUIRE(cmd->setup(c));
    REQUIRE(cmd->teardown(c));
    auto calls = recorded(dir);
    REQUIRE(calls.size() == 2);
    CHECK(calls[0] == std::vector<std::string>{"--zone", "my zone", "setup", "example.test", txt});
    CHECK(calls[1] == std::vector<std::string>{"--zone", "my zone", "teardown", "example.test"});
  }
  SECTION("version 2: teardown with the token, also from order.json data") {
    auto cmd = dns01_command::create({hook, 2, 5s, 2s, {}});
    REQUIRE(cmd);
    REQUIRE(cmd->setup(c));
    REQUIRE(cmd->teardown(c));
    challenge_data from_entry;
    from_entry.type = challenge_type::dns_01;
    from_entry.identifier = "example.test";
    from_entry.token = txt; // what order.json "dns-01:<dns> <token>" keeps
    REQUIRE(cmd->teardown(from_entry));
    auto calls = recorded(dir);
    REQUIRE(calls.size() == 3);
    CHECK(calls[0] == std::vector<std::string>{"setup", "example.test", txt});
    CHECK(calls[1] == std::vector<std::string>{"teardown", "example.test", txt});
    CHECK(calls[2] == calls[1]);
  }
  SECTION("setup needs the key authorization") {
    auto cmd = dns01_command::create({hook, 1, 5s, 2s, {}});
    c.key_authorization.clear();
    auto st = cmd->setup(c);
    REQUIRE_FALSE(st);
    CHECK(st.error().message == "dns-01 setup for 'example.test': no key authorization");
  }
  SECTION("on_run sees every run") {
    std::vector<std::string> seen;
    auto cmd = dns01_command::create(
        {hook, 1, 5s, 2s, [&](const std::vector<std::string>& argv, const process_result& r) {
           seen.push_back(argv.at(1) + ":" + std::to_string(r.exit_code));
         }});
    REQUIRE(cmd->setup(c));
    CHECK(seen == std::vector<std::string>{"setup:0"});
  }
}

TEST_CASE("dns01_command failures name the program, the exit and stderr", "[acme][dns01]") {
  test::temp_dir dir;
  auto c = dns_challenge("example.test");
  SECTION("non-zero exit") {
    auto p = script(dir, "fail.sh", "echo 'zone not found' >&2\nexit 4\n");
    auto cmd = dns01_command::create({p, 1, 5s, 2s, {}});
    auto st = cmd->setup(c);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == process_errc::failed);
    CHECK(st.error().message ==
          "dns-01 setup for 'example.test': '" + p + "' exited with status 4: zone not found");
  }
  SECTION("a hanging script is killed at the timeout") {
    auto p = script(dir, "hang.sh", "sleep 30\n");
    auto cmd = dns01_command::create({p, 1, 400ms, 500ms, {}});
    auto start = std::chrono::steady_clock::now();
    auto st = cmd->teardown(c);
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == process_errc::timeout);
    CHECK(st.error().message == "dns-01 teardown for 'example.test': '" + p +
                                    "' did not finish within 400 ms and was killed");
  }
  SECTION("a program that vanished") {
    auto cmd = dns01_command::create({dir / "gone.sh", 1, 5s, 2s, {}});
    auto st = cmd->setup(c);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == process_errc::spawn);
    CHECK(st.error().message == "dns-01 setup for 'example.test': cannot run '" +
                                    (dir / "gone.sh") +
                                    "': posix_spawn() failed: No such file or directory");
  }
}
