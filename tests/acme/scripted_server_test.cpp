// The ACME client over real HTTP against a scripted ACME server: tests/acme/fake_ca.hpp's
// routes served by a cpp-httplib server on 127.0.0.1, reached through the real transport.
// Covers what pebble 2.4.0 cannot do: a directory that is HTML, a CA that hangs, an oversize
// body, rateLimited with Retry-After, ARI renewalInfo, profiles in the directory, malformed
// JSON in an answer. Every error names the CA URL and the step.
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

using namespace mda;
using namespace mda::acme;
using mda::test::fake_ca;
using mda::test::fake_post;
using mda::test::json_answer;
using mda::test::problem_answer;

namespace {

/// fake_ca behind an httplib server: every request is handed to the script as it arrived.
class scripted_server {
 public:
  std::shared_ptr<fake_ca> ca = std::make_shared<fake_ca>();
  /// Replaces the answer for GET `path` (directory faults, renewalInfo).
  std::map<std::string, std::function<void(httplib::Response&)>> raw_gets;

  scripted_server() {
    port_ = svr_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    ca->base = "http://127.0.0.1:" + std::to_string(port_);
    ca->dir = {{"newNonce", ca->base + "/nonce"}, {"newAccount", ca->base + "/acct"},
               {"newOrder", ca->base + "/order"}};
    auto route = [this](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "GET") {
        auto it = raw_gets.find(req.path);
        if (it != raw_gets.end()) return it->second(res);
      }
      acme::http_request r;
      r.method = req.method;
      r.url = ca->base + req.path;
      r.body = req.body;
      r.content_type = req.get_header_value("Content-Type");
      std::lock_guard<std::mutex> lock(mu_);
      auto a = ca->request(r);
      if (!a.ok()) {
        res.status = 500;
        return;
      }
      res.status = a->status;
      std::string type = "application/json";
      for (const auto& [k, v] : a->headers) {
        if (k == "Content-Type") type = v;
        else res.set_header(k.c_str(), v);
      }
      if (req.method != "HEAD") res.set_content(a->body, type.c_str());
    };
    svr_.Get(".*", route);
    svr_.Post(".*", route);
    th_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~scripted_server() {
    svr_.stop();
    th_.join();
  }
  std::string dir_url() const { return ca->dir_url(); }

  client make_client(http_options o = {}) {
    auto t = httplib_transport::create(o);
    REQUIRE(t.ok());
    return client(*t, client_options{dir_url()}, std::make_shared<system_time_source>());
  }

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread th_;
  std::mutex mu_;
};

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
