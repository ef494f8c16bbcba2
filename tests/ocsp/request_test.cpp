#include <catch2/catch.hpp>

#include <openssl/ocsp.h>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "core/ossl_ptr.hpp"
#include "ocsp/request.hpp"
#include "store/store.hpp"
#include "tests/ocsp/ocsp_fixture.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::ocsp;
using mda::test::ocsp::make_pki;

namespace {

using req_ptr = ossl_ptr<OCSP_REQUEST, OCSP_REQUEST_free>;

req_ptr parse_request(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  req_ptr r(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
  REQUIRE(r);
  REQUIRE(p == reinterpret_cast<const unsigned char*>(der.data()) + der.size());
  return r;
}

} // namespace

TEST_CASE("ocsp request: responder URL and the certificate key", "[ocsp]") {
  const auto now = sys_clock::now();
  auto pki = make_pki(now, "http://127.0.0.1:8888/ocsp");
  auto url = responder_url(pki.leaf.cert);
  REQUIRE(url.ok());
  CHECK(*url == "http://127.0.0.1:8888/ocsp");

  auto none = responder_url(pki.inter.cert);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == ocsp_errc::no_responder);
  CHECK(none.error().message ==
        "certificate with serial " + pki.inter.cert.serial_hex() + " has no OCSP responder URL");

  auto key = cert_key(pki.leaf.cert);
  REQUIRE(key.ok());
  CHECK(key->size() == 40);
  CHECK(*key == hex_lower(sha1(*pki.leaf.cert.to_der())));
  CHECK(aspect::ocsp(*key) == aspect::ocsp_for_cert_der(*pki.leaf.cert.to_der()));
}

TEST_CASE("ocsp request: SHA-1 CertID, one request, a 32-byte nonce", "[ocsp]") {
  const auto now = sys_clock::now();
  auto pki = make_pki(now);
  auto id = cert_id::make(pki.leaf.cert, pki.inter.cert);
  REQUIRE(id.ok());
  CHECK(id->serial_hex() == pki.leaf.cert.serial_hex());

  // The same CertID as OCSP_cert_to_id with the default (SHA-1) digest.
  OCSP_CERTID* sha1_id = OCSP_cert_to_id(EVP_sha1(), pki.leaf.cert.get(), pki.inter.cert.get());
  CHECK(id->matches(sha1_id));
  OCSP_CERTID_free(sha1_id);
  OCSP_CERTID* sha256_id = OCSP_cert_to_id(EVP_sha256(), pki.leaf.cert.get(), pki.inter.cert.get());
  CHECK_FALSE(id->matches(sha256_id));
  OCSP_CERTID_free(sha256_id);

  auto req = make_request(*id);
  REQUIRE(req.ok());
  CHECK(req->nonce.size() == 32);
  auto parsed = parse_request(req->der);
  REQUIRE(OCSP_request_onereq_count(parsed.get()) == 1);
  CHECK(id->matches(OCSP_onereq_get0_id(OCSP_request_onereq_get0(parsed.get(), 0))));
  int idx = OCSP_REQUEST_get_ext_by_NID(parsed.get(), NID_id_pkix_OCSP_Nonce, -1);
  REQUIRE(idx >= 0);
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(parsed.get(), idx));
  // extnValue = OCTET STRING (04 20) holding the 32 nonce octets (RFC 8954).
  std::string ev(reinterpret_cast<const char*>(v->data), static_cast<size_t>(v->length));
  CHECK(ev == std::string("\x04\x20", 2) + req->nonce);

  auto again = make_request(*id);
  REQUIRE(again.ok());
  CHECK(again->nonce != req->nonce);
}

TEST_CASE("ocsp request: a given nonce, and its limits", "[ocsp]") {
  auto pki = make_pki(sys_clock::now());
  auto id = cert_id::make(pki.leaf.cert, pki.inter.cert);
  REQUIRE(id.ok());
  auto fixed = make_request(*id, "0123456789");
  REQUIRE(fixed.ok());
  CHECK(fixed->nonce == "0123456789");
  auto too_long = make_request(*id, std::string(33, 'x'));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.error().code == ocsp_errc::request);
  CHECK(too_long.error().message == "an OCSP nonce has 1 to 32 octets, not 33 (RFC 8954)");
  auto no_id = make_request(cert_id{});
  REQUIRE_FALSE(no_id.ok());
  CHECK(no_id.error().message == "no CertID for the OCSP request");
}

TEST_CASE("ocsp request: the openssl command line reads it", "[ocsp]") {
  test::temp_dir dir;
  auto pki = make_pki(sys_clock::now());
  auto id = cert_id::make(pki.leaf.cert, pki.inter.cert);
  REQUIRE(id.ok());
  auto req = make_request(*id);
  REQUIRE(req.ok());
  test::write_file(dir / "req.der", req->der);
  auto r = test::run({"openssl", "ocsp", "-reqin", dir / "req.der", "-req_text", "-noverify"});
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("Hash Algorithm: sha1") != std::string::npos);
  CHECK(r.output.find("Serial Number: " + pki.leaf.cert.serial_hex()) != std::string::npos);
  CHECK(r.output.find("OCSP Nonce") != std::string::npos);
}
