// Authorizations (acme/authz): parsing, challenge choice, the mismatch text, the poll schedule,
// challenge-setup entries, and authorize() against a scripted CA (tests/acme/fake_ca.hpp).
#include <catch2/catch.hpp>

#include <set>

#include "acme/authz.hpp"
#include "acme/order.hpp"
#include "core/jws.hpp"
#include "tests/acme/fake_ca.hpp"

using namespace mda;
using namespace mda::acme;
using namespace std::chrono_literals;
using mda::test::fake_ca;
using mda::test::fake_post;
using mda::test::json_answer;

namespace {

const sys_time k_now = from_unix(1'800'000'000);

nlohmann::json authz_json(const std::string& status, const std::string& value = "a.test",
                          bool wildcard = false, const std::string& type = "dns") {
  nlohmann::json j = {
      {"identifier", {{"type", type}, {"value", value}}},
      {"status", status},
      {"expires", "2027-01-15T10:00:00Z"},
      {"challenges",
       {{{"type", "http-01"}, {"url", "https://ca.test/chal/h"}, {"token", "tokH"}, {"status", "pending"}},
        {{"type", "dns-01"}, {"url", "https://ca.test/chal/d"}, {"token", "tokD"}, {"status", "pending"}},
        {{"type", "tls-alpn-01"}, {"url", "https://ca.test/chal/t"}, {"token", "tokT"}, {"status", "pending"}}}}};
  if (wildcard) j["wildcard"] = true;
  return j;
}

authorization parsed(const nlohmann::json& j) {
  auto a = parse_authorization("https://ca.test/authz/1", j);
  REQUIRE(a.ok());
  return *a;
}

struct recording_setup final : challenge_setup {
  std::set<challenge_type> types{challenge_type::http_01, challenge_type::tls_alpn_01,
                                 challenge_type::dns_01};
  std::set<challenge_type> failing;
  std::vector<challenge_data> setups, teardowns;
  bool supports(challenge_type t) const override { return types.count(t) > 0; }
  status setup(const challenge_data& c) override {
    setups.push_back(c);
    if (failing.count(c.type)) return error(acme_errc::config, "no way");
    return {};
  }
  status teardown(const challenge_data& c) override {
    teardowns.push_back(c);
    return {};
  }
};

std::function<bool(challenge_type)> all_supported() {
  return [](challenge_type) { return true; };
}

} // namespace

TEST_CASE("authz: parse", "[acme][acme-flow][authz]") {
  auto j = authz_json("pending", "example.test", true);
  j["challenges"][0]["error"] = {{"type", "urn:ietf:params:acme:error:connection"},
                                 {"detail", "refused"}};
  auto a = parsed(j);
  CHECK(a.ident == identifier{"dns", "example.test"});
  CHECK(a.status == "pending");
  CHECK(a.wildcard);
  CHECK(a.expires == parse_rfc3339("2027-01-15T10:00:00Z").value());
  REQUIRE(a.challenges.size() == 3);
  CHECK(a.challenges[1].type == "dns-01");
  CHECK(a.challenges[1].url == "https://ca.test/chal/d");
  CHECK(a.challenges[1].token == "tokD");
  REQUIRE(a.challenges[0].error);
  CHECK(a.challenges[0].error->detail == "refused");

  auto bad = parse_authorization("https://ca.test/authz/2", {{"status", "valid"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == acme_errc::bad_response);
  CHECK(bad.error().message == "authorization at https://ca.test/authz/2: no identifier");
  auto nochal = authz_json("valid");
  nochal.erase("challenges");
  CHECK(parse_authorization("u", nochal).error().message == "authorization at u: no challenges");
}

TEST_CASE("authz: challenge choice", "[acme][acme-flow][authz]") {
  auto a = parsed(authz_json("pending")); // offers http-01 (0), dns-01 (1), tls-alpn-01 (2)
  using v = std::vector<std::size_t>;
  using ct = challenge_type;
  CHECK(choose_challenges(a, {}, all_supported()) == v{2, 0, 1}); // tls-alpn-01, http-01, dns-01
  CHECK(choose_challenges(a, std::vector<ct>{ct::dns_01, ct::http_01}, all_supported()) == v{1, 0});
  CHECK(choose_challenges(a, {}, [](ct t) { return t == ct::http_01; }) == v{0});
  CHECK(choose_challenges(parsed(authz_json("pending", "a.test", true)), {}, all_supported()) ==
        v{1});
  CHECK(choose_challenges(parsed(authz_json("pending", "a.test", true)), std::vector<ct>{ct::http_01},
                          all_supported())
            .empty());
  CHECK(choose_challenges(parsed(authz_json("pending", "127.0.0.1", false, "ip")), {},
                          all_supported()) == v{2, 0});
  auto j = authz_json("pending");
  j["challenges"][0]["status"] = "invalid";
  j["challenges"][2]["type"] = "tls-sni-01";
  CHECK(choose_challenges(parsed(j), {}, all_supported()) == v{1});
  CHECK(choose_challenges(a, std::vector<ct>{}, all_supported()).empty()); // configured: none known

  CHECK(challenge_mismatch_message(a, {ct::tls_alpn_01, ct::http_01}) ==
        "None of offered challenge types for domain a.test are supported. The server offered "
        "'http-01 dns-01 tls-alpn-01' and available are: 'tls-alpn-01 http-01'.");
}

TEST_CASE("authz: poll schedule", "[acme][acme-flow][authz]") {
  poll_policy p; // 100 ms doubling to 10 s, 300 s in total
  CHECK(next_poll_delay(p, 0, 0ms, {}, k_now) == 100ms);
  CHECK(next_poll_delay(p, 3, 0ms, {}, k_now) == 800ms);
  CHECK(next_poll_delay(p, 7, 0ms, {}, k_now) == 10s);
  CHECK(next_poll_delay(p, 60, 0ms, {}, k_now) == 10s);
  CHECK(next_poll_delay(p, 0, 0ms, k_now + 30s, k_now) == 30s);
  CHECK(next_poll_delay(p, 5, 0ms, k_now - 5s, k_now) == 100ms);
  CHECK(next_poll_delay(p, 7, 295s, {}, k_now) == 5s);
  CHECK(next_poll_delay(p, 0, 299'950ms, k_now + 60s, k_now) == 50ms);
  CHECK_FALSE(next_poll_delay(p, 0, 300s, {}, k_now));
  CHECK_FALSE(next_poll_delay(p, 0, 301s, k_now + 1s, k_now));

  manual_time_source clock(k_now);
  std::vector<std::chrono::milliseconds> slept;
  poller w(poll_policy{100ms, 400ms, 1s}, clock, [&](std::chrono::milliseconds d) {
    slept.push_back(d);
    clock.advance(d);
  });
  while (w.wait(std::nullopt)) {
  }
  CHECK(slept == std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 300ms});
}

TEST_CASE("authz: challenge-setups entries", "[acme][acme-flow][authz]") {
  challenge_data d;
  d.type = challenge_type::dns_01;
  d.identifier = "a.test";
  d.key_authorization = "tok.thumb";
  CHECK(challenge_setup_entry(d) == "dns-01:a.test " + dns01_txt_value("tok.thumb"));
  d.type = challenge_type::http_01;
  CHECK(challenge_setup_entry(d) == "http-01:a.test");

  auto back = challenge_data_from_entry("dns-01:a.test TXTVALUE", "md1");
  REQUIRE(back.ok());
  CHECK(back->type == challenge_type::dns_01);
  CHECK(back->identifier == "a.test");
  CHECK(back->token == "TXTVALUE");
  CHECK(back->key_authorization.empty());
  CHECK(back->md_name == "md1");
  auto ip = challenge_data_from_entry("tls-alpn-01:::1", "md1");
  REQUIRE(ip.ok());
  CHECK(ip->identifier == "::1");
  CHECK(ip->is_ip);
  CHECK(challenge_data_from_entry("dns-01:a.test", "m").error().message ==
        "not a challenge setup entry: 'dns-01:a.test'");
  CHECK_FALSE(challenge_data_from_entry("foo-01:a.test", "m").ok());
}

// --- authorize() against the scripted CA ----------------------------------------------------

namespace {

struct authz_session {
  std::shared_ptr<fake_ca> ca = std::make_shared<fake_ca>();
  std::shared_ptr<manual_time_source> clock = std::make_shared<manual_time_source>(k_now);
  client c{ca, client_options{ca->dir_url()}, clock};
  private_key key = *private_key::generate(key_spec::ec("P-256"));
  signer who{key, "https://ca.test/acct/1"};
  recording_setup setup;
  std::vector<std::string> progress, entries;
  std::vector<std::chrono::milliseconds> slept;
  authz_context ctx;

  authz_session() {
    ctx.setup = &setup;
    ctx.md_name = "md1";
    ctx.poll = poll_policy{100ms, 10s, 5s};
    ctx.sleep = [this](std::chrono::milliseconds d) {
      slept.push_back(d);
      clock->advance(d);
    };
    ctx.progress = [this](const std::string& s) { progress.push_back(s); };
    ctx.on_setup = [this](const std::string& e) { entries.push_back(e); };
  }
  auto run() { return authorize(c, who, "https://ca.test/authz/1", ctx); }
};

} // namespace

TEST_CASE("authz: authorize", "[acme][acme-flow][authz]") {
  authz_session s;
  std::vector<nlohmann::json> answers; // successive answers of the authorization URL
  std::size_t served = 0;
  s.ca->routes["https://ca.test/authz/1"] = [&](const fake_post&) {
    auto r = json_answer(200, answers[std::min(served++, answers.size() - 1)]);
    if (served == 2) r.headers.emplace("Retry-After", "2");
    return r;
  };
  s.ca->routes["https://ca.test/chal/h"] = [](const fake_post&) { return json_answer(200, {}); };
  s.ca->routes["https://ca.test/chal/t"] = [](const fake_post&) { return json_answer(200, {}); };

  SECTION("valid: nothing to do") {
    answers = {authz_json("valid")};
    REQUIRE(s.run().ok());
    CHECK(s.setup.setups.empty());
    CHECK(s.ca->posts.size() == 1);
  }
  SECTION("pending: set up, respond, poll with Retry-After, tear down") {
    s.ctx.challenges = {challenge_type::http_01};
    answers = {authz_json("pending"), authz_json("pending"), authz_json("valid")};
    auto a = s.run();
    REQUIRE(a.ok());
    CHECK(a->status == "valid");
    REQUIRE(s.setup.setups.size() == 1);
    const auto& d = s.setup.setups[0];
    CHECK(d.type == challenge_type::http_01);
    CHECK(d.identifier == "a.test");
    CHECK(d.token == "tokH");
    CHECK(d.key_authorization == "tokH." + *jwk_thumbprint(public_key(s.key)));
    CHECK(d.md_name == "md1");
    CHECK(s.setup.teardowns.size() == 1);
    CHECK(s.entries == std::vector<std::string>{"http-01:a.test"});
    CHECK(s.progress == std::vector<std::string>{"Setting up challenge 'http-01' for domain a.test"});
    REQUIRE(s.ca->posts.size() == 4);
    CHECK(s.ca->posts[1].url == "https://ca.test/chal/h");
    CHECK(s.ca->posts[1].payload == "{}");
    CHECK(s.slept == std::vector<std::chrono::milliseconds>{100ms, 2000ms});
  }
  SECTION("a failing setup: the next type is tried") {
    s.setup.failing = {challenge_type::tls_alpn_01};
    answers = {authz_json("pending"), authz_json("valid")};
    REQUIRE(s.run().ok());
    REQUIRE(s.setup.setups.size() == 2);
    CHECK(s.setup.setups[1].type == challenge_type::http_01);
    CHECK(s.ca->posts[1].url == "https://ca.test/chal/h");
  }
  SECTION("every setup fails") {
    s.setup.types = {challenge_type::http_01};
    s.setup.failing = {challenge_type::http_01};
    answers = {authz_json("pending")};
    auto a = s.run();
    REQUIRE_FALSE(a.ok());
    CHECK(a.prob()->type == "challenge-setup-failure");
    CHECK(a.error().message == "setting up a challenge for domain 'a.test' failed: no way");
  }
  SECTION("invalid: the challenge's error") {
    auto bad = authz_json("invalid");
    bad["challenges"][0]["status"] = "invalid";
    bad["challenges"][0]["error"] = {{"type", "urn:ietf:params:acme:error:unauthorized"},
                                     {"detail", "wrong answer"}};
    answers = {authz_json("pending"), bad};
    s.ctx.challenges = {challenge_type::http_01};
    auto a = s.run();
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().code == acme_errc::unauthorized);
    CHECK(a.error().message ==
          "authorization of dns 'a.test' is invalid (https://ca.test/authz/1): http-01 "
          "urn:ietf:params:acme:error:unauthorized: wrong answer");
    CHECK(a.prob()->short_type() == "unauthorized");
    CHECK(s.setup.teardowns.size() == 1);
  }
  SECTION("no challenge in common") {
    s.setup.types = {challenge_type::dns_01};
    s.ctx.challenges = {challenge_type::http_01, challenge_type::dns_01};
    answers = {authz_json("pending", "127.0.0.1", false, "ip")};
    auto a = s.run();
    REQUIRE_FALSE(a.ok());
    CHECK(a.prob()->type == "challenge-mismatch");
    CHECK(a.error().message ==
          "None of offered challenge types for domain 127.0.0.1 are supported. The server "
          "offered 'http-01 dns-01 tls-alpn-01' and available are: 'dns-01'.");
    CHECK(s.ca->posts.size() == 1);
  }
  SECTION("MDCAChallenges with no type we know: challenge-mismatch, not the defaults") {
    // mod_md's suite, 702_006: "MDCAChallenges invalid-01 invalid-02"
    auto none = effective_challenges({"invalid-01", "invalid-02"}, {});
    REQUIRE(none.ok());
    CHECK(none->empty());
    s.ctx.challenges = *none;
    answers = {authz_json("pending")};
    auto a = s.run();
    REQUIRE_FALSE(a.ok());
    CHECK(a.prob()->type == "challenge-mismatch");
    CHECK(s.setup.setups.empty());
    CHECK(s.ca->posts.size() == 1);
  }
  SECTION("the wait is bounded") {
    answers = {authz_json("pending")};
    auto a = s.run();
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().code == acme_errc::timeout);
    CHECK(a.error().message ==
          "timeout waiting for the authorization of 'a.test' to become valid "
          "(https://ca.test/authz/1)");
    std::chrono::milliseconds total{0};
    for (auto d : s.slept) total += d;
    CHECK(total == 5s);
    CHECK(s.setup.teardowns.size() == 1);
  }
}

TEST_CASE("effective challenges: configured as is, the automatic list filtered as mod_md does",
          "[acme][authz]") {
  using acme::challenge_abilities;
  using acme::challenge_type;
  using acme::effective_challenges;
  challenge_abilities all{true, true, true, true};
  // MDCAChallenges is not filtered (unknown names skipped)
  auto c = effective_challenges({"dns-01", "bogus", "tls-alpn-01"}, challenge_abilities{false, false, false, false});
  REQUIRE(c);
  CHECK(*c == std::vector<challenge_type>{challenge_type::dns_01, challenge_type::tls_alpn_01});
  // automatic: everything possible
  c = effective_challenges({}, all);
  REQUIRE(c);
  CHECK(*c == std::vector<challenge_type>{challenge_type::tls_alpn_01, challenge_type::http_01,
                                          challenge_type::dns_01});
  // no acme-tls/1 vhost, no dns-01 command: http-01 only
  c = effective_challenges({}, challenge_abilities{true, true, false, false});
  REQUIRE(c);
  CHECK(*c == std::vector<challenge_type>{challenge_type::http_01});
  // not reachable on 80, no acme-tls/1, no command: nothing left, every reason named
  c = effective_challenges({}, challenge_abilities{false, true, false, false});
  REQUIRE_FALSE(c);
  CHECK(c.error().message ==
        "None of the ACME challenge methods configured for this domain are suitable. The http: "
        "challenge 'http-01' is disabled because the server seems not reachable on public port 80. "
        "The https: challenge 'tls-alpn-01' is disabled because the Protocols configuration does "
        "not include the 'acme-tls/1' protocol. The DNS challenge 'dns-01' is disabled because the "
        "directive 'MDChallengeDns01' is not configured.");
  // neither port: the MDPortMap advice
  c = effective_challenges({}, challenge_abilities{false, false, true, false});
  REQUIRE_FALSE(c);
  CHECK(c.error().message.rfind("the server seems neither reachable via http (port 80) nor https (port 443).", 0) == 0);
  // neither port, but a dns-01 command: dns-01
  c = effective_challenges({}, challenge_abilities{false, false, true, true});
  REQUIRE(c);
  CHECK(*c == std::vector<challenge_type>{challenge_type::dns_01});
}
