#include <catch2/catch.hpp>

#include "acme/directory.hpp"

using namespace mda;
using namespace mda::acme;

namespace {

const std::string k_url = "https://ca.test/directory";

http_response answer(int status, const std::string& media, const std::string& body) {
  http_response r;
  r.url = k_url;
  r.status = status;
  if (!media.empty()) r.headers.emplace("Content-Type", media);
  r.body = body;
  return r;
}

} // namespace

TEST_CASE("parse_directory reads resources and meta", "[acme][directory]") {
  auto d = parse_directory(k_url, R"({
    "newNonce": "https://ca.test/acme/new-nonce",
    "newAccount": "https://ca.test/acme/new-acct",
    "newOrder": "https://ca.test/acme/new-order",
    "revokeCert": "https://ca.test/acme/revoke-cert",
    "keyChange": "https://ca.test/acme/key-change",
    "renewalInfo": "https://ca.test/acme/renewal-info",
    "AbCdEf": "https://community.letsencrypt.org/t/adding-random-entries-to-the-directory/33417",
    "meta": {
      "termsOfService": "https://ca.test/terms.pdf",
      "website": "https://ca.test",
      "caaIdentities": ["ca.test", 7, "other.test"],
      "externalAccountRequired": true,
      "profiles": {"classic": "The usual", "tlsserver": "Short-lived", "odd": 1}
    }})");
  REQUIRE(d.ok());
  CHECK(d->url == k_url);
  CHECK(d->new_nonce == "https://ca.test/acme/new-nonce");
  CHECK(d->new_account == "https://ca.test/acme/new-acct");
  CHECK(d->new_order == "https://ca.test/acme/new-order");
  CHECK(d->revoke_cert == "https://ca.test/acme/revoke-cert");
  CHECK(d->key_change == "https://ca.test/acme/key-change");
  CHECK(d->renewal_info == "https://ca.test/acme/renewal-info");
  CHECK(d->has_renewal_info());
  CHECK(d->terms_of_service == "https://ca.test/terms.pdf");
  CHECK(d->website == "https://ca.test");
  CHECK(d->caa_identities == std::vector<std::string>{"ca.test", "other.test"});
  CHECK(d->external_account_required);
  using profile = std::pair<std::string, std::string>;
  CHECK(d->profiles == std::vector<profile>{{"classic", "The usual"},
                                            {"tlsserver", "Short-lived"},
                                            {"odd", ""}});
  CHECK(d->find_profile("TLSServer") == std::optional<std::string>("tlsserver"));
  CHECK(d->find_profile("classic") == std::optional<std::string>("classic"));
  CHECK_FALSE(d->find_profile("shortlived").has_value());
}

TEST_CASE("parse_directory accepts a minimal (pebble-like) directory", "[acme][directory]") {
  auto d = parse_directory(k_url, R"({
    "keyChange": "https://127.0.0.1:14000/rollover-account-key",
    "meta": {"externalAccountRequired": false,
             "termsOfService": "data:text/plain,Do%20what%20thou%20wilt"},
    "newAccount": "https://127.0.0.1:14000/sign-me-up",
    "newNonce": "https://127.0.0.1:14000/nonce-plz",
    "newOrder": "https://127.0.0.1:14000/order-plz",
    "revokeCert": "https://127.0.0.1:14000/revoke-cert"})");
  REQUIRE(d.ok());
  CHECK_FALSE(d->has_renewal_info());
  CHECK(d->profiles.empty());
  CHECK(d->terms_of_service == "data:text/plain,Do%20what%20thou%20wilt");
  CHECK_FALSE(d->external_account_required);
  CHECK(d->caa_identities.empty());
}

TEST_CASE("parse_directory refuses ACMEv1 and incomplete directories", "[acme][directory]") {
  struct row { const char* body; acme_errc code; std::string message; };
  const row rows[] = {
      {R"({"new-reg":"https://ca.test/acme/new-reg","new-cert":"https://ca.test/acme/new-cert",
           "new-authz":"https://ca.test/acme/new-authz","revoke-cert":"https://ca.test/r"})",
       acme_errc::obsolete,
       "the ACME server at " + k_url + " speaks ACMEv1 (\"new-reg\", \"new-cert\"), an obsolete "
       "version of the protocol; configure its ACMEv2 directory URL"},
      {R"({"newAccount":"https://ca.test/a"})", acme_errc::bad_response,
       "Unable to understand ACME server response from " + k_url + ": the directory lacks "
       "\"newNonce\", \"newOrder\". Wrong ACME protocol version or link?"},
      {R"({})", acme_errc::bad_response,
       "Unable to understand ACME server response from " + k_url + ": the directory lacks "
       "\"newNonce\", \"newAccount\", \"newOrder\". Wrong ACME protocol version or link?"},
      {R"({"newNonce":"https://n","newAccount":"https://a","newOrder":5})",
       acme_errc::bad_response, "ACME directory at " + k_url + ": \"newOrder\" is not a string"},
      {R"({"newNonce":"/nonce","newAccount":"https://a","newOrder":"https://o"})",
       acme_errc::bad_response,
       "ACME directory at " + k_url + ": \"newNonce\" is not an absolute http(s) URL: '/nonce'"},
      {R"(["newNonce"])", acme_errc::bad_response, "ACME directory at " + k_url + " is not a JSON object"},
      {"", acme_errc::bad_response, "ACME directory at " + k_url + " is not a JSON object"},
  };
  for (const auto& r : rows) {
    INFO(r.body);
    auto d = parse_directory(k_url, r.body);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == make_error_code(r.code));
    CHECK(d.error().message == r.message);
  }
}

TEST_CASE("directory_from_response checks status and content", "[acme][directory]") {
  auto d = directory_from_response(answer(
      200, "application/json",
      R"({"newNonce":"https://n.test/","newAccount":"https://a.test/","newOrder":"https://o.test/"})"));
  REQUIRE(d.ok());
  CHECK(d->new_order == "https://o.test/");

  d = directory_from_response(answer(200, "text/html; charset=utf-8", "<html><body>Hi</body></html>"));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == make_error_code(acme_errc::bad_response));
  CHECK(d.error().message ==
        "ACME directory at " + k_url + " is not a JSON object (content type 'text/html')");

  d = directory_from_response(answer(503, "text/plain", "maintenance"));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == make_error_code(acme_errc::again));
  CHECK(d.error().message == "The ACME server at " + k_url + " reports that Service is "
                             "Unavailable (503). This may happen during maintenance for short "
                             "periods of time.");

  d = directory_from_response(answer(404, "text/html", "not found"));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == make_error_code(acme_errc::again));
  CHECK(d.error().message ==
        "The ACME server at " + k_url + " responded with HTTP status 404. This is unusual. "
        "Please verify that the URL is correct and that you can indeed make requests from the "
        "server to it by other means, e.g. invoking curl/wget.");
}
