// Orders (acme/order): identifiers, payloads, profiles, order objects, and the whole obtain()
// sequence against a scripted CA (tests/acme/fake_ca.hpp): progress texts, order.json updates,
// CSR, chain download with Link rel="up" and rel="alternate", key mismatch, resume.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include <set>

#include "acme/order.hpp"
#include "core/base64.hpp"
#include "core/certgen.hpp"
#include "tests/acme/fake_ca.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;
using namespace std::chrono_literals;
using mda::test::fake_ca;
using mda::test::fake_post;
using mda::test::json_answer;
using mda::test::text_answer;

namespace {

const sys_time k_now = from_unix(1'800'000'000);

struct null_setup final : challenge_setup {
  std::vector<challenge_data> teardowns;
  bool supports(challenge_type) const override { return true; }
  status setup(const challenge_data&) override { return {}; }
  status teardown(const challenge_data& c) override {
    teardowns.push_back(c);
    return {};
  }
};

} // namespace

TEST_CASE("order: identifiers", "[acme][acme-flow][order]") {
  CHECK(normalize_ip("127.0.0.1") == "127.0.0.1");
  CHECK(normalize_ip("2001:DB8:0:0::1") == "2001:db8::1");
  CHECK(normalize_ip("[::1]") == "::1");
  CHECK(normalize_ip("0:0:0:0:0:ffff:7f00:1") == "::ffff:127.0.0.1");
  CHECK_FALSE(normalize_ip("example.test"));
  CHECK_FALSE(normalize_ip("1.2.3"));

  auto ids = order_identifiers({"Example.TEST.", "www.example.test", "*.example.test",
                                "a.b.example.test", "example.test", "127.0.0.1",
                                "2001:DB8:0:0::1", "[2001:db8::1]"});
  CHECK(ids == std::vector<identifier>{{"dns", "example.test"},
                                       {"dns", "*.example.test"},
                                       {"dns", "a.b.example.test"},
                                       {"ip", "127.0.0.1"},
                                       {"ip", "2001:db8::1"}});
  CHECK(new_order_payload(ids, "", "").dump() ==
        R"({"identifiers":[{"type":"dns","value":"example.test"},{"type":"dns","value":"*.example.test"},)"
        R"({"type":"dns","value":"a.b.example.test"},{"type":"ip","value":"127.0.0.1"},)"
        R"({"type":"ip","value":"2001:db8::1"}]})");
  CHECK(new_order_payload({{"dns", "a.test"}}, "Classic", "AKI.SER").dump() ==
        R"({"identifiers":[{"type":"dns","value":"a.test"}],"profile":"Classic","replaces":"AKI.SER"})");
}

TEST_CASE("order: profiles", "[acme][acme-flow][order]") {
  directory d;
  d.url = "https://ca.test/dir";
  d.profiles = {{"Classic", "the old one"}, {"shortlived", "6 days"}};
  CHECK(*choose_profile(d, "", true) == "");
  CHECK(*choose_profile(d, "classic", false) == "Classic");
  CHECK(*choose_profile(d, "SHORTLIVED", true) == "shortlived");
  CHECK(*choose_profile(d, "tlsserver", false) == "");
  auto m = choose_profile(d, "tlsserver", true);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == acme_errc::invalid);
  CHECK(m.error().message == "the CA at https://ca.test/dir does not offer the profile "
                             "'tlsserver', which is configured as mandatory");
}

TEST_CASE("order: order objects", "[acme][acme-flow][order]") {
  nlohmann::json j = {{"status", "valid"},
                      {"expires", "2027-01-01T00:00:00Z"},
                      {"identifiers", {{{"type", "dns"}, {"value", "a.test"}}}},
                      {"authorizations", {"https://ca.test/authz/1"}},
                      {"finalize", "https://ca.test/order/1/fin"},
                      {"certificate", "https://ca.test/cert/1"}};
  acme_order_file base;
  base.challenge_setups = {"http-01:a.test"};
  auto o = parse_order("https://ca.test/order/1", j, base);
  REQUIRE(o.ok());
  CHECK(o->url == "https://ca.test/order/1");
  CHECK(o->status == order_status::valid);
  CHECK(o->authorizations == std::vector<std::string>{"https://ca.test/authz/1"});
  CHECK(o->finalize == "https://ca.test/order/1/fin");
  CHECK(o->certificate == "https://ca.test/cert/1");
  CHECK(o->challenge_setups == std::vector<std::string>{"http-01:a.test"});

  j["status"] = "done";
  CHECK(parse_order("u", j).error().message == "order at u: unknown status 'done'");
  j.erase("status");
  CHECK(parse_order("u", j).error().message == "order at u: no status");
  j["status"] = "pending";
  j.erase("finalize");
  CHECK(parse_order("u", j).error().message == "order at u: no finalize URL");
}

// --- obtain() against the scripted CA -------------------------------------------------------

namespace {

std::string pem_of(const certificate& c) { return *c.to_pem(); }

struct order_session {
  std::shared_ptr<fake_ca> ca = std::make_shared<fake_ca>();
  std::shared_ptr<manual_time_source> clock = std::make_shared<manual_time_source>(k_now);
  client c{ca, client_options{ca->dir_url()}, clock};
  private_key acct = *private_key::generate(key_spec::ec("P-256"));
  private_key key = *private_key::generate(key_spec::ec("P-256"));
  certificate leaf = *make_fallback_certificate(key, {"a.test", "www.a.test"}, k_now);
  certificate issuer = *make_fallback_certificate(acct, {"issuer.test"}, k_now);
  null_setup setup;
  std::vector<std::string> progress;
  std::vector<acme_order_file> updates;
  std::vector<std::string> order_states = {"ready", "valid"};
  std::size_t order_polls = 0;
  order_options o;

  order_session() {
    o.md_name = "a.test";
    o.domains = {"a.test", "www.a.test"};
    o.spec = key_spec::ec("P-256");
    o.cert_key = key;
    o.setup = &setup;
    o.poll = poll_policy{100ms, 1s, 10s};
    o.sleep = [this](std::chrono::milliseconds d) { clock->advance(d); };
    o.progress = [this](const std::string& s) { progress.push_back(s); };
    o.on_update = [this](const acme_order_file& f) { updates.push_back(f); };
    auto order_obj = [this](const std::string& status) {
      nlohmann::json j = {{"status", status},
                          {"authorizations", {"https://ca.test/authz/1"}},
                          {"finalize", "https://ca.test/order/1/fin"}};
      if (status == "valid") j["certificate"] = "https://ca.test/cert/1";
      return j;
    };
    ca->routes["https://ca.test/order"] = [=](const fake_post&) {
      auto r = json_answer(201, order_obj("pending"));
      r.headers.emplace("Location", "https://ca.test/order/1");
      return r;
    };
    ca->routes["https://ca.test/authz/1"] = [](const fake_post&) {
      return json_answer(200, {{"identifier", {{"type", "dns"}, {"value", "a.test"}}},
                               {"status", "valid"},
                               {"challenges", nlohmann::json::array()}});
    };
    ca->routes["https://ca.test/order/1"] = [=](const fake_post&) {
      return json_answer(200, order_obj(order_states[std::min(order_polls++, order_states.size() - 1)]));
    };
    ca->routes["https://ca.test/order/1/fin"] = [=](const fake_post&) {
      return json_answer(200, order_obj("processing"));
    };
    ca->routes["https://ca.test/cert/1"] = [this](const fake_post&) {
      http_response r;
      r.status = 200;
      r.body = pem_of(leaf);
      r.headers.emplace("Content-Type", "application/pem-certificate-chain");
      r.headers.emplace("Link", "<https://ca.test/issuer>;rel=\"up\"");
      r.headers.emplace("Link", "</cert/1/alt>; rel=\"alternate\"");
      return r;
    };
    ca->routes["https://ca.test/issuer"] = [this](const fake_post&) {
      http_response r;
      r.status = 200;
      r.body = *issuer.to_der();
      r.headers.emplace("Content-Type", "application/pkix-cert");
      return r;
    };
    ca->routes["https://ca.test/cert/1/alt"] = [this](const fake_post&) {
      http_response r;
      r.status = 200;
      r.body = pem_of(leaf) + pem_of(leaf);
      r.headers.emplace("Content-Type", "application/pem-certificate-chain");
      return r;
    };
  }
  auto run() { return obtain(c, signer{acct, "https://ca.test/acct/1"}, o); }
  /// Resume order 1 as a run left it right after the CSR (processing); the CA says valid.
  void resume_finalized() {
    acme_order_file saved;
    saved.url = "https://ca.test/order/1";
    saved.status = order_status::processing;
    saved.finalize = "https://ca.test/order/1/fin";
    o.resume = saved;
    order_states = {"valid"};
  }
};

} // namespace

TEST_CASE("order: obtain against a scripted CA", "[acme][acme-flow][order]") {
  order_session s;

  SECTION("the whole sequence") {
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(s.progress == std::vector<std::string>{
                            "Creating new order, key-spec=p-256, profile=none, replacing-cert=none",
                            "Starting challenges for domains",
                            "Monitoring challenge status for a.test: domain authorization for "
                            "a.test is valid",
                            "Waiting for order to become ready",
                            "Finalizing order for a.test",
                            "Creating P-256 CSR",
                            "Submitting P-256 CSR to CA",
                            "Waiting for finalized order to become valid",
                            "Retrieving P-256 certificate chain for a.test"});
    REQUIRE(r->chain.size() == 2);
    CHECK(r->chain[0].same_as(s.leaf));
    CHECK(r->chain[1].same_as(s.issuer));
    CHECK(r->chain_pem == pem_of(s.leaf) + pem_of(s.issuer));
    REQUIRE(r->alternates.size() == 1);
    CHECK(r->alternates[0].size() == 2);
    CHECK(r->order.status == order_status::valid);
    CHECK(r->order.certificate == "https://ca.test/cert/1");
    REQUIRE_FALSE(s.updates.empty());
    CHECK(s.updates.front().status == order_status::pending);
    CHECK(s.updates.back() == r->order);
    // newOrder payload and the CSR sent to finalize
    const auto& posts = s.ca->posts;
    CHECK(nlohmann::json::parse(posts[0].payload) ==
          nlohmann::json::parse(R"({"identifiers":[{"type":"dns","value":"a.test"},)"
                                R"({"type":"dns","value":"www.a.test"}]})"));
    auto fin = std::find_if(posts.begin(), posts.end(),
                            [](const fake_post& p) { return p.url == "https://ca.test/order/1/fin"; });
    REQUIRE(fin != posts.end());
    auto der = base64url_decode(nlohmann::json::parse(fin->payload)["csr"].get<std::string>());
    REQUIRE(der.ok());
    test::temp_dir tmp;
    test::write_file(tmp / "csr.der", *der);
    auto text = test::run({"openssl", "req", "-inform", "DER", "-in", tmp / "csr.der", "-noout", "-text"});
    CHECK(text.output.find("DNS:a.test, DNS:www.a.test") != std::string::npos);
  }
  SECTION("two pending authorizations: both answered before either is polled, both torn down") {
    std::map<std::string, std::vector<std::string>> states = {
        {"1", {"pending", "pending", "valid"}}, {"2", {"pending", "valid"}}};
    std::map<std::string, std::size_t> served;
    auto authz = [&](const std::string& n, const std::string& dns) {
      return [&, n, dns](const fake_post&) {
        auto& seq = states[n];
        const std::string st = seq[std::min(served[n]++, seq.size() - 1)];
        nlohmann::json ch = {{"type", "http-01"}, {"url", "https://ca.test/chal/" + n},
                             {"token", "tok" + n}, {"status", st == "valid" ? "valid" : "pending"}};
        if (st == "invalid")
          ch["error"] = {{"type", "urn:ietf:params:acme:error:connection"}, {"detail", "refused"}};
        return json_answer(200, {{"identifier", {{"type", "dns"}, {"value", dns}}},
                                 {"status", st},
                                 {"challenges", nlohmann::json::array({ch})}});
      };
    };
    s.ca->routes["https://ca.test/authz/1"] = authz("1", "a.test");
    s.ca->routes["https://ca.test/authz/2"] = authz("2", "www.a.test");
    for (std::string n : {"1", "2"})
      s.ca->routes["https://ca.test/chal/" + n] = [](const fake_post&) { return json_answer(200, {}); };
    s.ca->routes["https://ca.test/order"] = [](const fake_post&) {
      auto r = json_answer(201, {{"status", "pending"},
                                 {"authorizations", {"https://ca.test/authz/1", "https://ca.test/authz/2"}},
                                 {"finalize", "https://ca.test/order/1/fin"}});
      r.headers.emplace("Location", "https://ca.test/order/1");
      return r;
    };
    auto urls = [&] {
      std::vector<std::string> u;
      for (const auto& p : s.ca->posts) u.push_back(p.url);
      return u;
    };
    SECTION("valid") {
      auto r = s.run();
      REQUIRE(r.ok());
      auto u = urls();
      REQUIRE(u.size() >= 8);
      CHECK(std::vector<std::string>(u.begin(), u.begin() + 8) ==
            std::vector<std::string>{"https://ca.test/order", "https://ca.test/authz/1",
                                     "https://ca.test/chal/1", "https://ca.test/authz/2",
                                     "https://ca.test/chal/2", "https://ca.test/authz/1",
                                     "https://ca.test/authz/1", "https://ca.test/authz/2"});
      REQUIRE(s.setup.teardowns.size() == 2);
      CHECK(s.setup.teardowns[0].identifier == "a.test");
      CHECK(s.setup.teardowns[1].identifier == "www.a.test");
      CHECK(r->order.challenge_setups.empty());
    }
    SECTION("the first one invalid: the second is torn down without waiting for it") {
      states["1"] = {"pending", "invalid"};
      auto r = s.run();
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == "authorization of dns 'a.test' is invalid (https://ca.test/authz/1): "
                                 "http-01 urn:ietf:params:acme:error:connection: refused");
      CHECK(urls() == std::vector<std::string>{"https://ca.test/order", "https://ca.test/authz/1",
                                               "https://ca.test/chal/1", "https://ca.test/authz/2",
                                               "https://ca.test/chal/2", "https://ca.test/authz/1"});
      REQUIRE(s.setup.teardowns.size() == 2);
      CHECK(s.setup.teardowns[0].identifier == "a.test");
      CHECK(s.setup.teardowns[1].identifier == "www.a.test");
      CHECK(s.updates.back().challenge_setups.empty());
    }
  }
  SECTION("an authorization for a name the order does not have: nothing set up") {
    // the issue's "CA answers bounded and checked"
    s.ca->routes["https://ca.test/authz/1"] = [](const fake_post&) {
      nlohmann::json ch = {{"type", "http-01"}, {"url", "https://ca.test/chal/1"}, {"token", "tok"}, {"status", "pending"}};
      return json_answer(200, {{"identifier", {{"type", "dns"}, {"value", "victim.test"}}},
                               {"status", "pending"},
                               {"challenges", nlohmann::json::array({ch})}});
    };
    auto r = s.run();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme_errc::bad_response);
    CHECK(r.error().message == "authorization https://ca.test/authz/1 is for dns 'victim.test', which the order "
                               "does not have");
    CHECK(s.setup.teardowns.empty());
  }
  SECTION("10,000 alternate chains: the first 10 are fetched, the rest ignored") {
    s.ca->routes["https://ca.test/cert/1"] = [&s](const fake_post&) {
      auto r = text_answer(200, pem_of(s.leaf) + pem_of(s.issuer), "application/pem-certificate-chain");
      for (int i = 0; i < 10000; ++i) r.headers.emplace("Link", "</cert/1/alt>; rel=\"alternate\"");
      return r;
    };
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(r->alternates.size() == 10);
    CHECK(std::count_if(s.ca->posts.begin(), s.ca->posts.end(),
                        [](const fake_post& p) { return p.url == "https://ca.test/cert/1/alt"; }) == 10);
    CHECK(s.progress.back() == "Certificate at https://ca.test/cert/1 offers 10000 alternate chains: the "
                               "first 10 are looked at");
  }
  // the leaf and n - 1 issuers in one PEM answer
  auto chain_of = [&s](int n) {
    s.ca->routes["https://ca.test/cert/1"] = [&s, n](const fake_post&) {
      std::string pem = pem_of(s.leaf);
      for (int i = 1; i < n; ++i) pem += pem_of(s.issuer);
      return text_answer(200, pem, "application/pem-certificate-chain");
    };
    return s.run();
  };
  SECTION("a chain of 10,000 certificates") {
    auto r = chain_of(10000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme_errc::bad_response);
    CHECK(r.error().message == "certificate at https://ca.test/cert/1: 10000 certificates in the chain, "
                               "more than the 10 accepted");
  }
  SECTION("a chain of 10 certificates is taken") {
    auto r = chain_of(10);
    REQUIRE(r.ok());
    CHECK(r->chain.size() == 10);
  }
  SECTION("more authorizations than identifiers") {
    s.ca->routes["https://ca.test/order"] = [](const fake_post&) {
      nlohmann::json many = nlohmann::json::array();
      for (int i = 0; i < 3; ++i) many.push_back("https://ca.test/authz/" + std::to_string(i));
      auto r = json_answer(201, {{"status", "pending"}, {"authorizations", many}, {"finalize", "https://ca.test/order/1/fin"}});
      r.headers.emplace("Location", "https://ca.test/order/1");
      return r;
    };
    auto r = s.run();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "order https://ca.test/order/1 lists 3 authorizations for 2 identifier(s)");
  }
  SECTION("a chain that does not match the key") {
    s.o.cert_key = *private_key::generate(key_spec::ec("P-256"));
    auto r = s.run();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "the certificate at https://ca.test/cert/1 does not match the key");
  }
  SECTION("profile and replaces when the CA offers them") {
    test::temp_dir tmp;
    auto gen = test::run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp / "k.pem", "-out",
                          tmp / "c.pem", "-subj", "/CN=old.test", "-days", "1"});
    REQUIRE(gen.exit_code == 0);
    auto old = certificate::from_pem(test::read_file(tmp / "c.pem"), "c.pem");
    REQUIRE(old.ok());
    REQUIRE(old->ari_cert_id().ok());
    s.o.predecessor = *old;
    s.o.profile = "CLASSIC";
    s.ca->dir["meta"] = {{"profiles", {{"classic", "x"}}}};
    SECTION("without renewalInfo: no replaces") {
      REQUIRE(s.run().ok());
      auto p = nlohmann::json::parse(s.ca->posts[0].payload);
      CHECK(p["profile"] == "classic");
      CHECK_FALSE(p.contains("replaces"));
    }
    SECTION("with renewalInfo") {
      s.ca->dir["renewalInfo"] = "https://ca.test/ari";
      REQUIRE(s.run().ok());
      auto p = nlohmann::json::parse(s.ca->posts[0].payload);
      CHECK(p["replaces"] == *old->ari_cert_id());
      CHECK(s.progress[0] == "Creating new order, key-spec=p-256, profile=CLASSIC, replacing-cert=" +
                                 *old->ari_cert_id());
    }
  }
  SECTION("resume a valid order: only the download") {
    s.resume_finalized();
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(s.ca->posts[0].url == "https://ca.test/order/1");
    CHECK(s.progress == std::vector<std::string>{"Retrieving P-256 certificate chain for a.test"});
  }
  SECTION("a key made here is kept before the CSR goes out, and a kept one is used") {
    s.o.cert_key.reset();
    std::vector<private_key> kept;
    std::size_t posts_when_kept = 0;
    s.o.keep_key = [&](const private_key& k) {
      kept.push_back(k);
      posts_when_kept = s.ca->posts.size();
      return status{};
    };
    SECTION("none kept: made, kept, then finalized (the leaf does not match it)") {
      s.o.load_key = [] { return std::optional<private_key>{}; };
      auto r = s.run();
      REQUIRE(kept.size() == 1);
      CHECK(kept[0].matches(key_spec::ec("P-256")));
      CHECK(s.ca->posts[posts_when_kept].url == "https://ca.test/order/1/fin");
      REQUIRE_FALSE(r.ok()); // the scripted leaf is for the session's key
      CHECK(r.error().message == "the certificate at https://ca.test/cert/1 does not match the key");
    }
    SECTION("the kept key signs the CSR; nothing new kept") {
      s.o.load_key = [&] { return std::optional<private_key>{s.key}; };
      REQUIRE(s.run().ok());
      CHECK(kept.empty());
    }
    SECTION("keeping fails: the CSR never goes out") {
      s.o.load_key = [] { return std::optional<private_key>{}; };
      s.o.keep_key = [](const private_key&) {
        return status{error(std::make_error_code(std::errc::no_space_on_device), "disk full")};
      };
      auto r = s.run();
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == "keeping the P-256 key of 'a.test': disk full");
      for (const auto& p : s.ca->posts) CHECK(p.url != "https://ca.test/order/1/fin");
    }
  }
  SECTION("resume past finalization: the kept key downloads, no key or another key orders anew") {
    s.resume_finalized();
    s.o.cert_key.reset();
    SECTION("the kept key") {
      s.o.load_key = [&] { return std::optional<private_key>{s.key}; };
      REQUIRE(s.run().ok());
      CHECK(s.progress == std::vector<std::string>{"Retrieving P-256 certificate chain for a.test"});
      for (const auto& p : s.ca->posts) CHECK(p.url != "https://ca.test/order");
    }
    SECTION("no key kept") {
      s.o.load_key = [] { return std::optional<private_key>{}; };
      (void)s.run();
      REQUIRE(s.progress.size() >= 2);
      CHECK(s.progress[0] == "Order https://ca.test/order/1 is past finalization but its certificate "
                             "key is gone: a new order");
      CHECK(s.progress[1] == "Creating new order, key-spec=p-256, profile=none, replacing-cert=none");
      CHECK(s.ca->posts[1].url == "https://ca.test/order");
    }
    SECTION("the key of another order") {
      auto other = private_key::generate(key_spec::ec("P-256"));
      REQUIRE(other.ok());
      s.o.load_key = [&] { return std::optional<private_key>{*other}; };
      auto r = s.run();
      INFO((r ? std::string("ok") : r.error().message));
      REQUIRE(s.progress.size() >= 3);
      CHECK(s.progress[0] == "Retrieving P-256 certificate chain for a.test");
      CHECK(s.progress[1] == "The certificate of order https://ca.test/order/1 was made for another "
                             "key: a new order");
      CHECK(s.progress[2] == "Creating new order, key-spec=p-256, profile=none, replacing-cert=none");
    }
  }
  SECTION("resume a gone order: torn down and created anew") {
    acme_order_file saved;
    saved.url = "https://ca.test/order/404";
    saved.challenge_setups = {"dns-01:a.test TXT1"};
    s.o.resume = saved;
    REQUIRE(s.run().ok());
    REQUIRE(s.setup.teardowns.size() == 1);
    CHECK(s.setup.teardowns[0].token == "TXT1");
    CHECK(s.ca->posts[1].url == "https://ca.test/order");
  }
  SECTION("an invalid order") {
    s.order_states = {"invalid"};
    auto r = s.run();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "the order https://ca.test/order/1 of 'a.test' is invalid");
  }
}
