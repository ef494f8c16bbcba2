// The ACME session (acme/client) and accounts (acme/account) against a scripted CA
// (tests/acme/fake_ca.hpp): directory cache, nonce pool use, badNonce retry, problems, kid vs
// jwk, registration payloads, ToS refusal, EAB, lookup, contact update, deactivation.
#include <catch2/catch.hpp>

#include "acme/account.hpp"
#include "acme/client.hpp"
#include "core/jws.hpp"
#include "tests/acme/fake_ca.hpp"

using namespace mda;
using namespace mda::acme;
using mda::test::fake_ca;
using mda::test::fake_post;
using mda::test::json_answer;
using mda::test::problem_answer;

namespace {

const sys_time k_now = from_unix(1'800'000'000);

struct session {
  std::shared_ptr<fake_ca> ca = std::make_shared<fake_ca>();
  std::shared_ptr<manual_time_source> clock = std::make_shared<manual_time_source>(k_now);
  client c{ca, client_options{ca->dir_url()}, clock};
};

const private_key& ec_key() {
  static private_key k = *private_key::generate(key_spec::ec("P-256"));
  return k;
}

http_response created(const std::string& location, const nlohmann::json& body) {
  auto r = json_answer(201, body);
  r.headers.emplace("Location", location);
  return r;
}

} // namespace

TEST_CASE("client: the directory is fetched once", "[acme][acme-flow][client]") {
  session s;
  auto d1 = s.c.get_directory();
  auto d2 = s.c.get_directory();
  REQUIRE(d1.ok());
  REQUIRE(d2.ok());
  CHECK(d2->new_order == "https://ca.test/order");
  CHECK(s.ca->gets == 1);
  s.c.reset_directory();
  REQUIRE(s.c.get_directory().ok());
  CHECK(s.ca->gets == 2);
}

TEST_CASE("client: a directory that fails is an error, not cached", "[acme][acme-flow][client]") {
  session s;
  s.ca->dir = {{"newNonce", "x"}};
  auto d = s.c.get_directory();
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == acme_errc::bad_response);
  CHECK_FALSE(d.prob().has_value());
}

TEST_CASE("client: nonces come from HEAD newNonce once, then from every answer",
          "[acme][acme-flow][client]") {
  session s;
  s.ca->routes["https://ca.test/x"] = [](const fake_post&) { return json_answer(200, {{"a", 1}}); };
  signer who{ec_key(), "https://ca.test/acct/1"};
  auto r1 = s.c.post("https://ca.test/x", {{"k", "v"}}, who);
  auto r2 = s.c.post_as_get("https://ca.test/x", who);
  REQUIRE(r1.ok());
  REQUIRE(r2.ok());
  CHECK(r1->body == nlohmann::json{{"a", 1}});
  CHECK(s.ca->heads == 1);
  REQUIRE(s.ca->posts.size() == 2);
  CHECK(s.ca->posts[0].header["nonce"] == "nonce1");
  CHECK(s.ca->posts[1].header["nonce"] == "nonce2");
  CHECK(s.ca->posts[0].payload == R"({"k":"v"})");
  CHECK(s.ca->posts[1].payload == "");
  CHECK(s.ca->log[2].content_type == "application/jose+json");
  CHECK(s.c.nonces().size() == 1); // nonce3 waits for the next request
}

TEST_CASE("client: kid or jwk in the protected header", "[acme][acme-flow][client]") {
  session s;
  s.ca->routes["https://ca.test/x"] = [](const fake_post&) { return json_answer(200, {}); };
  REQUIRE(s.c.post("https://ca.test/x", nlohmann::json::object(), signer{ec_key(), ""}).ok());
  REQUIRE(s.c.post_as_get("https://ca.test/x", signer{ec_key(), "https://ca.test/acct/7"}).ok());
  const auto& h1 = s.ca->posts[0].header;
  const auto& h2 = s.ca->posts[1].header;
  CHECK(h1["alg"] == "ES256");
  CHECK(h1["url"] == "https://ca.test/x");
  CHECK(h1["jwk"] == nlohmann::json(*jwk_of(ec_key())));
  CHECK_FALSE(h1.contains("kid"));
  CHECK(h2["kid"] == "https://ca.test/acct/7");
  CHECK_FALSE(h2.contains("jwk"));
  // The signature is real.
  auto v = jws_verify(nlohmann::ordered_json(s.ca->posts[1].jws), public_key(ec_key()));
  CHECK(v.ok());
}

TEST_CASE("client: badNonce is retried with the fresh nonce, bounded", "[acme][acme-flow][client]") {
  session s;
  int bad = 2;
  s.ca->routes["https://ca.test/x"] = [&](const fake_post&) {
    if (bad-- > 0) return problem_answer(400, "urn:ietf:params:acme:error:badNonce", "stale");
    return json_answer(200, {});
  };
  signer who{ec_key(), "https://ca.test/acct/1"};

  SECTION("recovers") {
    auto r = s.c.post_as_get("https://ca.test/x", who);
    REQUIRE(r.ok());
    REQUIRE(s.ca->posts.size() == 3);
    CHECK(s.ca->posts[0].header["nonce"] == "nonce1");
    CHECK(s.ca->posts[1].header["nonce"] == "nonce2"); // from the badNonce answer
    CHECK(s.ca->posts[2].header["nonce"] == "nonce3");
    CHECK(s.ca->heads == 1);
  }
  SECTION("gives up after max_bad_nonce_retries") {
    bad = 100;
    auto r = s.c.post_as_get("https://ca.test/x", who);
    REQUIRE_FALSE(r.ok());
    CHECK(s.ca->posts.size() == 10);
    CHECK(r.error().code == acme_errc::again);
    CHECK(r.error().message ==
          "acme problem urn:ietf:params:acme:error:badNonce: stale (HTTP 400 from "
          "https://ca.test/x)");
    REQUIRE(r.prob().has_value());
    CHECK(r.prob()->short_type() == "badNonce");
    CHECK(classify(*r.prob()).immediate);
  }
}

TEST_CASE("client: problems travel with the failure", "[acme][acme-flow][client]") {
  session s;
  signer who{ec_key(), "https://ca.test/acct/1"};

  SECTION("rateLimited with Retry-After and subproblems") {
    s.ca->routes["https://ca.test/x"] = [](const fake_post&) {
      auto r = json_answer(429,
                           {{"type", "urn:ietf:params:acme:error:rateLimited"},
                            {"detail", "too many"},
                            {"subproblems",
                             {{{"type", "urn:ietf:params:acme:error:rejectedIdentifier"},
                               {"detail", "no"},
                               {"identifier", {{"type", "dns"}, {"value", "a.test"}}}}}}},
                           "application/problem+json");
      r.headers.emplace("Retry-After", "120");
      return r;
    };
    auto r = s.c.post("https://ca.test/x", nlohmann::json::object(), who);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme_errc::rate_limited);
    REQUIRE(r.prob());
    CHECK(r.prob()->http_status == 429);
    CHECK(r.prob()->retry_after == k_now + std::chrono::seconds(120));
    REQUIRE(r.prob()->subproblems.size() == 1);
    CHECK(r.prob()->subproblems[0].ident == identifier{"dns", "a.test"});
    CHECK(r.error().message ==
          "acme problem urn:ietf:params:acme:error:rateLimited: too many; dns 'a.test': "
          "urn:ietf:params:acme:error:rejectedIdentifier: no (HTTP 429 from https://ca.test/x)");
  }
  SECTION("a status without a problem document") {
    s.ca->routes["https://ca.test/x"] = [](const fake_post&) {
      http_response r;
      r.status = 403;
      r.body = "<html>no</html>";
      r.headers.emplace("Content-Type", "text/html");
      return r;
    };
    auto r = s.c.post_as_get("https://ca.test/x", who);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme_errc::unauthorized);
    CHECK(r.error().message == "unexpected HTTP 403 from https://ca.test/x");
  }
  SECTION("a transport failure has a problem without type") {
    s.ca->fail = [](const http_request& req) -> status {
      if (req.method == "POST") return error(acme_errc::connection, "connection refused");
      return {};
    };
    auto r = s.c.post_as_get("https://ca.test/x", who);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme_errc::connection);
    CHECK(r.error().message == "connection refused");
    REQUIRE(r.prob());
    CHECK(r.prob()->type == "");
    CHECK(r.prob()->url == "https://ca.test/x");
  }
  SECTION("a 2xx JSON answer that does not parse") {
    s.ca->routes["https://ca.test/x"] = [](const fake_post&) {
      auto r = json_answer(200, {});
      r.body = "{oops";
      return r;
    };
    auto r = s.c.post_as_get("https://ca.test/x", who);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme_errc::bad_response);
    CHECK(r.error().message ==
          "POST https://ca.test/x: the answer from https://ca.test/x is not JSON");
  }
}

TEST_CASE("client: json_body and retry_after_of", "[acme][acme-flow][client]") {
  http_response r;
  r.url = "https://ca.test/y";
  r.body = "{\"a\":1}";
  CHECK(*json_body(r, "step") == nlohmann::json{{"a", 1}});
  r.headers.emplace("Content-Type", "text/html");
  auto e = json_body(r, "step");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message ==
        "step: the answer from https://ca.test/y has content type 'text/html', expected JSON");
  CHECK_FALSE(retry_after_of(r, k_now));
  r.headers.emplace("Retry-After", "7");
  CHECK(retry_after_of(r, k_now) == k_now + std::chrono::seconds(7));
}

// --- accounts -------------------------------------------------------------------------------

TEST_CASE("account: contact URIs and keys", "[acme][acme-flow][client][account]") {
  CHECK(contact_uri("admin@example.test") == "mailto:admin@example.test");
  CHECK(contact_uri(" mailto:admin@example.test ") == "mailto:admin@example.test");
  CHECK(contact_uri("tel:+123") == "tel:+123");
  CHECK(contact_uri("a:b@c.test") == "a:b@c.test");
  CHECK(contact_uri("1x:y@z.test") == "mailto:1x:y@z.test");

  auto rsa = make_account_key();
  REQUIRE(rsa.ok());
  CHECK(rsa->is_rsa());
  CHECK(rsa->bits() == 3072);
  auto p384 = make_account_key(key_spec::ec("secp384r1"));
  REQUIRE(p384.ok());
  CHECK(p384->bits() == 384);
  auto p521 = make_account_key(key_spec::ec("P-521"));
  REQUIRE_FALSE(p521.ok());
  CHECK(p521.error().code == acme_errc::config);
  CHECK(p521.error().message == "unsupported account key curve 'P-521' (RSA, P-256 or P-384 are possible)");
}

TEST_CASE("account: registration", "[acme][acme-flow][client][account]") {
  session s;
  const std::string tos = "https://ca.test/tos.pdf";
  s.ca->dir["meta"] = {{"termsOfService", tos}};
  s.ca->routes["https://ca.test/acct"] = [](const fake_post& p) {
    auto payload = nlohmann::json::parse(p.payload);
    return created("/acct/1", {{"status", "valid"},
                               {"contact", payload["contact"]},
                               {"orders", "https://ca.test/acct/1/orders"}});
  };
  account_options opts;
  opts.contacts = {"admin@example.test", "mailto:ops@example.test"};

  SECTION("refused without agreement when the CA has terms of service") {
    auto a = register_account(s.c, ec_key(), opts);
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().code == acme_errc::invalid);
    CHECK(a.error().message ==
          "the CA requires you to accept the terms-of-service as specified in "
          "<https://ca.test/tos.pdf>. Please read the document that you find at that URL and, "
          "if you agree to the conditions, configure \"MDCertificateAgreement accepted\" in "
          "your Apache. Then (graceful) restart the server to activate.");
    CHECK(s.ca->posts.empty());
  }
  SECTION("with agreement") {
    opts.agreement = "accepted";
    auto a = register_account(s.c, ec_key(), opts);
    REQUIRE(a.ok());
    REQUIRE(s.ca->posts.size() == 1);
    CHECK(nlohmann::json::parse(s.ca->posts[0].payload) ==
          nlohmann::json{{"contact", {"mailto:admin@example.test", "mailto:ops@example.test"}},
                         {"termsOfServiceAgreed", true}});
    CHECK(s.ca->posts[0].header.contains("jwk"));
    CHECK(a->url() == "https://ca.test/acct/1");
    CHECK(a->file.ca_url == "https://ca.test/dir");
    CHECK(a->file.status == account_status::valid);
    CHECK(a->file.agreement == tos);
    CHECK(a->file.orders == "https://ca.test/acct/1/orders");
    CHECK(a->file.contact ==
          std::vector<std::string>{"mailto:admin@example.test", "mailto:ops@example.test"});
    CHECK(a->as_signer().kid == "https://ca.test/acct/1");
  }
  SECTION("no termsOfServiceAgreed when the CA has no terms") {
    s.ca->dir.erase("meta");
    auto a = register_account(s.c, ec_key(), opts);
    REQUIRE(a.ok());
    CHECK(nlohmann::json::parse(s.ca->posts[0].payload) ==
          nlohmann::json{{"contact", {"mailto:admin@example.test", "mailto:ops@example.test"}}});
    CHECK(a->file.agreement == "");
  }
  SECTION("no contacts") {
    opts.contacts.clear();
    opts.agreement = "accepted";
    auto a = register_account(s.c, ec_key(), opts);
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().message ==
          "no contact information is available for a new account at https://ca.test/dir: "
          "configure one using the MDContactEmail or ServerAdmin directive");
  }
  SECTION("external account binding") {
    opts.agreement = "accepted";
    const std::string hmac_key = "secret-hmac-key-bytes-0123456789";
    opts.eab = eab_credentials{"kid-1", base64url_encode(hmac_key)};
    auto a = register_account(s.c, ec_key(), opts);
    REQUIRE(a.ok());
    auto payload = nlohmann::ordered_json::parse(s.ca->posts[0].payload);
    REQUIRE(payload.contains("externalAccountBinding"));
    auto v = jws_verify_hmac(payload["externalAccountBinding"], hmac_key);
    REQUIRE(v.ok());
    CHECK(v->header["kid"] == "kid-1");
    CHECK(v->header["url"] == "https://ca.test/acct");
    CHECK(nlohmann::json::parse(v->payload) == nlohmann::json(*jwk_of(ec_key())));
    CHECK(a->file.eab_kid == "kid-1");
    CHECK(a->file.eab_hmac == base64url_encode(hmac_key));
  }
}

TEST_CASE("account: lookup, update, deactivation", "[acme][acme-flow][client][account]") {
  session s;
  bool exists = true;
  s.ca->routes["https://ca.test/acct"] = [&](const fake_post&) {
    if (!exists)
      return problem_answer(400, "urn:ietf:params:acme:error:accountDoesNotExist", "unknown");
    auto r = json_answer(200, {{"status", "valid"}, {"contact", {"mailto:a@x.test"}}});
    r.headers.emplace("Location", "https://ca.test/acct/9");
    return r;
  };
  s.ca->routes["https://ca.test/acct/9"] = [](const fake_post& p) {
    nlohmann::json obj = {{"status", "valid"}, {"contact", {"mailto:a@x.test"}}};
    if (!p.payload.empty()) {
      auto j = nlohmann::json::parse(p.payload);
      if (j.contains("contact")) obj["contact"] = j["contact"];
      if (j.contains("status")) obj["status"] = j["status"];
    }
    return json_answer(200, obj);
  };

  auto found = find_account(s.c, ec_key());
  REQUIRE(found.ok());
  CHECK(nlohmann::json::parse(s.ca->posts[0].payload) ==
        nlohmann::json{{"onlyReturnExisting", true}});
  CHECK(s.ca->posts[0].header.contains("jwk"));
  CHECK(found->url() == "https://ca.test/acct/9");
  CHECK(found->file.contact == std::vector<std::string>{"mailto:a@x.test"});

  auto fetched = fetch_account(s.c, *found);
  REQUIRE(fetched.ok());
  CHECK(s.ca->posts[1].payload == "");
  CHECK(s.ca->posts[1].header["kid"] == "https://ca.test/acct/9");

  auto updated = update_contacts(s.c, *found, {"b@x.test"});
  REQUIRE(updated.ok());
  CHECK(nlohmann::json::parse(s.ca->posts[2].payload) ==
        nlohmann::json{{"contact", {"mailto:b@x.test"}}});
  CHECK(updated->file.contact == std::vector<std::string>{"mailto:b@x.test"});

  auto gone = deactivate_account(s.c, *updated);
  REQUIRE(gone.ok());
  CHECK(nlohmann::json::parse(s.ca->posts[3].payload) ==
        nlohmann::json{{"status", "deactivated"}});
  CHECK(gone->file.status == account_status::deactivated);
  CHECK(to_json(gone->file)["status"] == "deactivated");

  exists = false;
  auto missing = find_account(s.c, ec_key());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == acme_errc::not_found);
  CHECK(missing.prob()->short_type() == "accountDoesNotExist");
}

TEST_CASE("client: a payload that cannot be serialized", "[acme][acme-flow][client]") {
  session s;
  auto r = s.c.post("https://ca.test/x", {{"contact", "\xff\xfe"}}, signer{ec_key(), ""});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == acme_errc::invalid);
  CHECK(r.error().message.rfind("POST https://ca.test/x: cannot serialize the payload: ", 0) == 0);
  CHECK(s.ca->posts.empty());
}
