// Connection reuse of httplib_transport: connections are counted on the server side by the
// client port of each request.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "http/http_client.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;

namespace {

/// An httplib server on 127.0.0.1 that answers GET/POST /n/<x> with x and records the client
/// port of every request (one port = one connection).
struct counting_server {
  httplib::Server& svr;
  std::string scheme;
  int port = -1;
  std::thread th;
  std::mutex mu;
  std::set<int> client_ports;

  explicit counting_server(httplib::Server& s, std::string sch = "http")
      : svr(s), scheme(std::move(sch)) {
    // Ports are recorded in the handlers, before the answer leaves: a logger runs after it,
    // racing with the client's next check.
    auto answer = [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(req.matches[1].str(), "text/plain");
    };
    svr.Get(R"(/n/(\d+))", answer);
    svr.Post(R"(/n/(\d+))", answer);
    svr.Get("/big", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(std::string(default_max_body + 1, 'a'), "text/plain");
    });
    svr.set_keep_alive_max_count(1000); // the default closes after 5 requests
    port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    th = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu);
    client_ports.insert(req.remote_port);
  }
  ~counting_server() {
    svr.stop();
    th.join();
  }
  std::string url(const std::string& path) const {
    return scheme + "://127.0.0.1:" + std::to_string(port) + path;
  }
  std::size_t connections() {
    std::lock_guard<std::mutex> lock(mu);
    return client_ports.size();
  }
};

std::shared_ptr<httplib_transport> make_transport(http_options o = {}) {
  auto t = httplib_transport::create(std::move(o));
  REQUIRE(t.ok());
  return *t;
}

void expect_echo(http_transport& t, const counting_server& s, int n, bool post = false) {
  auto url = s.url("/n/" + std::to_string(n));
  auto r = post ? t.post(url, "{}", "application/jose+json") : t.get(url);
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == std::to_string(n));
}

} // namespace

TEST_CASE("httplib_transport reuses one connection for consecutive requests", "[acme][http]") {
  httplib::Server svr;
  counting_server s(svr);
  auto t = make_transport();
  for (int i = 0; i < 5; ++i) expect_echo(*t, s, i, i % 2 == 1);
  CHECK(s.connections() == 1);
  CHECK(t->clients_created() == 1);

  SECTION("a failed request drops its connection") {
    auto r = t->get(s.url("/big"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == make_error_code(acme_errc::body_too_large));
    expect_echo(*t, s, 7);
    CHECK(s.connections() == 2);
    CHECK(t->clients_created() == 2);
  }
}

TEST_CASE("httplib_transport without keep-alive connects per request", "[acme][http]") {
  httplib::Server svr;
  counting_server s(svr);
  http_options o;
  o.keep_alive_idle = std::chrono::milliseconds(0);
  auto t = make_transport(o);
  for (int i = 0; i < 3; ++i) expect_echo(*t, s, i);
  CHECK(s.connections() == 3);
  CHECK(t->clients_created() == 3);
}

TEST_CASE("httplib_transport reuses TLS connections and survives idle closes", "[acme][http]") {
  test::temp_dir tmp;
  test::make_localhost_tls(tmp.path());
  httplib::SSLServer svr((tmp / "leaf.pem").c_str(), (tmp / "leaf.key").c_str());
  REQUIRE(svr.is_valid());
  svr.set_keep_alive_timeout(1); // closes a connection idle for 1 s
  counting_server s(svr, "https");
  http_options o;
  o.ca_file = tmp / "ca.pem";
  auto t = make_transport(o);
  for (int i = 0; i < 3; ++i) expect_echo(*t, s, i, i == 1);
  CHECK(s.connections() == 1);

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  expect_echo(*t, s, 10, true); // the POST goes out again on a new connection
  expect_echo(*t, s, 11);
  CHECK(s.connections() == 2);
}

TEST_CASE("httplib_transport closes connections idle longer than keep_alive_idle",
          "[acme][http]") {
  httplib::Server svr;
  counting_server s(svr);
  http_options o;
  o.keep_alive_idle = std::chrono::milliseconds(100);
  auto t = make_transport(o);
  expect_echo(*t, s, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  expect_echo(*t, s, 2);
  CHECK(s.connections() == 2);
  CHECK(t->clients_created() == 2);
}

TEST_CASE("httplib_transport shares its connections among threads", "[acme][http]") {
  httplib::Server svr;
  counting_server s(svr);
  auto t = make_transport();
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 10; ++k) {
        auto n = std::to_string(i * 100 + k);
        auto r = k % 2 ? t->post(s.url("/n/" + n), "{}", "application/jose+json")
                       : t->get(s.url("/n/" + n));
        if (r && r->status == 200 && r->body == n) ++good;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(good == 60);
  CHECK(t->clients_created() <= 6);
  CHECK(s.connections() == t->clients_created());
}
