#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "core/certgen.hpp"
#include "core/digest.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using mda::test::run;
using mda::test::temp_dir;

namespace {

private_key make_key(const key_spec& spec) {
  auto k = private_key::generate(spec);
  if (!k) FAIL(k.error().message);
  return *k;
}

struct cli_view {
  temp_dir dir;
  std::string file;
  std::string text; ///< openssl x509 -text -noout
  explicit cli_view(const certificate& cert) : file(dir / "cert.pem") {
    mda::test::write_file(file, *cert.to_pem());
    auto r = run({"openssl", "x509", "-in", file, "-text", "-noout"});
    REQUIRE(r.exit_code == 0);
    text = r.output;
  }
  std::string extensions() const {
    auto a = text.find("        X509v3 extensions:\n");
    if (a == std::string::npos) return {};
    return text.substr(a, text.find("    Signature Algorithm:", a) - a);
  }
};

std::string signature_line(const key_spec& spec) {
  if (spec.type != key_spec::kind::ec) return "    Signature Algorithm: sha256WithRSAEncryption\n";
  if (spec.curve == "Ed25519") return "    Signature Algorithm: ED25519\n";
  return "    Signature Algorithm: ecdsa-with-SHA256\n";
}

// Whole seconds, as certificates hold time.
sys_time seconds_of(sys_time t) { return from_unix(to_unix(t)); }

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("the fallback certificate is mod_md's", "[core][certgen]") {
  const auto now = sys_clock::now();
  for (const auto& spec : {key_spec::default_spec(), key_spec::ec("P-256"), key_spec::ec("Ed25519")}) {
    INFO(spec.describe());
    auto key = make_key(spec);
    auto cert = make_fallback_certificate(key, {"a.example", "*.a.example", "192.0.2.7"}, now);
    REQUIRE(cert);

    CHECK(cert->subject_name() == "/CN=Apache Managed Domain Fallback");
    CHECK(cert->issuer_name() == "/CN=Apache Managed Domain Fallback");
    CHECK(cert->alt_names() == strings{"a.example", "*.a.example", "192.0.2.7"});
    CHECK(cert->covers({"a.example", "www.a.example", "192.0.2.7"}));
    CHECK(cert->not_before() == seconds_of(now));
    CHECK(cert->not_after() == seconds_of(now) + std::chrono::hours(14 * 24));
    CHECK(cert->is_self_signed());
    CHECK(cert->matches_key(key));
    CHECK_FALSE(cert->must_staple());
    CHECK(cert->ocsp_urls().empty());
    CHECK(X509_get_version(cert->get()) == X509_VERSION_3);
    CHECK_FALSE(cert->ari_cert_id()); // no AKI, as mod_md makes it

    cli_view cli(*cert);
    CHECK(cli.text.find("        Version: 3 (0x2)\n") != std::string::npos);
    CHECK(cli.text.find("        Issuer: CN = Apache Managed Domain Fallback\n") != std::string::npos);
    CHECK(cli.text.find("        Subject: CN = Apache Managed Domain Fallback\n") != std::string::npos);
    CHECK(cli.extensions() ==
          "        X509v3 extensions:\n"
          "            X509v3 Basic Constraints: critical\n"
          "                CA:FALSE\n"
          "            X509v3 Subject Alternative Name: \n"
          "                DNS:a.example, DNS:*.a.example, IP Address:192.0.2.7\n"
          "            X509v3 Key Usage: critical\n"
          "                Digital Signature\n"
          "            X509v3 Extended Key Usage: \n"
          "                TLS Web Server Authentication\n");
    CHECK(cli.text.find(signature_line(spec)) != std::string::npos);

    auto verified = run({"openssl", "verify", "-check_ss_sig", "-purpose", "sslserver", "-CAfile", cli.file,
                         cli.file});
    CHECK(verified.exit_code == 0);
    CHECK(verified.output == cli.file + ": OK\n");
  }
}

TEST_CASE("fallback serials are random 20-byte positive numbers", "[core][certgen]") {
  auto key = make_key(key_spec::ec("P-256"));
  auto a = make_fallback_certificate(key, {"a.example"}, sys_clock::now());
  auto b = make_fallback_certificate(key, {"a.example"}, sys_clock::now());
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->serial_hex() != b->serial_hex());
  for (const auto& cert : {*a, *b}) {
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
    REQUIRE(bn);
    CHECK(BN_num_bytes(bn) <= 20);
    CHECK(BN_num_bytes(bn) >= 16); // 2^-32 chance of a false alarm per certificate
    CHECK_FALSE(BN_is_negative(bn));
    BN_free(bn);
  }
}

TEST_CASE("fallback certificate errors", "[core][certgen]") {
  auto key = make_key(key_spec::ec("P-256"));
  auto none = make_fallback_certificate(key, {}, sys_clock::now());
  REQUIRE_FALSE(none);
  CHECK(none.error().message == "no domains for the fallback certificate");
  auto x25519 = make_fallback_certificate(make_key(key_spec::ec("X25519")), {"a.example"}, sys_clock::now());
  REQUIRE_FALSE(x25519);
  CHECK(x25519.error().code == crypto_errc::unsupported);
  CHECK(x25519.error().message == "a key of type 'X25519' cannot sign");
}

TEST_CASE("the tls-alpn-01 certificate follows RFC 8737", "[core][certgen]") {
  const std::string key_authz =
      "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
  const auto now = sys_clock::now();
  auto key = make_key(key_spec::ec("P-256"));
  auto cert = make_tls_alpn_01_certificate(key, "b.example", key_authz, now);
  REQUIRE(cert);

  CHECK(cert->subject_name() == "/CN=tls-alpn-01-challenge");
  CHECK(cert->alt_names() == strings{"b.example"});
  CHECK(cert->not_before() == seconds_of(now));
  CHECK(cert->not_after() == seconds_of(now) + std::chrono::hours(7 * 24));
  CHECK(cert->is_self_signed());
  CHECK(cert->matches_key(key));

  // The acmeIdentifier extension: critical, 04 20 SHA-256(key authorization) — 34 bytes,
  // the digest computed independently by `openssl dgst`.
  auto digest = run({"openssl", "dgst", "-sha256", "-binary"}, key_authz);
  REQUIRE(digest.exit_code == 0);
  REQUIRE(digest.output.size() == 32);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  REQUIRE(oid);
  int idx = X509_get_ext_by_OBJ(cert->get(), oid, -1);
  ASN1_OBJECT_free(oid);
  REQUIRE(idx >= 0);
  X509_EXTENSION* ext = X509_get_ext(cert->get(), idx);
  CHECK(X509_EXTENSION_get_critical(ext) == 1);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                    static_cast<size_t>(ASN1_STRING_length(value)));
  CHECK(bytes.size() == 34);
  CHECK(bytes == std::string("\x04\x20", 2) + digest.output);
  CHECK(acme_identifier_value(key_authz) == bytes);

  cli_view cli(*cert);
  auto exts = cli.extensions();
  CHECK(exts.rfind("        X509v3 extensions:\n"
                   "            X509v3 Basic Constraints: critical\n"
                   "                CA:FALSE\n"
                   "            X509v3 Subject Alternative Name: \n"
                   "                DNS:b.example\n"
                   "            1.3.6.1.5.5.7.1.31: critical\n",
                   0) == 0);
  CHECK(std::count(exts.begin(), exts.end(), '\n') == 7); // nothing else after the value line
  // A verifier that does not know the critical extension must refuse the certificate.
  auto verified = run({"openssl", "verify", "-CAfile", cli.file, cli.file});
  CHECK(verified.exit_code != 0);
  CHECK(verified.output.find("unhandled critical extension") != std::string::npos);
}

TEST_CASE("tls-alpn-01 certificates for IP identifiers and all key types", "[core][certgen]") {
  for (const auto& spec : {key_spec::rsa(2048), key_spec::ec("P-384"), key_spec::ec("Ed25519")}) {
    INFO(spec.describe());
    auto key = make_key(spec);
    auto v4 = make_tls_alpn_01_certificate(key, "192.0.2.9", "t.k", sys_clock::now());
    REQUIRE(v4);
    CHECK(v4->alt_names() == strings{"192.0.2.9"});
    cli_view cli(*v4);
    CHECK(cli.extensions().find("                IP Address:192.0.2.9\n") != std::string::npos);
    CHECK(cli.text.find(signature_line(spec)) != std::string::npos);
    auto v6 = make_tls_alpn_01_certificate(key, "2001:DB8::9", "t.k", sys_clock::now());
    REQUIRE(v6);
    CHECK(v6->alt_names() == strings{"2001:db8::9"});
    CHECK(v6->covers({"2001:db8:0::9"}));
  }
  auto key = make_key(key_spec::ec("P-256"));
  auto empty = make_tls_alpn_01_certificate(key, "b.example", "", sys_clock::now());
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message == "no key authorization for the tls-alpn-01 certificate");
  auto bad = make_tls_alpn_01_certificate(key, "", "t.k", sys_clock::now());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message ==
        "name '' cannot go into a certificate (printable ASCII only, IDNs as punycode)");
}
