// The ACME client's observer (client_options::observe) and the result labels it is told
// (acme/request_result.hpp): against the scripted CA of tests/acme/fake_ca.hpp, the exact
// sequence of exchanges with their results for a scripted run (a badNonce retried, a
// rateLimited answer, a body that does not parse, a GET without problem document, a transport
// failure), and the exact counts the engine's counter set (status/acme_requests.hpp) makes of
// them; over real HTTP (tests/acme/scripted_server.hpp) a hanging CA, a refused connection,
// TLS to a plain HTTP port and a 503 directory. Tags [acme][acme-count].
#include <catch2/catch.hpp>

#include <httplib.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "acme/client.hpp"
#include "acme/request_result.hpp"
#include "status/acme_requests.hpp"
#include "tests/acme/fake_ca.hpp"
#include "tests/acme/scripted_server.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;
namespace t = mda::test;

namespace {

/// What an observer was told, in order, and the counts of an engine's counter set.
struct recorder {
  std::mutex mu;
  std::vector<std::pair<request_kind, std::string>> events;
  std::shared_ptr<acme_request_counts> counts = std::make_shared<acme_request_counts>();
  request_observer observer() {
    return [this](const request_event& e) {
      counts->add(e.ca, e.result);
      std::lock_guard<std::mutex> lock(mu);
      events.emplace_back(e.kind, std::string(e.result));
    };
  }
};

problem with_type(const std::string& name) {
  problem p;
  p.type = std::string(acme_error_ns) + name;
  p.http_status = 400;
  return p;
}

problem with_status(int status) {
  problem p;
  p.http_status = status;
  return p;
}

problem without_answer(acme_errc code) {
  problem p;
  p.code = code;
  return p;
}

} // namespace

TEST_CASE("request results: one word of a fixed set per outcome", "[acme][acme-count]") {
  CHECK(request_result_of(with_type("badNonce")) == "badNonce");
  CHECK(request_result_of(with_type("rateLimited")) == "rateLimited");
  CHECK(request_result_of(with_type("unauthorized")) == "unauthorized");
  CHECK(request_result_of(with_type("malformed")) == "malformed");
  CHECK(request_result_of(with_type("alreadyReplaced")) == "alreadyReplaced");
  CHECK(request_result_of(with_type("BADNONCE")) == "badNonce"); // as the CA spells it: one series
  problem old;
  old.type = "urn:acme:error:rateLimited"; // ACME drafts' namespace, as mod_md accepts it
  CHECK(request_result_of(old) == "rateLimited");
  CHECK(request_result_of(with_type("somethingNew")) == "other_problem");
  CHECK(request_result_of(with_type("connection")) == "other_problem"); // a validation's, not ours
  CHECK(request_result_of(with_type("tls")) == "other_problem");
  problem foreign;
  foreign.type = "https://ca.example/errors/quota \"exceeded\"";
  CHECK(request_result_of(foreign) == "other_problem");
  CHECK(request_result_of(with_status(301)) == "http_3xx");
  CHECK(request_result_of(with_status(404)) == "http_4xx");
  CHECK(request_result_of(with_status(429)) == "http_4xx");
  CHECK(request_result_of(with_status(503)) == "http_5xx");
  CHECK(request_result_of(with_status(101)) == "bad_response");
  CHECK(request_result_of(with_status(700)) == "bad_response");
  CHECK(request_result_of(without_answer(acme_errc::connection)) == "connection");
  CHECK(request_result_of(without_answer(acme_errc::bad_url)) == "connection");
  CHECK(request_result_of(without_answer(acme_errc::config)) == "connection");
  CHECK(request_result_of(without_answer(acme_errc::timeout)) == "timeout");
  CHECK(request_result_of(without_answer(acme_errc::tls)) == "tls");
  CHECK(request_result_of(without_answer(acme_errc::body_too_large)) == "bad_response");
  CHECK(request_result_of(without_answer(acme_errc::bad_response)) == "bad_response");

  const auto& all = request_result_labels();
  CHECK(all.size() == 29);
  CHECK(all.front() == "ok");
  for (const problem& p : {with_type("badNonce"), with_type("x"), with_status(404), without_answer(acme_errc::tls)})
    CHECK(std::find(all.begin(), all.end(), request_result_of(p)) != all.end());
}

TEST_CASE("client observer: every exchange of a scripted run with its result", "[acme][acme-count]") {
  auto ca = std::make_shared<t::fake_ca>();
  recorder rec;
  client_options co{ca->dir_url()};
  co.observe = rec.observer();
  client c{ca, co, std::make_shared<manual_time_source>(from_unix(1'800'000'000))};
  const private_key key = *private_key::generate(key_spec::ec("P-256"));
  int bad_nonces = 1;
  ca->routes["https://ca.test/acct"] = [&](const t::fake_post&) {
    if (bad_nonces-- > 0) return t::problem_answer(400, "urn:ietf:params:acme:error:badNonce", "stale");
    return t::json_answer(201, {{"status", "valid"}});
  };
  ca->routes["https://ca.test/order"] = [](const t::fake_post&) {
    auto r = t::problem_answer(429, "urn:ietf:params:acme:error:rateLimited", "too many orders");
    r.headers.emplace("Retry-After", "60");
    return r;
  };
  ca->routes["https://ca.test/x"] = [](const t::fake_post&) {
    auto r = t::json_answer(200, {});
    r.body = "{oops";
    return r;
  };
  ca->fail = [](const http_request& req) -> status {
    if (req.url == "https://ca.test/down") return error(acme_errc::connection, "connection refused");
    return {};
  };

  CHECK(c.post("https://ca.test/acct", {{"termsOfServiceAgreed", true}}, signer{key, ""}).ok());
  const signer who{key, "https://ca.test/acct/1"};
  auto limited = c.post("https://ca.test/order", nlohmann::json::object(), who);
  REQUIRE_FALSE(limited.ok());
  CHECK(limited.error().code == acme_errc::rate_limited);
  auto broken = c.post_as_get("https://ca.test/x", who);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == acme_errc::bad_response);
  auto untyped = c.get("https://ca.test/renewal-info/abc"); // a 404 problem without type
  REQUIRE_FALSE(untyped.ok());
  CHECK(untyped.error().code == acme_errc::not_found);
  auto down = c.post("https://ca.test/down", nlohmann::json::object(), who);
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().code == acme_errc::connection);
  auto nowhere = c.post_as_get("https://ca.test/nowhere", who);
  REQUIRE_FALSE(nowhere.ok());
  CHECK(nowhere.error().code == acme_errc::invalid); // malformed

  using k = request_kind;
  const std::vector<std::pair<request_kind, std::string>> expected{
    {k::directory, "ok"},   {k::new_nonce, "ok"},          {k::post, "badNonce"}, {k::post, "ok"},
    {k::post, "rateLimited"}, {k::post_as_get, "bad_response"}, {k::get, "http_4xx"},
    {k::post, "connection"}, {k::new_nonce, "ok"},          {k::post_as_get, "malformed"}};
  CHECK(rec.events == expected);
  const std::string dir = "https://ca.test/dir";
  const std::vector<acme_request_count> counts{
    {dir, "badNonce", 1}, {dir, "bad_response", 1}, {dir, "connection", 1}, {dir, "http_4xx", 1},
    {dir, "malformed", 1},    {dir, "ok", 4},       {dir, "rateLimited", 1}};
  CHECK(rec.counts->read() == counts);
}

TEST_CASE("client observer: each badNonce attempt counts", "[acme][acme-count]") {
  auto ca = std::make_shared<t::fake_ca>();
  recorder rec;
  client_options co{ca->dir_url()};
  co.max_bad_nonce_retries = 2;
  co.observe = rec.observer();
  client c{ca, co, nullptr};
  const private_key key = *private_key::generate(key_spec::ec("P-256"));
  ca->routes["https://ca.test/x"] = [](const t::fake_post&) {
    return t::problem_answer(400, "urn:ietf:params:acme:error:badNonce", "stale");
  };
  auto r = c.post_as_get("https://ca.test/x", signer{key, "https://ca.test/acct/1"});
  REQUIRE_FALSE(r.ok());
  CHECK(ca->posts.size() == 3);
  const std::string dir = "https://ca.test/dir";
  CHECK(rec.counts->read() == std::vector<acme_request_count>{{dir, "badNonce", 3}, {dir, "ok", 2}});
  CHECK(c.get_directory().ok()); // cached: no exchange, nothing told
  CHECK(rec.events.size() == 5);
}

TEST_CASE("client observer: failures of real HTTP exchanges", "[acme][acme-count][scripted]") {
  t::scripted_server s;
  recorder rec;
  auto client_to = [&](const std::string& url, http_options o = {}) {
    auto transport = httplib_transport::create(o);
    REQUIRE(transport.ok());
    client_options co{url};
    co.observe = rec.observer();
    return std::make_unique<client>(*transport, co, std::make_shared<system_time_source>());
  };
  s.raw_gets["/slow"] = [](httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    res.set_content("{}", "application/json");
  };
  s.raw_gets["/busy"] = [](httplib::Response& res) {
    res.status = 503;
    res.set_content("<html>maintenance</html>", "text/html");
  };
  http_options quick;
  quick.read_timeout = std::chrono::milliseconds(200);
  const std::string base = s.ca->base;
  auto slow = client_to(base + "/slow", quick)->get_directory();
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error().code == acme_errc::timeout);
  auto busy = client_to(base + "/busy")->get_directory();
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().code == acme_errc::again); // a directory's 503: maintenance
  const int closed = t::free_port();
  const std::string refused = "http://127.0.0.1:" + std::to_string(closed) + "/dir";
  auto no_one = client_to(refused)->get_directory();
  REQUIRE_FALSE(no_one.ok());
  CHECK(no_one.error().code == acme_errc::connection);
  const std::string tls = "https://127.0.0.1" + base.substr(base.rfind(':')) + "/dir";
  auto plain = client_to(tls)->get_directory();
  REQUIRE_FALSE(plain.ok());
  CHECK(plain.error().code == acme_errc::tls);
  CHECK(client_to(s.dir_url())->get_directory().ok());
  std::vector<acme_request_count> expected{{base + "/busy", "http_5xx", 1}, {base + "/dir", "ok", 1},
                                           {base + "/slow", "timeout", 1}, {refused, "connection", 1},
                                           {tls, "tls", 1}};
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) { return a.ca < b.ca; });
  CHECK(rec.counts->read() == expected);
}
