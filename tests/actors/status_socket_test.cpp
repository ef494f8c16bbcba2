// The status socket served by the status actor (actors/status.hpp, status_actor_source) on
// CAF's real scheduler: live queries (md-status, metrics, snapshots), the listener ending
// with the actor, many clients at once.
#include "ipc/status_socket.hpp"

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
#include "tests/ipc/status_socket_fixture.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::socket_test;
using namespace std::chrono_literals;

TEST_CASE("status socket: live queries to a status actor", "[actors][status-socket][metrics]") {
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
  { // "GET md-status" reads what the actor has handled, without asking it: let it handle the put
    caf::scoped_actor self{sys};
    self->request(aut, caf::infinite, get_atom::value, stats_atom_v)
      .receive([](status_stats& st) { CHECK(st.updates == 1); }, [](caf::error&) { FAIL("no stats"); });
  }

  auto all = query_status_socket(sock, "GET md-status", 2000ms);
  REQUIRE(all.ok());
  auto j = nlohmann::json::parse(*all);
  REQUIRE(j["managed-domains"].size() == 1);
  CHECK(j["managed-domains"][0]["name"] == "a.example");

  // the engine's metrics: the MD's samples rendered by the actor, its figures as configured
  auto metrics = query_status_socket(sock, "GET metrics", 2000ms);
  REQUIRE(metrics.ok());
  CHECK(metrics->find("\nmdactor_engine_up 1\n") != std::string::npos);
  CHECK(metrics->find("mdactor_engine_restarts") == std::string::npos); // not told: not under Apache
  CHECK(metrics->find("mdactor_managed_domains 1\n") != std::string::npos);
  CHECK(metrics->find("mdactor_md_renewal_state{md=\"a.example\",state=\"ok\"} 1\n") != std::string::npos);

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
  auto bad_stream = stream(sock, "HELLO", 1 << 20);
  CHECK(bad_stream.error == "unknown request 'HELLO'");
  CHECK(bad_stream.pieces == 0);

  { // a large answer in 1 MB pieces, the same bytes as the string answer
    for (int i = 0; i < 4000; ++i) caf::anon_send(aut, put_atom::value, md_named("m" + std::to_string(i) + ".example"));
    caf::scoped_actor self{sys};
    self->request(aut, caf::infinite, get_atom::value, stats_atom_v)
      .receive([](status_stats& st) { CHECK(st.updates == 4001); }, [](caf::error&) { FAIL("no stats"); });
    auto text = query_status_socket(sock, "GET md-status", 2000ms);
    auto pieces = stream(sock, "GET md-status", 1 << 20);
    REQUIRE(text.ok());
    REQUIRE(text->size() > (1u << 20));
    CHECK(pieces.error == "");
    CHECK(pieces.pieces == (text->size() + (1u << 20) - 1) / (1u << 20));
    CHECK(pieces.body == *text);
    CHECK(nlohmann::json::parse(pieces.body)["managed-domains"].size() == 4001);
  }

  { // the socket is in use: a second status actor runs without one, and says why
    std::vector<std::string> warnings;
    auto second = sc;
    second.warn = [&](const std::string& w) { warnings.push_back(w); };
    auto taken = spawn_status(sys, second);
    REQUIRE(taken);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("status socket " + sock + " not available ('" + sock + "' is in use by another server)") == 0);
    caf::anon_send_exit(*taken, caf::exit_reason::user_shutdown);
  }

  caf::anon_send_exit(aut, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  for (int i = 0; i < 200 && exists(sock); ++i) // the listener ends with the actor
    std::this_thread::sleep_for(10ms);
  CHECK(!exists(sock));
  auto after = query_status_socket(sock, "GET md-status", 200ms);
  REQUIRE(!after.ok());
  CHECK(after.error().message == "connect('" + sock + "') failed: No such file or directory");
  CHECK(stream(sock, "GET md-status", 1 << 20, 200ms).error ==
        "connect('" + sock + "') failed: No such file or directory");
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

namespace {

/// Everything the server sends until it closes (waiting at most 5 s per read).
std::string read_to_end(int fd) {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

/// A status actor with a socket and `count` MDs, on CAF's real scheduler.
struct live_status {
  test::temp_dir dir;
  std::string sock = dir / "status.sock";
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  status_actor aut;

  explicit live_status(int count) {
    register_message_types(cfg);
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    status_config sc;
    sc.socket_path = sock;
    sc.env = make_system_env();
    auto spawned = spawn_status(*sys, sc);
    REQUIRE(spawned);
    aut = *spawned;
    for (int i = 0; i < count; ++i)
      caf::anon_send(aut, put_atom::value, md_named("m" + std::to_string(i) + ".example"));
    caf::scoped_actor self{*sys};
    self->request(aut, caf::infinite, get_atom::value, stats_atom_v)
      .receive([&](status_stats& st) { CHECK(st.updates == static_cast<std::size_t>(count)); },
               [](caf::error&) { FAIL("no stats"); });
  }
  ~live_status() { caf::anon_send_exit(aut, caf::exit_reason::user_shutdown); }

  /// md-status of all MDs, as the actor's fragments give it.
  std::string md_status() {
    auto text = query_status_socket(sock, "GET md-status", 5000ms);
    REQUIRE(text.ok());
    return *text;
  }
};

} // namespace

TEST_CASE("status socket: one MD's snapshot for certificate-status", "[actors][status-socket]") {
  live_status live(3);
  auto one = query_status_socket(live.sock, "GET snapshot m1.example", 2000ms);
  REQUIRE(one.ok());
  auto parsed = parse_snapshot(*one, "socket");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->mds.size() == 1);
  CHECK(parsed->mds[0].md.name == "m1.example");
  auto by_domain = query_status_socket(live.sock, "GET snapshot www.m2.example", 2000ms);
  REQUIRE(by_domain.ok());
  REQUIRE(parse_snapshot(*by_domain, "socket")->mds.size() == 1);
  CHECK(parse_snapshot(*by_domain, "socket")->mds[0].md.name == "m2.example");
  auto none = query_status_socket(live.sock, "GET snapshot nothing.example", 2000ms);
  REQUIRE(none.ok());
  CHECK(parse_snapshot(*none, "socket")->mds.empty());
  // by name it came from the actor's texts, by domain from the actor itself: the same MD
  caf::scoped_actor self{*live.sys};
  self->request(live.aut, caf::infinite, get_atom::value, snapshot_atom_v, std::string("m1.example"))
    .receive([&](status_snapshot& s) {
               s.published = parsed->published;
               CHECK(*parsed == s);
             },
             [](caf::error&) { FAIL("no snapshot"); });
  // the pure answer: without a function for one MD nor the MD in a cache, no such request
  auto whole = []() -> expected<status_snapshot> { return two_mds(); };
  CHECK(answer_status_request("GET snapshot a.example", whole).str() ==
        "ERR 'GET snapshot <name>' is not served here\n");
  md_status_cache cache;
  CHECK(!answer_from_cache("GET snapshot a.example", cache));
  status_snapshot kept;
  kept.cert_check_name = "watch";
  kept.cert_check_url = "https://watch.test/?fp=";
  kept.mds.push_back(md_named("a.example"));
  stapling_info st;
  st.domain = "a.example";
  st.id = "0a";
  kept.staplings.push_back(st);
  cache.set_cert_check(kept.cert_check_name, kept.cert_check_url);
  cache.set_snapshot("a.example", {std::make_shared<const std::string>(snapshot_md_text(kept.mds[0])),
                                   {std::make_shared<const std::string>(snapshot_stapling_text(st))}});
  auto from_cache = answer_from_cache("GET snapshot a.example", cache);
  REQUIRE(from_cache);
  auto text = from_cache->str();
  REQUIRE(text.compare(0, 3, "OK ") == 0);
  auto back = parse_snapshot(text.substr(text.find('\n') + 1), "cache");
  REQUIRE(back);
  kept.published = back->published;
  CHECK(*back == kept);
  CHECK(text == ok(render_json(to_json(kept))));
  CHECK(!answer_from_cache("GET snapshot www.a.example", cache)); // by domain: the actor's
  CHECK(!answer_from_cache("GET snapshot ", cache));
  cache.erase("a.example");
  CHECK(!answer_from_cache("GET snapshot a.example", cache));
}

TEST_CASE("status socket: slow clients do not hold up the others", "[actors][status-socket]") {
  live_status live(100);
  const std::string expected = live.md_status();
  REQUIRE(nlohmann::json::parse(expected)["managed-domains"].size() == 100);

  // 50 clients each trickle a byte of "GET md-status\n" every 0.5 s; meanwhile a normal
  // client asks with the workers' timeout (200 ms per wait) and gets the whole answer.
  std::vector<int> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(test::connect_unix(live.sock));
    REQUIRE(slow.back() >= 0);
  }
  const std::string line = "GET md-status\n";
  std::vector<std::string> answers;
  std::vector<std::string> errors;
  for (std::size_t step = 0; step < 4; ++step) { // 2 s: every slow client passes its deadline
    for (int fd : slow) (void)::send(fd, &line[step], 1, MSG_NOSIGNAL);
    const auto until = std::chrono::steady_clock::now() + 500ms;
    while (std::chrono::steady_clock::now() < until) {
      auto got = query_status_socket(live.sock, "GET md-status", 200ms);
      if (got) answers.push_back(*got);
      else errors.push_back(got.error().message);
      std::this_thread::sleep_for(50ms);
    }
  }
  CHECK(errors.empty());
  REQUIRE(answers.size() >= 4);
  for (const auto& a : answers) CHECK(a == expected);
  // each slow client was told why and dropped after 1 s, its line unfinished
  for (int fd : slow) {
    CHECK(read_to_end(fd) == "ERR the request line did not come within 1000 ms\n");
    ::close(fd);
  }
}

TEST_CASE("status socket: a reader that does not read blocks nobody", "[actors][status-socket]") {
  live_status live(24000); // md-status of ~10 MB: more than a socket buffer takes (8 MB)
  const std::string expected = live.md_status();
  REQUIRE(expected.size() > (1u << 20));
  int stuck = test::connect_unix(live.sock);
  REQUIRE(stuck >= 0);
  REQUIRE(::send(stuck, "GET md-status\n", 14, MSG_NOSIGNAL) == 14);
  std::this_thread::sleep_for(100ms); // its answer is written as far as the buffer goes
  for (int i = 0; i < 3; ++i) {
    auto got = query_status_socket(live.sock, "GET md-status", 200ms);
    REQUIRE(got.ok());
    CHECK(*got == expected);
  }
  // it took nothing for a second: dropped, with what fitted in the socket's buffer
  std::this_thread::sleep_for(1500ms);
  const std::string part = read_to_end(stuck);
  ::close(stuck);
  const std::string whole = "OK " + std::to_string(expected.size()) + "\n" + expected;
  CHECK(part.size() < whole.size());
  CHECK(whole.compare(0, part.size(), part) == 0);
}

TEST_CASE("status socket: clients beyond the cap are told so at once", "[actors][status-socket]") {
  live_status live(2);
  std::vector<int> idle;
  for (std::size_t i = 0; i < k_status_max_clients; ++i) {
    idle.push_back(test::connect_unix(live.sock));
    REQUIRE(idle.back() >= 0);
  }
  std::this_thread::sleep_for(100ms); // all accepted
  auto refused = query_status_socket(live.sock, "GET md-status", 200ms);
  REQUIRE(!refused.ok());
  CHECK(refused.error().message == "too many clients at once");
  for (int fd : idle) ::close(fd); // gone: their places are free again
  std::string got;
  for (int i = 0; i < 50 && got.empty(); ++i) {
    std::this_thread::sleep_for(20ms);
    if (auto r = query_status_socket(live.sock, "GET md-status", 200ms)) got = *r;
  }
  CHECK(nlohmann::json::parse(got)["managed-domains"].size() == 2);
}
