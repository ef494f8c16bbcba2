// The status socket: the request parser and renderer (pure), then a real listener beside a
// status actor on CAF's real scheduler, the client's errors and its timeout.
#include "actors/status_socket.hpp"

#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/status.hpp"
#include "actors/worker_pool.hpp"
#include "status/md_status.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

md_snapshot md_named(const std::string& name) {
  md_snapshot m;
  m.md.name = name;
  m.md.domains = {name, "www." + name};
  m.watched = true;
  return m;
}

status_snapshot two_mds() {
  status_snapshot s;
  s.published = from_unix(1767225600);
  s.mds = {md_named("b.example"), md_named("a.example")};
  return s;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

/// A listening socket that never accepts: connects succeed, answers never come.
int silent_listener(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  return fd;
}

} // namespace

TEST_CASE("status socket: answers to request lines", "[actors][status-socket]") {
  auto snap = two_mds();
  auto fetch = [&]() -> caf::expected<status_snapshot> { return snap; };
  CHECK(answer_status_request("GET md-status", fetch) ==
        "OK\n" + render_json(md_status_all_json(snap)));
  CHECK(answer_status_request("GET md-status\r", fetch) ==
        "OK\n" + render_json(md_status_all_json(snap)));
  CHECK(answer_status_request("GET md-status www.a.example", fetch) ==
        "OK\n" + md_status_text(snap, "/www.a.example"));
  CHECK(answer_status_request("GET snapshot", fetch) == "OK\n" + render_json(to_json(snap)));
  CHECK(answer_status_request("GET md-status ", fetch) == "ERR unknown request 'GET md-status '\n");
  CHECK(answer_status_request("PUT x", fetch) == "ERR unknown request 'PUT x'\n");
  auto gone = []() -> caf::expected<status_snapshot> {
    return make_error(engine_errc::unavailable, "the status actor is gone");
  };
  CHECK(answer_status_request("GET snapshot", gone) == "ERR the status actor is gone\n");
  // a published document answers "GET md-status" without asking the actor; the rest asks
  rendered_status rendered;
  std::optional<std::uint64_t> now_at = 7;
  auto version = [&] { return now_at; };
  CHECK(answer_status_request("GET md-status", fetch, &rendered, version) ==
        "OK\n" + render_json(md_status_all_json(snap)));
  rendered.set("{\"published\": true}", 7);
  CHECK(answer_status_request("GET md-status", gone, &rendered, version) == "OK\n{\"published\": true}");
  CHECK(answer_status_request("GET md-status www.a.example", gone, &rendered, version) ==
        "ERR the status actor is gone\n");
  now_at = 8; // changed since: rendered live
  CHECK(answer_status_request("GET md-status", fetch, &rendered, version) ==
        "OK\n" + render_json(md_status_all_json(snap)));
  now_at.reset(); // no count: rendered live
  CHECK(answer_status_request("GET md-status", fetch, &rendered, version) ==
        "OK\n" + render_json(md_status_all_json(snap)));
}

TEST_CASE("status socket: client errors", "[actors][status-socket]") {
  test::temp_dir dir;
  auto path = dir / "none.sock";
  auto r = query_status_socket(path, "GET md-status", 200ms);
  REQUIRE(!r.ok());
  CHECK(r.error().message == "connect('" + path + "') failed: No such file or directory");

  auto silent = dir / "silent.sock";
  int fd = silent_listener(silent);
  auto t = query_status_socket(silent, "GET md-status", 100ms);
  REQUIRE(!t.ok());
  CHECK(t.error().message == "no answer from '" + silent + "' within 100 ms");
  ::close(fd);

  // the listener is gone, its file stays: a stale socket, replaced by bind()
  auto srv = status_socket_server::bind(silent, 0600);
  REQUIRE(srv.ok());
  auto busy = status_socket_server::bind(silent, 0600);
  REQUIRE(!busy.ok());
  CHECK(busy.error().message == "'" + silent + "' is in use by another server");
  (*srv)->stop();
  CHECK(!exists(silent));

  test::write_file(dir / "plain", "x");
  auto plain = status_socket_server::bind(dir / "plain", 0600);
  REQUIRE(!plain.ok());
  CHECK(plain.error().message == "'" + (dir / "plain") + "' exists and is not a socket");
}

TEST_CASE("status socket: live queries to a status actor", "[actors][status-socket]") {
  test::temp_dir dir;
  auto sock = dir / "status.sock";
  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto pool = spawn_worker_pool(sys);
  status_config sc;
  sc.file = dir / "status.json";
  sc.socket_path = sock;
  sc.pool = pool;
  sc.env = make_system_env();
  auto spawned = spawn_status(sys, sc);
  REQUIRE(spawned);
  auto aut = *spawned;
  caf::anon_send(aut, put_atom::value, md_named("a.example"));

  auto all = query_status_socket(sock, "GET md-status", 2000ms);
  REQUIRE(all.ok());
  auto j = nlohmann::json::parse(*all);
  REQUIRE(j["managed-domains"].size() == 1);
  CHECK(j["managed-domains"][0]["name"] == "a.example");

  auto one = query_status_socket(sock, "GET md-status www.a.example", 2000ms);
  REQUIRE(one.ok());
  CHECK(nlohmann::json::parse(*one)["name"] == "a.example");

  auto snap = query_status_socket(sock, "GET snapshot", 2000ms);
  REQUIRE(snap.ok());
  auto parsed = parse_snapshot(*snap, "socket");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->mds.size() == 1);
  CHECK(parsed->mds[0].md.domains == std::vector<std::string>{"a.example", "www.a.example"});

  auto bad = query_status_socket(sock, "HELLO", 2000ms);
  REQUIRE(!bad.ok());
  CHECK(bad.error().message == "unknown request 'HELLO'");

  auto taken = spawn_status(sys, sc); // the socket is in use
  REQUIRE(!taken);
  CHECK(error_text(taken.error()) == "status socket: '" + sock + "' is in use by another server");

  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  for (int i = 0; i < 200 && exists(sock); ++i) // the listener ends with the actor
    std::this_thread::sleep_for(10ms);
  CHECK(!exists(sock));
  auto after = query_status_socket(sock, "GET md-status", 200ms);
  REQUIRE(!after.ok());
  CHECK(after.error().message == "connect('" + sock + "') failed: No such file or directory");
}

TEST_CASE("status socket: ends when the last handle of the status actor goes",
          "[actors][status-socket]") {
  test::temp_dir dir;
  auto sock = dir / "status.sock";
  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  status_config sc;
  sc.socket_path = sock;
  sc.env = make_system_env();
  {
    auto aut = spawn_status(sys, sc);
    REQUIRE(aut);
    auto r = query_status_socket(sock, "GET md-status", 2000ms);
    REQUIRE(r.ok());
    CHECK(*r == "{\n  \"version\": \"2.6.10\"\n}");
  } // no exit message: the listener holds the actor only weakly
  for (int i = 0; i < 200 && exists(sock); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(!exists(sock));
}
