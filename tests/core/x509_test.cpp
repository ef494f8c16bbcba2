#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "core/x509.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using mda::test::run;
using mda::test::temp_dir;

namespace {

const char* const k_openssl_cnf = R"([req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
subjectKeyIdentifier = hash
keyUsage = critical,keyCertSign,cRLSign
[leaf]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:a.example, DNS:*.b.example, IP:192.0.2.1, IP:2001:db8:0:0:0:0:0:1
authorityInfoAccess = OCSP;URI:http://ocsp.example/, caIssuers;URI:http://ca.example/issuer.der
tlsfeature = status_request
authorityKeyIdentifier = keyid
)";

// A CA (self-signed, "Pebble Intermediate CA 411709") and a leaf it signed, made now by the
// openssl command line: the independent implementation we compare with.
struct test_pki {
  temp_dir dir;
  std::string ca_pem, leaf_pem, leaf_key_pem, ca_key_pem;

  test_pki() {
    mda::test::write_file(dir / "openssl.cnf", k_openssl_cnf);
    auto ok = [](const mda::test::run_result& r) {
      INFO(r.output);
      REQUIRE(r.exit_code == 0);
    };
    ok(run({"openssl", "req", "-x509", "-config", dir / "openssl.cnf", "-extensions", "ca", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir / "ca.key",
            "-out", dir / "ca.pem",
            "-subj", "/CN=Pebble Intermediate CA 411709", "-days", "30"}));
    ok(run({"openssl", "req", "-new", "-config", dir / "openssl.cnf", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir / "leaf.key", "-out", dir / "leaf.csr",
            "-subj", "/CN=a.example"}));
    ok(run({"openssl", "x509", "-req", "-in", dir / "leaf.csr", "-CA", dir / "ca.pem",
            "-CAkey", dir / "ca.key",
            "-set_serial", "0x87654321", "-days", "5", "-extfile", dir / "openssl.cnf", "-extensions", "leaf",
            "-out", dir / "leaf.pem"}));
    ca_pem = mda::test::read_file(dir / "ca.pem");
    leaf_pem = mda::test::read_file(dir / "leaf.pem");
    ca_key_pem = mda::test::read_file(dir / "ca.key");
    leaf_key_pem = mda::test::read_file(dir / "leaf.key");
  }
};

certificate load(const std::string& pem) {
  auto c = certificate::from_pem(pem, "test.pem");
  if (!c) FAIL(c.error().message);
  return *c;
}

private_key key_of(const std::string& pem) {
  auto k = private_key::from_pem(pem, nullptr, "test.key");
  if (!k) FAIL(k.error().message);
  return *k;
}

// A certificate with the given AKI extension (conf syntax) and serial (hex), signed by a new key.
certificate build(const char* aki_conf, const char* serial_hex) {
  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  X509* x = X509_new();
  REQUIRE(x);
  auto cert = certificate::adopt(x);
  BIGNUM* bn = nullptr;
  REQUIRE(BN_hex2bn(&bn, serial_hex) > 0);
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  BN_free(bn);
  REQUIRE(X509_set_serialNumber(x, serial));
  ASN1_INTEGER_free(serial);
  REQUIRE(X509_set_version(x, X509_VERSION_3));
  X509_NAME* name = X509_get_subject_name(x);
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("ari.example"), -1, -1, 0));
  REQUIRE(X509_set_issuer_name(x, name));
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(x), 0));
  REQUIRE(ASN1_TIME_set_string(X509_getm_notAfter(x), "99991231235959Z"));
  if (aki_conf) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_authority_key_identifier, aki_conf);
    REQUIRE(ext);
    REQUIRE(X509_add_ext(x, ext, -1));
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_set_pubkey(x, key->get()));
  REQUIRE(X509_sign(x, key->get(), EVP_sha256()) > 0);
  return cert;
}

// "SHA256 Fingerprint=AB:CD:..." -> "abcd..."
std::string cli_fingerprint(const std::string& output) {
  std::string hex;
  for (char c : output.substr(output.find('=') + 1))
    if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
  return hex;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("certificates are inspected as mod_md does", "[core][x509]") {
  test_pki pki;
  auto leaf = load(pki.leaf_pem);
  auto ca = load(pki.ca_pem);

  CHECK(leaf.issuer_name() == "/CN=Pebble Intermediate CA 411709");
  CHECK(leaf.subject_name() == "/CN=a.example");
  CHECK(leaf.subject_cn() == "a.example");
  CHECK(ca.subject_cn() == "Pebble Intermediate CA 411709");
  CHECK(leaf.serial_hex() == "87654321");
  CHECK(leaf.alt_names() == strings{"a.example", "*.b.example", "192.0.2.1", "2001:db8::1"});
  CHECK(ca.alt_names().empty());
  CHECK(leaf.ocsp_urls() == strings{"http://ocsp.example/"});
  CHECK(leaf.ca_issuers_urls() == strings{"http://ca.example/issuer.der"});
  CHECK(ca.ocsp_urls().empty());
  CHECK(leaf.must_staple());
  CHECK_FALSE(ca.must_staple());
  CHECK(ca.is_self_signed());
  CHECK_FALSE(leaf.is_self_signed());
  CHECK(leaf.matches_key(key_of(pki.leaf_key_pem)));
  CHECK_FALSE(leaf.matches_key(key_of(pki.ca_key_pem)));
  CHECK(ca.matches_key(key_of(pki.ca_key_pem)));
  CHECK_FALSE(leaf.matches_key(private_key{}));

  SECTION("validity as the CLI set it: from now, 5 days") {
    auto now = sys_clock::now();
    CHECK(leaf.not_before() > now - std::chrono::minutes(5));
    CHECK(leaf.not_before() <= now);
    CHECK(leaf.not_after() - leaf.not_before() == std::chrono::hours(5 * 24));
  }
  SECTION("fingerprint and DER agree with the openssl command line") {
    auto fp = run({"openssl", "x509", "-in", pki.dir / "leaf.pem", "-noout", "-fingerprint", "-sha256"});
    REQUIRE(fp.exit_code == 0);
    CHECK(leaf.fingerprint_sha256() == cli_fingerprint(fp.output));
    CHECK(leaf.fingerprint_sha256().size() == 64);
    auto der = run({"openssl", "x509", "-in", pki.dir / "leaf.pem", "-outform", "DER"});
    REQUIRE(der.exit_code == 0);
    REQUIRE(leaf.to_der());
    CHECK(*leaf.to_der() == der.output);
    auto again = certificate::from_der(der.output, "leaf.der");
    REQUIRE(again);
    CHECK(again->same_as(leaf));
    CHECK_FALSE(again->same_as(ca));
    REQUIRE(leaf.to_pem());
    CHECK(*leaf.to_pem() == pki.leaf_pem);
  }
  SECTION("names are covered with mod_md's wildcard rule and IPs in any spelling") {
    CHECK(leaf.covers({"a.example"}));
    CHECK(leaf.covers({"A.Example"}));
    CHECK(leaf.covers({"x.b.example", "a.example", "192.0.2.1"}));
    CHECK(leaf.covers({"*.b.example"}));
    CHECK(leaf.covers({"2001:DB8:0::1"}));
    CHECK_FALSE(leaf.covers({"b.example"}));
    CHECK_FALSE(leaf.covers({"y.x.b.example"}));
    CHECK_FALSE(leaf.covers({"a.example", "c.example"}));
    CHECK_FALSE(leaf.covers({"192.0.2.2"}));
    CHECK_FALSE(ca.covers({"a.example"}));
  }
}

TEST_CASE("dns names match as md_dns_matches", "[core][x509]") {
  CHECK(dns_name_matches("a.example", "a.example"));
  CHECK(dns_name_matches("A.EXAMPLE", "a.example"));
  CHECK(dns_name_matches("*.x.y", "a.x.y"));
  CHECK(dns_name_matches("*.x.y", "*.x.y"));
  CHECK_FALSE(dns_name_matches("*.x.y", "x.y"));
  CHECK_FALSE(dns_name_matches("*.x.y", "a.b.x.y"));
  CHECK_FALSE(dns_name_matches("*.x.y", ".x.y"));
  CHECK_FALSE(dns_name_matches("a.x.y", "*.x.y"));
  CHECK(is_ip_literal("192.0.2.1"));
  CHECK(is_ip_literal("::1"));
  CHECK_FALSE(is_ip_literal("192.0.2"));
  CHECK_FALSE(is_ip_literal("a.example"));
}

TEST_CASE("the ARI certificate id is RFC 9773 §4.1's", "[core][x509]") {
  // RFC 9773 §4.1: AKI keyIdentifier 69:88:5B:...:D4, serial 00:87:65:43:21.
  const char* aki = "DER:30:16:80:14:69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4";
  auto cert = build(aki, "87654321");
  auto text = run({"openssl", "x509", "-noout", "-text"}, *cert.to_pem());
  CHECK(text.output.find("69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4") != std::string::npos);
  auto id = cert.ari_cert_id();
  REQUIRE(id);
  CHECK(*id == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  CHECK(cert.serial_hex() == "87654321");
  // notAfter 9999-12-31 (RFC 5280 "no well-defined expiration") does not overflow.
  CHECK(cert.not_after() == sys_time::max());

  SECTION("no sign byte when the high bit is clear") {
    auto small = build(aki, "0102");
    REQUIRE(small.ari_cert_id());
    CHECK(*small.ari_cert_id() == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQI");
  }
  SECTION("a certificate without AKI has no id") {
    auto bare = build(nullptr, "01");
    auto none = bare.ari_cert_id();
    REQUIRE_FALSE(none);
    CHECK(none.error().code == crypto_errc::unsupported);
    CHECK(none.error().message ==
          "the certificate has no authority key identifier (RFC 9773 §4.1 needs one)");
  }
}

TEST_CASE("PEM chains are read leaf first and written back", "[core][x509]") {
  test_pki pki;
  auto chain = read_pem_chain(pki.leaf_pem + pki.ca_pem, "pubcert.pem");
  REQUIRE(chain);
  REQUIRE(chain->size() == 2);
  CHECK((*chain)[0].subject_cn() == "a.example");
  CHECK((*chain)[1].is_self_signed());
  auto text = write_pem_chain(*chain);
  REQUIRE(text);
  CHECK(*text == pki.leaf_pem + pki.ca_pem);

  SECTION("other PEM blocks are skipped") {
    auto with_key = read_pem_chain(pki.leaf_key_pem + pki.leaf_pem, "both.pem");
    REQUIRE(with_key);
    CHECK(with_key->size() == 1);
    auto single = certificate::from_pem(pki.leaf_key_pem + pki.leaf_pem, "both.pem");
    REQUIRE(single);
    CHECK(single->subject_cn() == "a.example");
  }
  SECTION("no certificate at all") {
    for (std::string text : {std::string(), std::string("garbage\n"), pki.leaf_key_pem,
                             mda::test::read_file(pki.dir / "leaf.csr")}) {
      auto none = read_pem_chain(text, "pubcert.pem");
      REQUIRE_FALSE(none);
      CHECK(none.error().code == crypto_errc::bad_encoding);
      CHECK(none.error().message == "pubcert.pem: no PEM certificate found");
      auto one = certificate::from_pem(text, "cert.pem");
      REQUIRE_FALSE(one);
      CHECK(one.error().message == "cert.pem: no PEM certificate found");
    }
  }
  SECTION("a damaged block after a good one") {
    std::string bad = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    auto broken = read_pem_chain(pki.leaf_pem + bad, "pubcert.pem");
    REQUIRE_FALSE(broken);
    CHECK(broken.error().code == crypto_errc::bad_encoding);
    CHECK(broken.error().message ==
          "pubcert.pem: PEM_read_bio_X509() failed: error:0488000D:PEM routines::ASN1 lib");
    auto one = certificate::from_pem(bad, "cert.pem");
    REQUIRE_FALSE(one);
    CHECK(one.error().message ==
          "cert.pem: PEM_read_bio_X509() failed: error:0488000D:PEM routines::ASN1 lib");
  }
  SECTION("a block cut short") {
    auto cut = pki.leaf_pem.substr(0, pki.leaf_pem.size() / 2);
    auto one = certificate::from_pem(cut, "cut.pem");
    REQUIRE_FALSE(one);
    CHECK(one.error().message ==
          "cut.pem: PEM_read_bio_X509() failed: error:04800066:PEM routines::bad end line");
  }
}

TEST_CASE("bad DER is an error naming the source", "[core][x509]") {
  test_pki pki;
  auto der = *load(pki.leaf_pem).to_der();
  auto empty = certificate::from_der("", "cert.der");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == crypto_errc::bad_encoding);
  CHECK(empty.error().message == "cert.der: no DER certificate data");

  auto trailing = certificate::from_der(der + "xy", "cert.der");
  REQUIRE_FALSE(trailing);
  CHECK(trailing.error().message == "cert.der: 2 bytes follow the DER certificate");

  auto key_der = run({"openssl", "pkey", "-in", pki.dir / "leaf.key", "-outform", "DER"});
  REQUIRE(key_der.exit_code == 0);
  for (const std::string& bad : {std::string("garbage"), der.substr(0, der.size() - 1), key_der.output}) {
    auto r = certificate::from_der(bad, "cert.der");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == crypto_errc::bad_encoding);
    CHECK(r.error().message ==
          "cert.der: d2i_X509() failed: error:0688010A:asn1 encoding routines::nested asn1 error");
  }
  certificate none;
  CHECK_FALSE(none.to_pem());
  CHECK(none.to_pem().error().message == "no certificate to write");
  CHECK(none.serial_hex().empty());
  CHECK(none.alt_names().empty());
  CHECK_FALSE(none.covers({"a.example"}));
}
