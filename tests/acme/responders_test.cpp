// The embedded challenge responders: http01_responder (with an httplib client) and
// tls_alpn01_responder (with `openssl s_client`), plus the reverse-DNS SNI names of RFC 8738.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "acme/http01_responder.hpp"
#include "acme/tls_alpn01_responder.hpp"
#include "core/certgen.hpp"
#include "core/x509.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;

namespace {

challenge_data challenge(challenge_type t, const std::string& identifier,
                         const std::string& token) {
  challenge_data c;
  c.type = t;
  c.identifier = identifier;
  c.md_name = identifier;
  c.token = token;
  c.key_authorization = token + ".thumbprint";
  return c;
}

/// The extnValue of a critical id-pe-acmeIdentifier, "" when absent or not critical.
std::string critical_acme_identifier(const certificate& cert) {
  ASN1_OBJECT* oid = OBJ_txt2obj(k_acme_identifier_oid, 1);
  int idx = X509_get_ext_by_OBJ(cert.get(), oid, -1);
  ASN1_OBJECT_free(oid);
  if (idx < 0) return "";
  X509_EXTENSION* ext = X509_get_ext(cert.get(), idx);
  if (X509_EXTENSION_get_critical(ext) != 1) return "";
  ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                     static_cast<size_t>(ASN1_STRING_length(v)));
}

/// `openssl s_client` against the responder; extra arguments such as -alpn.
test::run_result s_client(int port, const std::string& sni, std::vector<std::string> extra) {
  std::vector<std::string> argv{"openssl", "s_client", "-connect",
                                "127.0.0.1:" + std::to_string(port)};
  if (!sni.empty()) argv.insert(argv.end(), {"-servername", sni});
  argv.insert(argv.end(), extra.begin(), extra.end());
  return test::run(argv);
}

bool served_certificate(const test::run_result& r) {
  return r.output.find("-----BEGIN CERTIFICATE-----") != std::string::npos;
}

} // namespace

TEST_CASE("http01_responder serves key authorizations of tokens set up", "[acme][responders]") {
  auto r = http01_responder::start({});
  REQUIRE(r);
  auto& aut = **r;
  CHECK(aut.port() > 0);
  CHECK(aut.supports(challenge_type::http_01));
  CHECK_FALSE(aut.supports(challenge_type::tls_alpn_01));
  auto c = challenge(challenge_type::http_01, "a.example.test", "tok_A-1");
  REQUIRE(aut.setup(c));

  httplib::Client cli("127.0.0.1", aut.port());
  auto ok = cli.Get("/.well-known/acme-challenge/tok_A-1");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "tok_A-1.thumbprint");
  CHECK(ok->get_header_value("Content-Type") == "text/plain");
  auto head = cli.Head("/.well-known/acme-challenge/tok_A-1");
  REQUIRE(head);
  CHECK(head->status == 200);

  for (const char* path : {"/.well-known/acme-challenge/unknown", "/.well-known/acme-challenge/",
                           "/.well-known/acme-challenge/tok_A-1/",
                           "/.well-known/acme-challenge/../acme-challenge/tok_A-1",
                           "/.well-known/acme-challenge/..%2ftok_A-1",
                           "/.well-known/acme-challenge/tok_A-1%00", "/tok_A-1", "/"}) {
    auto res = cli.Get(path);
    REQUIRE(res);
    INFO(path);
    CHECK(res->status == 404);
    CHECK(res->body.find("thumbprint") == std::string::npos);
  }
  auto post = cli.Post("/.well-known/acme-challenge/tok_A-1", "{}", "application/json");
  REQUIRE(post);
  CHECK(post->status == 501);
  auto put = cli.Put("/.well-known/acme-challenge/other", "x", "text/plain");
  REQUIRE(put);
  CHECK(put->status == 501);

  REQUIRE(aut.teardown(c));
  auto gone = cli.Get("/.well-known/acme-challenge/tok_A-1");
  REQUIRE(gone);
  CHECK(gone->status == 404);

  auto bad = challenge(challenge_type::http_01, "a.example.test", "../x");
  auto st = aut.setup(bad);
  REQUIRE_FALSE(st);
  CHECK(st.error().message ==
        "http-01 setup for 'a.example.test': the token is not base64url: '../x'");
}

TEST_CASE("http01_responder reports a port it cannot bind", "[acme][responders]") {
  auto first = http01_responder::start({});
  REQUIRE(first);
  const int port = (*first)->port();
  auto second = http01_responder::start({"127.0.0.1", port});
  REQUIRE_FALSE(second);
  CHECK(second.error().message ==
        "http-01 responder: cannot listen on 127.0.0.1:" + std::to_string(port));
}

TEST_CASE("reverse-DNS names of IP identifiers (RFC 8738 §6)", "[acme][responders]") {
  CHECK(reverse_dns_name("192.0.2.7") == "7.2.0.192.in-addr.arpa");
  CHECK(reverse_dns_name("4321:0:1:2:3:4:567:89ab") ==
        "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
  CHECK(reverse_dns_name("[::1]") ==
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
  CHECK_FALSE(reverse_dns_name("example.test"));
  CHECK(ip_from_reverse_dns_name("7.2.0.192.IN-ADDR.ARPA.") == "192.0.2.7");
  CHECK(ip_from_reverse_dns_name(
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa") ==
        "4321:0:1:2:3:4:567:89ab");
  CHECK_FALSE(ip_from_reverse_dns_name("example.test"));
  CHECK_FALSE(ip_from_reverse_dns_name("1.2.3.in-addr.arpa"));
  CHECK_FALSE(ip_from_reverse_dns_name("300.2.0.192.in-addr.arpa"));
  CHECK(acme_tls_sni_name("192.0.2.7", true) == "7.2.0.192.in-addr.arpa");
  CHECK(acme_tls_sni_name("WWW.Example.TEST", false) == "www.example.test");
}

TEST_CASE("tls_alpn01_responder answers acme-tls/1 only, by SNI", "[acme][responders]") {
  auto r = tls_alpn01_responder::start({});
  REQUIRE(r);
  auto& aut = **r;
  CHECK(aut.supports(challenge_type::tls_alpn_01));
  CHECK_FALSE(aut.supports(challenge_type::http_01));
  auto c = challenge(challenge_type::tls_alpn_01, "t.example.test", "tokT");
  REQUIRE(aut.setup(c));

  SECTION("acme-tls/1 with the SNI gets the challenge certificate") {
    for (const char* alpn : {"acme-tls/1", "h2,acme-tls/1"}) {
      auto res = s_client(aut.port(), "t.example.test", {"-alpn", alpn});
      INFO(res.output);
      CHECK(res.output.find("ALPN protocol: acme-tls/1") != std::string::npos);
      auto cert = certificate::from_pem(res.output, "s_client");
      REQUIRE(cert);
      CHECK(cert->alt_names() == std::vector<std::string>{"t.example.test"});
      CHECK(cert->subject_cn() == "tls-alpn-01-challenge");
      CHECK(critical_acme_identifier(*cert) == acme_identifier_value("tokT.thumbprint"));
    }
  }
  SECTION("TLS 1.2 works too") {
    auto res = s_client(aut.port(), "t.example.test", {"-alpn", "acme-tls/1", "-tls1_2"});
    INFO(res.output);
    CHECK(res.output.find("ALPN protocol: acme-tls/1") != std::string::npos);
    CHECK(served_certificate(res));
  }
  SECTION("no ALPN, or other protocols only: refused") {
    for (std::vector<std::string> extra :
         {std::vector<std::string>{}, {"-alpn", "h2,http/1.1"}, {"-alpn", "acme-tls/2"}}) {
      auto res = s_client(aut.port(), "t.example.test", extra);
      INFO(res.output);
      CHECK(res.exit_code != 0);
      CHECK_FALSE(served_certificate(res));
      CHECK(res.output.find("no application protocol") != std::string::npos);
    }
  }
  SECTION("unknown or missing SNI: refused") {
    for (auto res : {s_client(aut.port(), "other.example.test", {"-alpn", "acme-tls/1"}),
                     s_client(aut.port(), "", {"-alpn", "acme-tls/1", "-noservername"})}) {
      INFO(res.output);
      CHECK(res.exit_code != 0);
      CHECK_FALSE(served_certificate(res));
      CHECK(res.output.find("unrecognized name") != std::string::npos);
    }
  }
  SECTION("after teardown: refused") {
    REQUIRE(aut.teardown(c));
    auto res = s_client(aut.port(), "t.example.test", {"-alpn", "acme-tls/1"});
    CHECK_FALSE(served_certificate(res));
  }
}

TEST_CASE("tls_alpn01_responder answers IP identifiers on their reverse-DNS SNI",
          "[acme][responders]") {
  auto r = tls_alpn01_responder::start({});
  REQUIRE(r);
  auto& aut = **r;
  auto c = challenge(challenge_type::tls_alpn_01, "127.0.0.1", "tokIP");
  c.is_ip = true;
  REQUIRE(aut.setup(c));
  auto res = s_client(aut.port(), "1.0.0.127.in-addr.arpa", {"-alpn", "acme-tls/1"});
  INFO(res.output);
  auto cert = certificate::from_pem(res.output, "s_client");
  REQUIRE(cert);
  CHECK(cert->alt_names() == std::vector<std::string>{"127.0.0.1"});
  CHECK(critical_acme_identifier(*cert) == acme_identifier_value("tokIP.thumbprint"));
}
