#include <catch2/catch.hpp>

#include <functional>

#include <openssl/ocsp.h>

#include "ocsp/fetch.hpp"
#include "tests/ocsp/ocsp_fixture.hpp"

using namespace mda;
using namespace mda::ocsp;
using namespace std::chrono;
using mda::test::ocsp::make_pki;
using mda::test::ocsp::make_response;
using mda::test::ocsp::response_options;

namespace {

/// A transport that records the request and answers with a function of it.
struct fake_transport final : acme::http_transport {
  std::function<expected<acme::http_response>(const acme::http_request&)> answer;
  acme::http_request seen;
  expected<acme::http_response> request(const acme::http_request& req) override {
    seen = req;
    return answer(req);
  }
};

/// The nonce of a DER OCSPRequest (the octets inside the extension's OCTET STRING).
std::string request_nonce(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OCSP_REQUEST* req = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size()));
  REQUIRE(req);
  int idx = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
  REQUIRE(idx >= 0);
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, idx));
  std::string out(reinterpret_cast<const char*>(v->data) + 2, static_cast<size_t>(v->length) - 2);
  OCSP_REQUEST_free(req);
  return out;
}

acme::http_response answer(int status, const std::string& type, std::string body) {
  acme::http_response r;
  r.status = status;
  if (!type.empty()) r.headers.emplace("Content-Type", type);
  r.body = std::move(body);
  return r;
}

} // namespace

TEST_CASE("ocsp fetch: POST application/ocsp-request, checked answer", "[ocsp]") {
  const auto now = from_unix(to_unix(sys_clock::now()));
  auto pki = make_pki(now);
  fetch_params params;
  params.responder_url = "http://127.0.0.1:9/ocsp";
  params.id = *cert_id::make(pki.leaf.cert, pki.inter.cert);
  params.issuer = pki.inter.cert;
  params.now = now;
  const std::string suffix = " (OCSP responder 'http://127.0.0.1:9/ocsp')";

  fake_transport http;
  SECTION("a good response echoing the random nonce") {
    http.answer = [&](const acme::http_request& req) -> expected<acme::http_response> {
      response_options o;
      o.this_update = now - minutes(1);
      o.next_update = now + hours(12);
      o.nonce = request_nonce(req.body);
      return answer(200, "application/ocsp-response", make_response(params.id, pki.inter, o));
    };
    auto r = fetch(http, params);
    REQUIRE(r.ok());
    CHECK(r->status == cert_status::good);
    CHECK(r->nonce_echoed);
    CHECK(http.seen.method == "POST");
    CHECK(http.seen.url == "http://127.0.0.1:9/ocsp");
    CHECK(http.seen.content_type == "application/ocsp-request");
    CHECK(request_nonce(http.seen.body).size() == 32);
  }
  SECTION("an HTML page is refused before parsing") {
    http.answer = [&](const acme::http_request&) -> expected<acme::http_response> {
      return answer(200, "text/html; charset=utf-8", "<html>maintenance</html>");
    };
    auto r = fetch(http, params);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::bad_response);
    CHECK(r.error().message ==
          "the responder answered with content type 'text/html', not application/ocsp-response" +
              suffix);
  }
  SECTION("an HTTP error status") {
    http.answer = [&](const acme::http_request&) -> expected<acme::http_response> {
      return answer(503, "text/plain", "busy");
    };
    auto r = fetch(http, params);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "the responder answered HTTP 503" + suffix);
  }
  SECTION("a transport failure keeps its code and names the responder") {
    http.answer = [&](const acme::http_request& req) -> expected<acme::http_response> {
      return error(acme::acme_errc::timeout,
                   "Unsuccessful in contacting ACME server at " + req.url + ": no answer within 1 s");
    };
    auto r = fetch(http, params);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme::acme_errc::timeout);
    CHECK(r.error().message == "OCSP request failed: no answer within 1 s" + suffix);
  }
  SECTION("a response for another certificate") {
    auto other = mda::test::ocsp::make_cert(
        {"other.test", false, "", false, now - hours(1), now + hours(24)}, &pki.inter);
    http.answer = [&](const acme::http_request&) -> expected<acme::http_response> {
      response_options o;
      o.this_update = now - minutes(1);
      o.next_update = now + hours(12);
      return answer(200, "application/ocsp-response",
                    make_response(*cert_id::make(other.cert, pki.inter.cert), pki.inter, o));
    };
    auto r = fetch(http, params);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::no_status);
  }
}
