// A domain actor with the real store backend, over the real HTTP transport, against scripted
// CAs that answer badly (issue 14, "CA answers bounded and checked"): an authorization for a
// name the order does not have, 10,000 alternate links on the certificate, a 100,000-deep JSON
// array, a Retry-After date in the year 2100, a response head of 1 MB, a server trickling its
// head. Each run fails with its error in staging/<md>/job.json and md-status, and the retry
// policy (MDRetryDelay 30 s, no jitter) schedules the next try. Tag [actors][ca-answers].
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "actors/account.hpp"
#include "actors/ca_policy.hpp"
#include "actors/domain.hpp"
#include "actors/worker_pool.hpp"
#include "core/backoff.hpp"
#include "status/md_status.hpp"
#include "store/fs_store.hpp"
#include "tests/acme/scripted_server.hpp"
#include "tests/actors/actor_fixture.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;
using mda::test::fake_post;
using mda::test::json_answer;
using mda::test::problem_answer;
using mda::test::text_answer;

namespace {

struct null_setup final : acme::challenge_setup {
  bool supports(acme::challenge_type) const override { return true; }
  status setup(const acme::challenge_data&) override { return {}; }
  status teardown(const acme::challenge_data&) override { return {}; }
};

/// An order for a.test and www.a.test that goes through when nothing is changed: two valid
/// authorizations, ready, finalized, valid, the certificate at /cert/1.
void script_order(test::fake_ca& ca) {
  const std::string b = ca.base;
  auto finalized = std::make_shared<bool>(false);
  auto order_obj = [b](const std::string& status) {
    nlohmann::json j = {{"status", status},
                        {"authorizations", {b + "/authz/1", b + "/authz/2"}},
                        {"finalize", b + "/order/1/fin"}};
    if (status == "valid") j["certificate"] = b + "/cert/1";
    return j;
  };
  ca.routes[b + "/order"] = [=](const fake_post&) {
    auto r = json_answer(201, order_obj("pending"));
    r.headers.emplace("Location", b + "/order/1");
    return r;
  };
  for (const auto& [n, name] : {std::pair{1, "a.test"}, std::pair{2, "www.a.test"}})
    ca.routes[b + "/authz/" + std::to_string(n)] = [name = std::string(name)](const fake_post&) {
      return json_answer(200, {{"identifier", {{"type", "dns"}, {"value", name}}},
                               {"status", "valid"},
                               {"challenges", nlohmann::json::array()}});
    };
  ca.routes[b + "/order/1"] = [=](const fake_post&) {
    return json_answer(200, order_obj(*finalized ? "valid" : "ready"));
  };
  ca.routes[b + "/order/1/fin"] = [=](const fake_post&) {
    *finalized = true;
    return json_answer(200, order_obj("processing"));
  };
}

struct ca_answers_fixture : test::actor_fixture {
  sys_time t0 = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  test::temp_dir dir;
  std::shared_ptr<fs_store> st;
  worker_pool_actor pool = spawn_worker_pool(sys, {8, false});
  ca_policy_actor policy =
    spawn_ca_policy(sys, {retry_policy{30s, k_max_retry_delay, 13}, make_test_env(sys, t0, {128})});
  account_actor account;
  domain_actor dom;
  std::vector<md_report> reports;

  ca_answers_fixture() {
    auto opened = fs_store::open(dir / "md");
    REQUIRE(opened);
    st = std::make_shared<fs_store>(std::move(*opened));
  }
  ~ca_answers_fixture() { stop(dom, account, policy, pool); }

  /// Runs the MD a.test against the CA at `dir_url` (its clock at t0) until its first run ends.
  void run_md(const std::string& dir_url, acme::http_options o = {}) {
    o.keep_alive_idle = 0ms; // no idle connection keeps the scripted server waiting when it stops
    auto t = acme::httplib_transport::create(o);
    REQUIRE(t);
    auto client = std::make_shared<acme::client>(*t, acme::client_options{dir_url},
                                                 std::make_shared<manual_time_source>(t0));
    account_grant grant{client, acme::signer{*private_key::generate(key_spec::ec("P-256")), dir_url + "/acct/1"},
                        "ACME-test-0000", dir_url};
    account = spawn_account(sys, account_config{dir_url,
                                                [grant] {
                                                  return account_answer{grant, std::nullopt};
                                                },
                                                pool, make_test_env(sys, t0)});
    store_backend_options bo;
    bo.challenges = [](store&, const managed_domain&) { return std::make_shared<null_setup>(); };
    managed_domain md;
    md.name = "a.test";
    md.domains = {"a.test", "www.a.test"};
    md.ca.urls = {dir_url};
    md.key_specs = {key_spec::ec("P-256")};
    domain_config dc;
    dc.md = md;
    dc.backend = make_store_backend(st, bo);
    dc.io_pool = pool;
    dc.order_pool = pool;
    dc.policy = policy;
    dc.accounts = {{dir_url, account}};
    dc.env = make_test_env(sys, t0);
    dc.activate = true;
    dc.observer = [this](const md_report& r) { reports.push_back(r); };
    dom = spawn_domain(sys, std::move(dc));
    sched.run();
  }

  /// The run failed with `detail` in job.json and md-status, one error, the retry at `retry`.
  void check_failed(const std::string& detail, sys_time retry) {
    REQUIRE(!reports.empty());
    CHECK(reports.back().outcome == md_outcome::failed);
    const auto job = nlohmann::json::parse(test::read_file(dir / "md/staging/a.test/job.json"));
    REQUIRE(job.contains("last"));
    CHECK(job["last"]["detail"] == detail);
    CHECK(job["errors"] == 1);
    CHECK(job["next-run"] == format_rfc822(retry));
    const auto status = md_status_json(status_snapshot{}, make_snapshot(state_of<domain_state>(dom)), false);
    CHECK(status["renewal"]["last"]["detail"] == detail);
    CHECK(status["renewal"]["errors"] == 1);
    CHECK(status["renewal"]["next-run"] == format_rfc822(retry));
    CHECK(state_of<domain_state>(dom).next_run == retry);
  }
};

} // namespace

TEST_CASE_METHOD(ca_answers_fixture, "CA answers: each bad answer is a clear error, retried by the policy",
                 "[actors][ca-answers]") {
  test::scripted_server s;
  script_order(*s.ca);
  const std::string b = s.ca->base;

  SECTION("an authorization for a name the order does not have") {
    s.ca->routes[b + "/authz/1"] = [](const fake_post&) {
      nlohmann::json ch = {{"type", "http-01"}, {"url", "http://x/chal/1"}, {"token", "tok"}, {"status", "pending"}};
      return json_answer(200, {{"identifier", {{"type", "dns"}, {"value", "victim.test"}}},
                               {"status", "pending"},
                               {"challenges", nlohmann::json::array({ch})}});
    };
    run_md(s.dir_url());
    check_failed("authorization " + b + "/authz/1 is for dns 'victim.test', which the order does not have", t0 + 30s);
  }
  SECTION("10,000 alternate links on the certificate") {
    s.ca->routes[b + "/cert/1"] = [](const fake_post&) {
      auto r = text_answer(200, "", "application/pem-certificate-chain"); // never read
      for (int i = 0; i < 10000; ++i)
        r.headers.emplace("Link", "</cert/1/alt/" + std::to_string(i) + ">;rel=\"alternate\"");
      return r;
    };
    run_md(s.dir_url());
    check_failed("response head from " + b + "/cert/1 has more than 100 lines", t0 + 30s);
  }
  SECTION("a 100,000-deep JSON array") {
    s.ca->routes[b + "/order"] = [](const fake_post&) {
      return text_answer(201, std::string(100000, '[') + std::string(100000, ']'), "application/json");
    };
    run_md(s.dir_url());
    check_failed("POST " + b + "/order: the answer from " + b + "/order nests deeper than 64 levels", t0 + 30s);
  }
  SECTION("a Retry-After date in the year 2100 counts as a year") {
    s.ca->routes[b + "/order"] = [](const fake_post&) {
      auto r = problem_answer(429, "urn:ietf:params:acme:error:rateLimited", "too many new orders");
      r.headers.emplace("Retry-After", "Fri, 01 Jan 2100 00:00:00 GMT");
      return r;
    };
    run_md(s.dir_url());
    check_failed("too many new orders", t0 + 366 * 24h);
  }
  SECTION("a response head of 1 MB") {
    s.raw_gets["/dir"] = [](httplib::Response& res) {
      res.set_header("X-Padding", std::string(1024 * 1024, 'x'));
      res.set_content("{}", "application/json");
    };
    run_md(s.dir_url());
    check_failed("response head from " + s.dir_url() + " exceeds 65536 bytes", t0 + 30s);
  }
}

TEST_CASE_METHOD(ca_answers_fixture, "CA answers: a CA trickling its head is given up on, retried by the policy",
                 "[actors][ca-answers]") {
  test::raw_http_server srv("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + std::string(200, 's') +
                              "\r\nContent-Length: 2\r\n\r\n{}",
                            10ms);
  acme::http_options o;
  o.head_timeout = 200ms;
  run_md(srv.base() + "/dir", o);
  check_failed("response head from " + srv.base() + "/dir not complete within 200 ms", t0 + 30s);
}
