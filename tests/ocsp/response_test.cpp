#include <catch2/catch.hpp>

#include <openssl/ocsp.h>

#include "ocsp/response.hpp"
#include "tests/ocsp/ocsp_fixture.hpp"

using namespace mda;
using namespace mda::ocsp;
using namespace std::chrono;
using mda::test::ocsp::issued;
using mda::test::ocsp::make_cert;
using mda::test::ocsp::make_pki;
using mda::test::ocsp::make_response;
using mda::test::ocsp::response_options;

namespace {

const std::string k_url = "http://127.0.0.1:9/ocsp";
const std::string k_suffix = " (OCSP responder 'http://127.0.0.1:9/ocsp')";

struct fixture {
  sys_time now = from_unix(to_unix(sys_clock::now()));
  mda::test::ocsp::test_pki pki = make_pki(now);
  cert_id id = *cert_id::make(pki.leaf.cert, pki.inter.cert);
  std::string nonce = std::string(32, '\x5a');

  check_options options() const {
    check_options o;
    o.responder_url = k_url;
    o.id = id;
    o.issuer = pki.inter.cert;
    o.nonce = nonce;
    o.now = now;
    return o;
  }
  response_options good() const {
    response_options r;
    r.cert_status = V_OCSP_CERTSTATUS_GOOD;
    r.this_update = now - minutes(10);
    r.next_update = now + hours(24);
    r.nonce = nonce;
    return r;
  }
  issued responder(const issued& by, bool eku, sys_time until) const {
    return make_cert({"Test OCSP Responder", false, "", eku, now - hours(1), until}, &by);
  }
};

} // namespace

TEST_CASE("ocsp response: good, signed by the issuer, nonce echoed", "[ocsp]") {
  fixture f;
  const auto der = make_response(f.id, f.pki.inter, f.good());
  auto r = check_response(der, f.options());
  REQUIRE(r.ok());
  CHECK(r->status == cert_status::good);
  CHECK(r->this_update == f.now - minutes(10));
  REQUIRE(r->next_update);
  CHECK(*r->next_update == f.now + hours(24));
  CHECK(r->nonce_echoed);
  CHECK(r->revocation_reason == -1);
  CHECK(r->der == der);
}

TEST_CASE("ocsp response: revoked with time and reason; unknown", "[ocsp]") {
  fixture f;
  auto opts = f.good();
  opts.cert_status = V_OCSP_CERTSTATUS_REVOKED;
  opts.revoked_at = f.now - hours(2);
  opts.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
  auto r = check_response(make_response(f.id, f.pki.inter, opts), f.options());
  REQUIRE(r.ok());
  CHECK(r->status == cert_status::revoked);
  CHECK(r->revocation_time == f.now - hours(2));
  CHECK(r->revocation_reason == 1);

  opts = f.good();
  opts.cert_status = V_OCSP_CERTSTATUS_UNKNOWN;
  auto u = check_response(make_response(f.id, f.pki.inter, opts), f.options());
  REQUIRE(u.ok());
  CHECK(u->status == cert_status::unknown);
  CHECK(std::string(to_string(u->status)) == "unknown");
  CHECK(cert_status_from_string("revoked") == cert_status::revoked);
  CHECK(cert_status_from_string("GOOD") == cert_status::unknown);
}

TEST_CASE("ocsp response: delegated responders (RFC 6960 4.2.2.2)", "[ocsp]") {
  fixture f;
  const auto valid_until = f.now + hours(24 * 10);
  const std::string rejected = "the OCSP response signature is not acceptable: OCSP_basic_verify() failed: ";

  SECTION("issued by the issuer with id-kp-OCSPSigning: accepted") {
    auto r = check_response(make_response(f.id, f.responder(f.pki.inter, true, valid_until), f.good()),
                            f.options());
    REQUIRE(r.ok());
    CHECK(r->status == cert_status::good);
  }
  SECTION("issued by the issuer without the EKU: rejected") {
    auto r = check_response(make_response(f.id, f.responder(f.pki.inter, false, valid_until), f.good()),
                            f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::bad_signature);
    CHECK(r.error().message == rejected + "missing ocspsigning usage" + k_suffix);
  }
  SECTION("with the EKU but issued by another CA (the root): rejected") {
    auto r = check_response(make_response(f.id, f.responder(f.pki.root, true, valid_until), f.good()),
                            f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::bad_signature);
    CHECK(r.error().message.rfind(rejected, 0) == 0);
  }
  SECTION("an unrelated self-signed key: rejected") {
    auto stranger = make_cert({"Stranger", false, "", true, f.now - hours(1), valid_until}, nullptr);
    auto r = check_response(make_response(f.id, stranger, f.good()), f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::bad_signature);
    CHECK(r.error().message == rejected + "certificate verify error: self-signed certificate" + k_suffix);
  }
  SECTION("the responder certificate not carried: rejected") {
    auto opts = f.good();
    opts.include_signer = false;
    auto r = check_response(make_response(f.id, f.responder(f.pki.inter, true, valid_until), opts),
                            f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == rejected + "signer certificate not found" + k_suffix);
  }
  SECTION("an expired responder certificate: rejected") {
    auto old = make_cert({"Old Responder", false, "", true, f.now - hours(48), f.now - hours(1)},
                         &f.pki.inter);
    auto r = check_response(make_response(f.id, old, f.good()), f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == rejected + "certificate verify error: certificate has expired" + k_suffix);
  }
  SECTION("signed by the root, the issuer's issuer: rejected") {
    auto r = check_response(make_response(f.id, f.pki.root, f.good()), f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::bad_signature);
    CHECK(r.error().message == rejected + "certificate verify error: self-signed certificate" + k_suffix);
  }
}

TEST_CASE("ocsp response: nonce (RFC 8954)", "[ocsp]") {
  fixture f;
  SECTION("another nonce is an error") {
    auto opts = f.good();
    opts.nonce = std::string(32, 'x');
    auto r = check_response(make_response(f.id, f.pki.inter, opts), f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::nonce_mismatch);
    CHECK(r.error().message == "the nonce in the OCSP response does not match the request" + k_suffix);
  }
  SECTION("no nonce in the response is accepted (cached responses)") {
    auto opts = f.good();
    opts.nonce.reset();
    auto r = check_response(make_response(f.id, f.pki.inter, opts), f.options());
    REQUIRE(r.ok());
    CHECK_FALSE(r->nonce_echoed);
  }
  SECTION("a nonce we did not send is not compared") {
    auto o = f.options();
    o.nonce.clear();
    auto r = check_response(make_response(f.id, f.pki.inter, f.good()), o);
    REQUIRE(r.ok());
    CHECK(r->nonce_echoed);
  }
}

TEST_CASE("ocsp response: status for another certificate", "[ocsp]") {
  fixture f;
  auto other = make_cert({"other.test", false, "", false, f.now - hours(1), f.now + hours(24)},
                         &f.pki.inter);
  auto other_id = cert_id::make(other.cert, f.pki.inter.cert);
  REQUIRE(other_id.ok());
  auto r = check_response(make_response(*other_id, f.pki.inter, f.good()), f.options());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ocsp_errc::no_status);
  CHECK(r.error().message == "the OCSP response has no status for the certificate with serial " +
                                 f.pki.leaf.cert.serial_hex() + k_suffix);
}

TEST_CASE("ocsp response: thisUpdate and nextUpdate", "[ocsp]") {
  fixture f;
  auto opts = f.good();
  SECTION("thisUpdate within the skew is fine") {
    opts.this_update = f.now + minutes(4);
    CHECK(check_response(make_response(f.id, f.pki.inter, opts), f.options()).ok());
  }
  SECTION("thisUpdate beyond the skew") {
    opts.this_update = f.now + minutes(6);
    auto r = check_response(make_response(f.id, f.pki.inter, opts), f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::bad_time);
    CHECK(r.error().message == "the OCSP response's thisUpdate " + format_rfc822(f.now + minutes(6)) +
                                   " is in the future" + k_suffix);
  }
  SECTION("nextUpdate passed") {
    opts.this_update = f.now - hours(30);
    opts.next_update = f.now - hours(6);
    auto r = check_response(make_response(f.id, f.pki.inter, opts), f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "the OCSP response expired at " + format_rfc822(f.now - hours(6)) + k_suffix);
  }
  SECTION("nextUpdate before thisUpdate") {
    opts.next_update = f.now - hours(1);
    auto r = check_response(make_response(f.id, f.pki.inter, opts), f.options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "the OCSP response's nextUpdate " + format_rfc822(f.now - hours(1)) +
                                   " precedes its thisUpdate" + k_suffix);
  }
  SECTION("no nextUpdate is accepted") {
    opts.next_update.reset();
    auto r = check_response(make_response(f.id, f.pki.inter, opts), f.options());
    REQUIRE(r.ok());
    CHECK_FALSE(r->next_update);
  }
}

TEST_CASE("ocsp response: not successful, not DER", "[ocsp]") {
  fixture f;
  response_options opts;
  opts.response_status = OCSP_RESPONSE_STATUS_TRYLATER;
  auto r = check_response(make_response(f.id, f.pki.inter, opts), f.options());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ocsp_errc::unsuccessful);
  CHECK(r.error().message == "the OCSP response status is 'trylater' (3)" + k_suffix);

  auto html = check_response("<html><body>oops</body></html>", f.options());
  REQUIRE_FALSE(html.ok());
  CHECK(html.error().code == ocsp_errc::bad_response);
  CHECK(html.error().message == "the answer is not a DER OCSP response (30 bytes)" + k_suffix);

  auto trailing = check_response(make_response(f.id, f.pki.inter, f.good()) + "x", f.options());
  REQUIRE_FALSE(trailing.ok());
  CHECK(trailing.error().code == ocsp_errc::bad_response);

  CHECK_FALSE(check_response("", f.options()).ok());

  auto o = f.options();
  o.id = cert_id{};
  auto no_id = check_response(make_response(f.id, f.pki.inter, f.good()), o);
  REQUIRE_FALSE(no_id.ok());
  CHECK(no_id.error().message ==
        "no CertID or issuer to check the OCSP response against" + k_suffix);
}
