#include <catch2/catch.hpp>

#include <openssl/x509v3.h>

#include "core/base64.hpp"
#include "core/csr.hpp"
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

// `openssl req <args> -in <the CSR>`, output and exit code checked by the caller.
mda::test::run_result openssl_req(const certificate_request& csr, std::vector<std::string> args) {
  temp_dir dir;
  mda::test::write_file(dir / "req.pem", csr.pem);
  std::vector<std::string> argv{"openssl", "req", "-in", dir / "req.pem"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// The text between `from` and `to` in `text` ("" when absent).
std::string section(const std::string& text, const std::string& from, const std::string& to) {
  auto a = text.find(from);
  if (a == std::string::npos) return {};
  return text.substr(a, text.find(to, a) - a);
}

} // namespace

TEST_CASE("CSRs verify with openssl for RSA and EC keys", "[core][csr]") {
  for (const auto& spec : {key_spec::rsa(2048), key_spec::ec("P-256"), key_spec::ec("P-384"),
                           key_spec::ec("Ed25519")}) {
    INFO(spec.describe());
    auto key = make_key(spec);
    auto csr = make_csr(key, {"a.example", "www.a.example"}, false);
    REQUIRE(csr);
    auto verified = openssl_req(*csr, {"-verify", "-noout"});
    CHECK(verified.exit_code == 0);
    CHECK(verified.output == "Certificate request self-signature verify OK\n");

    // DER, PEM and base64url are the same request.
    auto der = openssl_req(*csr, {"-outform", "DER"});
    REQUIRE(der.exit_code == 0);
    CHECK(der.output == csr->der);
    CHECK(csr->der_base64url() == base64url_encode(csr->der));

    auto text = openssl_req(*csr, {"-text", "-noout"});
    CHECK(text.output.find("        Subject: CN = a.example\n") != std::string::npos);
    CHECK(text.output.find("TLS Feature") == std::string::npos);
    // The request's public key is ours.
    const auto* p = reinterpret_cast<const unsigned char*>(csr->der.data());
    X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(csr->der.size()));
    REQUIRE(req);
    CHECK(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key.get()) == 1);
    X509_REQ_free(req);
  }
}

TEST_CASE("CSRs carry every name as SAN and must-staple on request", "[core][csr]") {
  auto key = make_key(key_spec::ec("P-256"));
  auto csr = make_csr(key, {"a.example", "*.a.example", "192.0.2.1", "2001:db8::1"}, true);
  REQUIRE(csr);
  auto text = openssl_req(*csr, {"-text", "-noout"});
  REQUIRE(text.exit_code == 0);
  CHECK(section(text.output, "            Requested Extensions:\n", "    Signature Algorithm:") ==
        "            Requested Extensions:\n"
        "                X509v3 Subject Alternative Name: \n"
        "                    DNS:a.example, DNS:*.a.example, IP Address:192.0.2.1, "
        "IP Address:2001:DB8:0:0:0:0:0:1\n"
        "                TLS Feature: \n"
        "                    status_request\n");
  CHECK(text.output.find("    Signature Algorithm: ecdsa-with-SHA256\n") != std::string::npos);

  // The must-staple value is exactly DER 30:03:02:01:05 and not critical.
  const auto* p = reinterpret_cast<const unsigned char*>(csr->der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(csr->der.size()));
  REQUIRE(req);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  REQUIRE(exts);
  int idx = X509v3_get_ext_by_NID(exts, NID_tlsfeature, -1);
  REQUIRE(idx >= 0);
  X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, idx);
  CHECK(X509_EXTENSION_get_critical(ext) == 0);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                    static_cast<size_t>(ASN1_STRING_length(value)));
  CHECK(bytes == std::string("\x30\x03\x02\x01\x05", 5));
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
}

TEST_CASE("CSR subject CN only for names shorter than 64 characters", "[core][csr]") {
  auto key = make_key(key_spec::ec("P-256"));
  std::string n63 = std::string(59, 'a') + ".org"; // 63 characters
  std::string n64 = std::string(60, 'a') + ".org";
  std::string n70 = std::string(66, 'b') + ".org";
  REQUIRE(n63.size() == 63);

  auto with_cn = make_csr(key, {n63}, false);
  REQUIRE(with_cn);
  CHECK(openssl_req(*with_cn, {"-noout", "-subject"}).output == "subject=CN = " + n63 + "\n");

  for (const auto& name : {n64, n70}) {
    auto csr = make_csr(key, {name, "short.example"}, false);
    REQUIRE(csr);
    CHECK(openssl_req(*csr, {"-noout", "-subject"}).output == "subject=\n");
    auto text = openssl_req(*csr, {"-text", "-noout"}).output;
    CHECK(text.find("DNS:" + name + ", DNS:short.example\n") != std::string::npos);
    CHECK(openssl_req(*csr, {"-verify", "-noout"}).exit_code == 0);
  }
}

TEST_CASE("CSR errors name the cause", "[core][csr]") {
  auto key = make_key(key_spec::ec("P-256"));
  auto none = make_csr(key, {}, false);
  REQUIRE_FALSE(none);
  CHECK(none.error().code == crypto_errc::bad_encoding);
  CHECK(none.error().message == "a certificate request needs at least one name");

  for (std::string bad : {"", "a example", "b\xc3\xbc" "cher.example"}) {
    auto r = make_csr(key, {"ok.example", bad}, false);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == crypto_errc::bad_encoding);
    CHECK(r.error().message ==
          "name '" + bad + "' cannot go into a certificate (printable ASCII only, IDNs as punycode)");
  }

  auto x25519 = make_key(key_spec::ec("X25519"));
  auto cannot = make_csr(x25519, {"a.example"}, false);
  REQUIRE_FALSE(cannot);
  CHECK(cannot.error().code == crypto_errc::unsupported);
  CHECK(cannot.error().message == "a key of type 'X25519' cannot sign");

  auto no_key = make_csr(private_key{}, {"a.example"}, false);
  REQUIRE_FALSE(no_key);
  CHECK(no_key.error().message == "no key to sign with");
}
