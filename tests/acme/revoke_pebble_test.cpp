// revokeCert (RFC 8555 §7.6) and keyChange (§7.3.5): the payloads and the inner JWS checked
// directly, then against real pebble (tests/support/pebble.hpp): a certificate revoked with
// the account key and one with its own key (pebble's management API reports them revoked
// with the reason), a key rollover after which the new key orders and the old one is refused.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "acme/http01_responder.hpp"
#include "acme/order.hpp"
#include "acme/revoke.hpp"
#include "core/base64.hpp"
#include "core/certgen.hpp"
#include "core/jws.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;
using namespace std::chrono_literals;

TEST_CASE("revocation reasons are RFC 5280's CRLReason codes", "[acme][revoke]") {
  CHECK(parse_revocation_reason("unspecified") == 0);
  CHECK(parse_revocation_reason("keyCompromise") == 1);
  CHECK(parse_revocation_reason("superseded") == 4);
  CHECK(parse_revocation_reason("cessationOfOperation") == 5);
  CHECK(parse_revocation_reason("aACompromise") == 10);
  CHECK(parse_revocation_reason("4") == 4);
  CHECK_FALSE(parse_revocation_reason("7"));
  CHECK_FALSE(parse_revocation_reason("keycompromise"));
  CHECK(revocation_reason_name(5) == "cessationOfOperation");
  CHECK(revocation_reason_name(7) == "reason 7");
}

TEST_CASE("the revokeCert payload carries the DER leaf and the reason", "[acme][revoke]") {
  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  auto cert = make_fallback_certificate(*key, {"revoke.example.test"}, sys_clock::now());
  REQUIRE(cert);
  auto p = revoke_payload(*cert, 1);
  REQUIRE(p);
  CHECK(p->size() == 2);
  CHECK((*p)["certificate"] == base64url_encode(*cert->to_der()));
  CHECK((*p)["reason"] == 1);
  auto none = revoke_payload(*cert, std::nullopt);
  REQUIRE(none);
  CHECK(none->dump() == nlohmann::json{{"certificate", base64url_encode(*cert->to_der())}}.dump());
}

TEST_CASE("the inner keyChange JWS is signed by the new key and names the old one",
          "[acme][revoke]") {
  auto old_key = private_key::generate(key_spec::ec("P-256"));
  auto new_key = private_key::generate(key_spec::ec("P-384"));
  REQUIRE(old_key);
  REQUIRE(new_key);
  account acct{*old_key, {}};
  acct.file.url = "https://ca.example.test/acct/7";
  auto jws = key_change_jws(acct, *new_key, "https://ca.example.test/key-change");
  REQUIRE(jws);
  auto content = jws_verify(*jws, public_key(*new_key));
  REQUIRE(content);
  CHECK(content->header.value("url", "") == "https://ca.example.test/key-change");
  CHECK(content->header.value("alg", "") == "ES384");
  CHECK_FALSE(content->header.contains("nonce"));
  CHECK_FALSE(content->header.contains("kid"));
  CHECK(content->header["jwk"] == *jwk_of(public_key(*new_key)));
  auto payload = nlohmann::ordered_json::parse(content->payload);
  CHECK(payload.dump() == nlohmann::ordered_json{{"account", "https://ca.example.test/acct/7"},
                                                 {"oldKey", *jwk_of(public_key(*old_key))}}
                              .dump());
  CHECK_FALSE(jws_verify(*jws, public_key(*old_key)));
}

namespace {

/// pebble, an http-01 responder on its validation port, a client and one account.
struct revoke_session {
  test::pebble_fixture pebble;
  std::unique_ptr<http01_responder> http01;
  client c;
  account acct;

  revoke_session()
      : c(transport(pebble.ca_file()), client_options{pebble.directory_url()},
          std::make_shared<system_time_source>()) {
    auto h = http01_responder::start({"127.0.0.1", pebble.http_port()});
    REQUIRE(h);
    http01 = std::move(*h);
    auto key = make_account_key(key_spec::ec("P-256"));
    REQUIRE(key);
    account_options ao;
    ao.contacts = {"admin@example.test"};
    ao.agreement = "accepted";
    auto a = register_account(c, *key, ao);
    REQUIRE(a);
    acct = *a;
  }

  static std::shared_ptr<http_transport> transport(const std::string& ca_file) {
    http_options o;
    o.ca_file = ca_file;
    auto t = httplib_transport::create(o);
    REQUIRE(t);
    return *t;
  }

  order_options order_for(const std::string& name) {
    order_options o;
    o.md_name = name;
    o.domains = {name};
    o.spec = key_spec::ec("P-256");
    o.challenges = {challenge_type::http_01};
    o.setup = http01.get();
    o.poll.total = 60s;
    return o;
  }

  obtained_cert obtain_for(const std::string& name) {
    auto r = obtain(c, acct.as_signer(), order_for(name));
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    return *r;
  }

  nlohmann::json status_of(const certificate& cert) {
    return nlohmann::json::parse(pebble.cert_status(cert.serial_hex()));
  }
};

} // namespace

TEST_CASE("pebble revokes a certificate with the account key or with its own key",
          "[acme][revoke][pebble]") {
  revoke_session s;
  auto first = s.obtain_for("revoke-a.example.test");
  const certificate& leaf = first.chain.front();
  CHECK(s.status_of(leaf)["Status"] == "Valid");

  SECTION("signed by the account (kid), reason superseded") {
    auto r = revoke_certificate(s.c, leaf, 4, s.acct.as_signer());
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    auto st = s.status_of(leaf);
    CHECK(st["Status"] == "Revoked");
    CHECK(st["Reason"] == 4);
    auto again = revoke_certificate(s.c, leaf, 4, s.acct.as_signer());
    REQUIRE_FALSE(again);
    REQUIRE(again.prob());
    CHECK(again.prob()->type == "urn:ietf:params:acme:error:alreadyRevoked");
  }
  SECTION("signed by the certificate's key (jwk), reason keyCompromise") {
    auto r = revoke_certificate(s.c, leaf, 1, signer{first.key, ""});
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    auto st = s.status_of(leaf);
    CHECK(st["Status"] == "Revoked");
    CHECK(st["Reason"] == 1);
  }
  SECTION("a key that is neither the account's nor the certificate's is refused") {
    auto other = private_key::generate(key_spec::ec("P-256"));
    REQUIRE(other);
    auto r = revoke_certificate(s.c, leaf, 1, signer{*other, ""});
    REQUIRE_FALSE(r);
    REQUIRE(r.prob());
    CHECK(r.prob()->type == "urn:ietf:params:acme:error:unauthorized");
    CHECK(s.status_of(leaf)["Status"] == "Valid");
  }
}

TEST_CASE("pebble accepts a key rollover: the new key orders, the old one is refused",
          "[acme][revoke][pebble]") {
  revoke_session s;
  auto new_key = make_account_key(std::nullopt);
  REQUIRE(new_key);
  const account before = s.acct;
  auto rolled = change_account_key(s.c, s.acct, *new_key);
  INFO((rolled ? std::string() : rolled.error().message));
  REQUIRE(rolled);
  CHECK(rolled->url() == before.url());
  CHECK(rolled->key.same_public_key(*new_key));

  auto by_new = create_order(s.c, rolled->as_signer(), s.order_for("rolled.example.test"));
  INFO((by_new ? std::string() : by_new.error().message));
  CHECK(by_new);
  auto by_old = create_order(s.c, before.as_signer(), s.order_for("rolled.example.test"));
  REQUIRE_FALSE(by_old);
  REQUIRE(by_old.prob());
  CHECK(by_old.prob()->type == "urn:ietf:params:acme:error:malformed");
  CHECK(by_old.prob()->http_status == 400);

  auto found = find_account(s.c, *new_key);
  REQUIRE(found);
  CHECK(found->url() == before.url());
  auto old_lookup = find_account(s.c, before.key);
  REQUIRE_FALSE(old_lookup);
  CHECK(old_lookup.prob()->type == "urn:ietf:params:acme:error:accountDoesNotExist");
}
