// The status socket without the engine: the request parser and renderer (pure), the
// listener's bind, the client's errors, timeout and framing.
#include "ipc/status_socket.hpp"

#include <system_error>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "status/md_status.hpp"
#include "tests/ipc/status_socket_fixture.hpp"
#include "tests/support/scripted_socket.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::socket_test;
using namespace std::chrono_literals;

namespace {

/// What the engine's source gives when the status actor cannot answer.
error unavailable(std::string message) {
  return error(std::make_error_code(std::errc::resource_unavailable_try_again), std::move(message));
}

} // namespace

TEST_CASE("status socket: answers to request lines", "[ipc][status-socket]") {
  auto snap = two_mds();
  auto fetch = [&]() -> expected<status_snapshot> { return snap; };
  auto answer = [&](std::string_view line, const md_status_cache* cache = nullptr) {
    return answer_status_request(line, fetch, cache).str();
  };
  CHECK(answer("GET md-status") == ok(render_json(md_status_all_json(snap))));
  CHECK(answer("GET md-status\r") == ok(render_json(md_status_all_json(snap))));
  CHECK(answer("GET md-status www.a.example") == ok(md_status_text(snap, "/www.a.example")));
  CHECK(answer("GET snapshot") == ok(render_json(to_json(snap))));
  CHECK(answer("GET md-status ") == "ERR unknown request 'GET md-status '\n");
  CHECK(answer("PUT x") == "ERR unknown request 'PUT x'\n");
  auto gone = []() -> expected<status_snapshot> {
    return unavailable("the status actor is gone");
  };
  CHECK(answer_status_request("GET snapshot", gone).str() == "ERR the status actor is gone\n");

  // With the actor's fragments "GET md-status" is joined from them, without asking the actor.
  md_status_cache cache;
  CHECK(answer_status_request("GET md-status", gone, &cache).str() == ok("{\n  \"version\": \"2.6.10\"\n}"));
  for (const auto& m : snap.mds) cache.set(m.md.name, md_status_fragment(snap, m));
  const auto joined = answer_status_request("GET md-status", gone, &cache);
  CHECK(joined.str() == ok(render_json(md_status_all_json(snap))));
  CHECK(joined.fragments.size() == 2); // shared with the cache, not copied
  CHECK(joined.pieces().size() == 6);  // status line, head, a, separator, b, tail
  CHECK(answer_status_request("GET md-status www.a.example", gone, &cache).str() ==
        "ERR the status actor is gone\n"); // one MD, with its log: from the actor
  // With `fetch_one` the actor is asked for that MD only; no such MD: all, from the cache.
  std::vector<std::string> asked;
  auto one = [&](const std::string& name) -> expected<status_snapshot> {
    asked.push_back(name);
    status_snapshot s = snap;
    s.mds.clear();
    const md_snapshot* m = find_md_by_name(snap, name);
    if (!m) m = find_md_by_domain(snap, name);
    if (m) s.mds.push_back(*m);
    return s;
  };
  CHECK(answer_status_request("GET md-status WWW.a.example", gone, &cache, one).str() ==
        ok(md_status_text(snap, "/WWW.a.example")));
  CHECK(answer_status_request("GET md-status x/b.example", gone, &cache, one).str() ==
        ok(md_status_text(snap, "/x/b.example")));
  CHECK(answer_status_request("GET md-status nothing.example", gone, &cache, one).str() ==
        ok(render_json(md_status_all_json(snap))));
  CHECK(answer_status_request("GET md-status x/", gone, &cache, one).str() ==
        ok(render_json(md_status_all_json(snap))));
  CHECK(asked == std::vector<std::string>{"WWW.a.example", "b.example", "nothing.example"});
  CHECK(answer_status_request("GET md-status b.example", fetch, &cache, [](const std::string&) {
          return expected<status_snapshot>(unavailable("late"));
        }).str() == "ERR late\n");
  cache.erase("a.example");
  cache.erase("unknown.example");
  CHECK(cache.size() == 1);
  auto only_b = snap;
  only_b.mds.pop_back(); // a.example
  CHECK(answer_status_request("GET md-status", gone, &cache).str() ==
        ok(render_json(md_status_all_json(only_b))));
  cache.close(); // the actor ended
  CHECK(answer_status_request("GET md-status", fetch, &cache).str() == "ERR the status actor is gone\n");
}

TEST_CASE("status socket: GET metrics joins the actor's per-MD samples", "[ipc][status-socket][metrics]") {
  auto snap = two_mds();
  auto gone = []() -> expected<status_snapshot> { return unavailable("the status actor is gone"); };
  engine_figures up;
  up.up = true;
  // without a cache: rendered from the snapshot
  auto fetch = [&]() -> expected<status_snapshot> { return snap; };
  CHECK(answer_status_request("GET metrics", fetch).str() == ok(metrics_text(snap, up, metrics_format::text_004)));
  CHECK(answer_status_request("GET metrics", gone).str() == "ERR the status actor is gone\n");

  md_status_cache cache;
  engine_figures told;
  told.restarts = 3;
  told.started = snap.mds[0].renew_at + std::chrono::hours(1);
  cache.set_engine(told);
  for (const auto& m : snap.mds) cache.set_metrics(m.md.name, md_metrics_fragment(snap, m));
  engine_figures expected_figures = told;
  expected_figures.up = true; // it answers: it is up
  CHECK(answer_status_request("GET metrics", gone, &cache).str() ==
        ok(metrics_text(snap, expected_figures, metrics_format::text_004)));
  CHECK(answer_status_request("GET metrics openmetrics", gone, &cache).str() ==
        ok(metrics_text(snap, expected_figures, metrics_format::openmetrics)));
  cache.erase("a.example");
  auto only_b = snap;
  only_b.mds.pop_back(); // a.example
  CHECK(answer_status_request("GET metrics\r", gone, &cache).str() ==
        ok(metrics_text(only_b, expected_figures, metrics_format::text_004)));
  CHECK(answer_status_request("GET metrics x", gone, &cache).str() == "ERR unknown request 'GET metrics x'\n");
  cache.close();
  CHECK(answer_status_request("GET metrics", fetch, &cache).str() == "ERR the status actor is gone\n");
}

TEST_CASE("status socket: RENEW <md> is passed on as it is", "[ipc][status-socket]") {
  std::vector<std::string> asked;
  renew_request renew = [&](const std::string& name) -> expected<std::string> {
    asked.push_back(name);
    if (name == "busy.example") return error(std::make_error_code(std::errc::invalid_argument), "'busy.example' is busy");
    return "renewal started: " + name;
  };
  auto answer = [&](std::string_view line, const renew_request& r) {
    auto a = answer_renew_request(line, r);
    return a ? a->str() : std::string("(none)");
  };
  CHECK(answer("RENEW a.example\r", renew) == "OK 26\nrenewal started: a.example");
  CHECK(answer("RENEW busy.example", renew) == "ERR 'busy.example' is busy\n");
  CHECK(answer("RENEW ", renew) == "ERR 'RENEW' needs one MD name\n");
  CHECK(answer("RENEW a b", renew) == "ERR 'RENEW' needs one MD name\n");
  CHECK(asked == std::vector<std::string>{"a.example", "busy.example"});
  CHECK(answer("RENEW a.example", {}) == "ERR 'RENEW' is not served here\n");
  CHECK(answer("GET md-status", renew) == "(none)");
  CHECK(answer("RENEWAL a.example", renew) == "(none)");
}

TEST_CASE("status socket: client errors", "[ipc][status-socket]") {
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

TEST_CASE("status socket: the client checks the answer's framing", "[ipc][status-socket]") {
  test::temp_dir dir;
  auto path = dir / "fake.sock";
  const std::string body(3000, 'x');
  { // whole, arriving with the status line: as one string and in pieces of 1,000 bytes
    test::scripted_socket srv(path, ok(body));
    auto r = query_status_socket(path, "GET md-status", 2000ms);
    REQUIRE(r.ok());
    CHECK(*r == body);
  }
  {
    test::scripted_socket srv(path, ok(body));
    auto s = stream(path, "GET md-status", 1000);
    CHECK(s.error == "");
    CHECK(s.pieces == 3);
    CHECK(s.body == body);
  }
  { // bytes after the announced length are not part of the answer
    test::scripted_socket srv(path, ok(body) + "garbage");
    auto r = query_status_socket(path, "GET md-status", 2000ms);
    REQUIRE(r.ok());
    CHECK(*r == body);
  }
  { // an empty body
    test::scripted_socket srv(path, "OK 0\n");
    auto s = stream(path, "GET md-status", 1000);
    CHECK(s.error == "");
    CHECK(s.pieces == 0);
  }
  // the engine gone mid-answer: the stream ends early, which is an error, not a short answer
  const std::string broken = "the answer of '" + path + "' broke off after 2500 of 3000 bytes";
  {
    test::scripted_socket srv(path, "OK 3000\n" + body.substr(0, 2500));
    auto r = query_status_socket(path, "GET md-status", 2000ms);
    REQUIRE(!r.ok());
    CHECK(r.error().message == broken);
    CHECK(r.error().code == std::make_error_code(std::errc::connection_aborted));
  }
  {
    test::scripted_socket srv(path, "OK 3000\n" + body.substr(0, 2500));
    auto s = stream(path, "GET md-status", 1000);
    CHECK(s.error == broken);
    CHECK(s.pieces == 2); // the first 2,000 bytes went out before the break
    CHECK(s.body == body.substr(0, 2000));
  }
  const std::string malformed = "malformed answer from '" + path + "'";
  for (const std::string answer : {"OK\nold framing", "OK x12\n", "OK 12x\n", "OK \n", "HELLO\n", "OK 12",
                                   "OK 99999999999999999999999\n",
                                   "OK 2000000000\n", ""}) {
    test::scripted_socket srv(path, answer);
    auto r = query_status_socket(path, "GET md-status", 2000ms);
    REQUIRE(!r.ok());
    CHECK(r.error().message == malformed);
  }
  {
    test::scripted_socket srv(path, "ERR no snapshot yet\n");
    CHECK(stream(path, "GET md-status", 1000).error == "no snapshot yet");
  }
  {
    test::scripted_socket srv(path, "ERR without line end");
    CHECK(stream(path, "GET md-status", 1000).error == "without line end");
  }
  { // a status line that never ends
    test::scripted_socket srv(path, "OK " + std::string(5000, '1'));
    CHECK(stream(path, "GET md-status", 1000).error == malformed);
  }
}
