// The ACME client over real HTTP against a scripted ACME server: tests/acme/fake_ca.hpp's
// routes served by a cpp-httplib server on 127.0.0.1, reached through the real transport.
// Covers what pebble 2.4.0 cannot do: a directory that is HTML, a CA that hangs, an oversize
// body, rateLimited with Retry-After, ARI renewalInfo, profiles in the directory, malformed
// JSON in an answer; and, with a raw server (tests/acme/scripted_server.hpp), response heads of
// 1 MB or 10,000 lines, heads and bodies trickled a byte at a time, endless chunk framing.
// Every error names the CA URL and the step.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "acme/account.hpp"
#include "acme/ari.hpp"
#include "acme/client.hpp"
#include "acme/problem.hpp"
#include "tests/acme/fake_ca.hpp"
#include "tests/acme/scripted_server.hpp"

using namespace mda;
using namespace mda::acme;
using mda::test::fake_ca;
using mda::test::fake_post;
using mda::test::json_answer;
using mda::test::problem_answer;
using mda::test::raw_http_server;
using mda::test::scripted_server;

namespace {

const private_key& account_key() {
  static private_key k = *private_key::generate(key_spec::ec("P-256"));
  return k;
}

} // namespace

TEST_CASE("scripted server: a directory that is HTML", "[acme][scripted]") {
  scripted_server s;
  s.raw_gets["/dir"] = [](httplib::Response& res) {
    res.set_content("<html><body>Welcome</body></html>", "text/html");
  };
  auto c = s.make_client();
  auto d = c.get_directory();
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == make_error_code(acme_errc::bad_response));
  CHECK(d.error().message ==
        "ACME directory at " + s.dir_url() + " is not a JSON object (content type 'text/html')");
}

TEST_CASE("scripted server: a CA that hangs", "[acme][scripted]") {
  scripted_server s;
  s.raw_gets["/dir"] = [](httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    res.set_content("{}", "application/json");
  };
  http_options o;
  o.read_timeout = std::chrono::milliseconds(200);
  auto c = s.make_client(o);
  auto d = c.get_directory();
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == make_error_code(acme_errc::timeout));
  CHECK(d.error().message ==
        "Unsuccessful in contacting ACME server at " + s.dir_url() + ": no answer within 200 ms");
}

TEST_CASE("scripted server: an oversize answer", "[acme][scripted]") {
  scripted_server s;
  s.raw_gets["/dir"] = [](httplib::Response& res) {
    res.set_content(std::string(2 * default_max_body, ' ') + "{}", "application/json");
  };
  auto c = s.make_client();
  auto d = c.get_directory();
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == make_error_code(acme_errc::body_too_large));
  CHECK(d.error().message == "response body from " + s.dir_url() + " exceeds 1048576 bytes");
}

TEST_CASE("scripted server: rateLimited with Retry-After", "[acme][scripted]") {
  scripted_server s;
  s.ca->routes[s.ca->base + "/acct"] = [](const fake_post&) {
    auto r = problem_answer(429, "urn:ietf:params:acme:error:rateLimited",
                            "too many new registrations from this IP");
    r.headers.emplace("Retry-After", "3600");
    return r;
  };
  auto c = s.make_client();
  const sys_time before = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  account_options opts;
  opts.contacts = {"admin@example.org"};
  auto a = register_account(c, account_key(), opts);
  REQUIRE_FALSE(a.ok());
  REQUIRE(a.prob());
  const problem& p = *a.prob();
  CHECK(p.type == "urn:ietf:params:acme:error:rateLimited");
  CHECK(p.http_status == 429);
  CHECK(p.url == s.ca->base + "/acct");
  const classification cl = classify(p);
  CHECK(cl.rate_limited);
  CHECK_FALSE(cl.input_related);
  REQUIRE(cl.retry_after);
  CHECK(*cl.retry_after >= before + std::chrono::seconds(3600));
  CHECK(*cl.retry_after <= before + std::chrono::seconds(3602));
  CHECK(a.error().message.find("too many new registrations from this IP") != std::string::npos);
  CHECK(a.error().message.find(s.ca->base + "/acct") != std::string::npos);
}

TEST_CASE("scripted server: malformed JSON in an answer names the step", "[acme][scripted]") {
  scripted_server s;
  s.ca->routes[s.ca->base + "/acct"] = [](const fake_post&) {
    acme::http_response r;
    r.status = 201;
    r.body = "{\"status\": \"valid\", ";
    r.headers.emplace("Content-Type", "application/json");
    r.headers.emplace("Location", "http://x/acct/1");
    return r;
  };
  auto c = s.make_client();
  account_options opts;
  opts.contacts = {"admin@example.org"};
  auto a = register_account(c, account_key(), opts);
  REQUIRE_FALSE(a.ok());
  CHECK(a.error().code == make_error_code(acme_errc::bad_response));
  CHECK(a.error().message.find(s.ca->base + "/acct") != std::string::npos);
}

TEST_CASE("scripted server: ARI and profiles in the directory", "[acme][scripted]") {
  scripted_server s;
  s.ca->dir["renewalInfo"] = s.ca->base + "/ari";
  s.ca->dir["meta"] = {{"profiles", {{"classic", "the old one"}, {"shortlived", "6 days"}}}};
  s.raw_gets["/ari/aaaa.bbbb"] = [](httplib::Response& res) {
    res.set_header("Retry-After", "21600");
    res.set_content(R"({"suggestedWindow":{"start":"2026-01-01T00:00:00+02:00",)"
                    R"("end":"2026-01-02T00:00:00Z"},"explanationURL":"https://ca.test/why"})",
                    "application/json");
  };
  auto c = s.make_client();
  auto d = c.get_directory();
  REQUIRE(d.ok());
  CHECK(d->has_renewal_info());
  CHECK(d->find_profile("ShortLived") == std::optional<std::string>("shortlived"));
  CHECK_FALSE(d->find_profile("tlsserver"));

  const std::string url = renewal_info_url(d->renewal_info, "aaaa.bbbb");
  CHECK(url == s.ca->base + "/ari/aaaa.bbbb");
  auto res = c.get(url);
  REQUIRE(res.ok());
  const sys_time now = from_unix(1767000000);
  auto info = renewal_info_from_response(*res, now);
  REQUIRE(info.ok());
  CHECK(to_unix(info->window_start) == 1767218400); // 2025-12-31T22:00:00Z
  CHECK(to_unix(info->window_end) == 1767312000);   // 2026-01-02T00:00:00Z
  CHECK(info->explanation_url == "https://ca.test/why");
  CHECK(info->next_check == now + std::chrono::seconds(21600));
}

// --- response heads bounded in size and time (http/response_stream.hpp) ---------------------

namespace {

/// GET `path` from `srv` through a transport with the options `o`.
expected<http_response> get_from(const raw_http_server& srv, const std::string& path, const http_options& o) {
  auto t = httplib_transport::create(o);
  REQUIRE(t.ok());
  return (*t)->get(srv.base() + path);
}

} // namespace

TEST_CASE("scripted server: a response head of 1 MB is refused", "[acme][scripted][bounds]") {
  scripted_server s;
  s.raw_gets["/dir"] = [](httplib::Response& res) {
    res.set_header("X-Padding", std::string(1024 * 1024, 'x'));
    res.set_content("{}", "application/json");
  };
  auto d = s.make_client().get_directory();
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == make_error_code(acme_errc::bad_response));
  CHECK(d.error().message == "response head from " + s.dir_url() + " exceeds 65536 bytes");
}

TEST_CASE("scripted server: 10,000 header lines are refused", "[acme][scripted][bounds]") {
  scripted_server s;
  s.raw_gets["/dir"] = [](httplib::Response& res) {
    for (int i = 0; i < 10000; ++i)
      res.headers.emplace("Link", "</cert/alt/" + std::to_string(i) + ">;rel=\"alternate\"");
    res.set_content("{}", "application/json");
  };
  auto d = s.make_client().get_directory();
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == make_error_code(acme_errc::bad_response));
  CHECK(d.error().message == "response head from " + s.dir_url() + " has more than 100 lines");
}

TEST_CASE("scripted server: a head trickled a byte at a time meets the head deadline",
          "[acme][scripted][bounds]") {
  // every byte comes well within the stall timeout (30 s), the whole head does not
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " +
                           std::string(200, 's') + "\r\nContent-Length: 2\r\n\r\n{}";
  raw_http_server srv(head, std::chrono::milliseconds(10));
  http_options o;
  o.head_timeout = std::chrono::milliseconds(200);
  auto r = get_from(srv, "/dir", o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == make_error_code(acme_errc::timeout));
  CHECK(r.error().message == "response head from " + srv.base() + "/dir not complete within 200 ms");
}

TEST_CASE("scripted server: a trickled response meets the overall deadline", "[acme][scripted][bounds]") {
  const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" + std::string(300, ' ');
  SECTION("the head already: the overall deadline is the earlier one") {
    raw_http_server srv(answer, std::chrono::milliseconds(10));
    http_options o;
    o.total_timeout = std::chrono::milliseconds(200);
    auto r = get_from(srv, "/x", o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == make_error_code(acme_errc::timeout));
    CHECK(r.error().message == "response from " + srv.base() + "/x took longer than 200 ms");
  }
  SECTION("at once: the same answer passes") {
    raw_http_server srv(answer, std::chrono::milliseconds(0));
    http_options o;
    o.total_timeout = std::chrono::milliseconds(2000);
    auto r = get_from(srv, "/x", o);
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body == std::string(300, ' '));
  }
}

TEST_CASE("scripted server: a chunked body whose framing never ends is cut at the cap",
          "[acme][scripted][bounds]") {
  // one chunk-size line of 2 MiB: no decoded byte, but the wire is bounded all the same
  const std::string answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1" + std::string(2 * 1024 * 1024, '0');
  raw_http_server srv(answer, std::chrono::milliseconds(0));
  auto r = get_from(srv, "/x", {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == make_error_code(acme_errc::body_too_large));
  CHECK(r.error().message == "response body from " + srv.base() + "/x exceeds 1114112 bytes on the wire");
}
