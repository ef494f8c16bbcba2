// Live activation end to end (issue 16): a real Apache with the module and a real pebble; the
// engine certifies and renews while Apache runs, and every child serves the new certificate
// without a restart. The worker side alone (sets written by the test) is in
// apache_live_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tests/support/md_site.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;

namespace {

/// A TLS connection to 127.0.0.1 held open after its handshake (so that, under prefork, the
/// next one is served by another child).
struct held_tls {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  std::string serial;  ///< of the leaf served, uppercase hex; "" when the handshake failed
  std::string issuer;  ///< its issuer's CN
  std::string key;     ///< "RSA" or "EC"

  held_tls(int port, const std::string& sni, const std::string& sigalgs = "") {
    ctx = SSL_CTX_new(TLS_client_method());
    if (!sigalgs.empty()) SSL_CTX_set1_sigalgs_list(ctx, sigalgs.c_str());
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, sni.c_str());
    if (SSL_connect(ssl) != 1) return;
    X509* leaf = SSL_get1_peer_certificate(ssl);
    if (!leaf) return;
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr);
    char* hex = BN_bn2hex(bn);
    serial = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    char cn[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_issuer_name(leaf), NID_commonName, cn, sizeof cn);
    issuer = cn;
    EVP_PKEY* pk = X509_get0_pubkey(leaf);
    key = pk && EVP_PKEY_base_id(pk) == EVP_PKEY_EC ? "EC" : "RSA";
    X509_free(leaf);
  }
  ~held_tls() {
    if (ssl) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
    if (ctx) SSL_CTX_free(ctx);
  }
  held_tls(const held_tls&) = delete;
  held_tls& operator=(const held_tls&) = delete;
};

/// The serials served by `n` connections held open at once (one per prefork child).
std::vector<std::string> serials_at_once(int port, const std::string& sni, int n) {
  std::vector<std::unique_ptr<held_tls>> held;
  for (int i = 0; i < n; ++i) held.push_back(std::make_unique<held_tls>(port, sni));
  std::vector<std::string> out;
  for (const auto& h : held) out.push_back(h->issuer.find("Pebble") != std::string::npos ? h->serial : "");
  return out;
}

pebble_options validating_at(int http, int https) {
  pebble_options po;
  po.http_port = http;
  po.tls_port = https;
  return po;
}

} // namespace

TEST_CASE("live activation under prefork: every child serves the first certificate and each renewal, "
          "without a restart", "[httpd][e2e][live]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  md_site site(http, https);
  site.mpm = "prefork";
  // three children, each busy with one held connection; the window (2000 days) is longer than
  // pebble's certificates live (5 years), so the engine renews right after each goes live
  site.configure(pebble, MODULE_PATH,
                 "StartServers 3\nMinSpareServers 3\nMaxSpareServers 3\nServerLimit 3\n"
                 "MaxRequestWorkers 3\nMDRenewWindow 2000d\n");
  REQUIRE(site.start());
  INFO(site.log());
  const int generations = site.generations();

  // the first certificate: all three children serve pebble's certificate, the 503 is gone
  std::vector<std::string> first;
  for (int i = 0; i < 600; ++i) {
    first = serials_at_once(https, site.md, 3);
    if (std::all_of(first.begin(), first.end(), [](const std::string& s) { return !s.empty(); })) break;
    ::usleep(100'000);
  }
  INFO("first round: " << first[0] << " " << first[1] << " " << first[2]);
  INFO("log then: " << site.log());
  REQUIRE(std::all_of(first.begin(), first.end(), [](const std::string& s) { return !s.empty(); }));
  CHECK(site.status_of(site.md) == "200");

  // a renewal later: every child serves a newer serial
  const std::set<std::string> before(first.begin(), first.end());
  std::vector<std::string> later;
  bool renewed = false;
  for (int i = 0; i < 600 && !renewed; ++i) {
    ::usleep(100'000);
    later = serials_at_once(https, site.md, 3);
    renewed = std::all_of(later.begin(), later.end(),
                          [&](const std::string& s) { return !s.empty() && !before.count(s); });
  }
  INFO("later round: " << later[0] << " " << later[1] << " " << later[2]);
  INFO("md-status: " << site.md_status());
  INFO("log now: " << site.log());
  CHECK(renewed);
  CHECK(pebble_issued(pebble) >= 2);
  CHECK(site.generations() == generations); // no restart of any kind
  const std::string status = site.md_status();
  INFO(status);
  CHECK(status.find("\"served\"") != std::string::npos);
  CHECK(status.find("\"from\": \"staging\"") != std::string::npos);
  // (MDA0152 may show here: with renewals back to back a worker can find staging/ already
  // rewritten by the next run when it reads an announcement; it then waits for the next one)
  site.stop();
}

TEST_CASE("live activation under event: RSA and EC certificates of one MD go live side by side",
          "[httpd][e2e][live]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  md_site site(http, https);
  site.configure(pebble, MODULE_PATH, "MDPrivateKeys RSA secp256r1\n");
  REQUIRE(site.start());
  INFO(site.log());
  const int generations = site.generations();
  std::string rsa, ec;
  for (int i = 0; i < 600; ++i) {
    held_tls r(https, site.md, "rsa_pss_rsae_sha256");
    held_tls e(https, site.md, "ecdsa_secp256r1_sha256");
    if (r.issuer.find("Pebble") != std::string::npos && e.issuer.find("Pebble") != std::string::npos) {
      CHECK(r.key == "RSA");
      CHECK(e.key == "EC");
      rsa = r.serial;
      ec = e.serial;
      break;
    }
    ::usleep(100'000);
  }
  CHECK_FALSE(rsa.empty());
  CHECK_FALSE(ec.empty());
  CHECK(rsa != ec);
  CHECK(site.status_of(site.md) == "200");
  CHECK(site.generations() == generations);
  // a graceful restart moves the live set into domains/ and serves the same certificates
  REQUIRE(site.graceful());
  CHECK(held_tls(https, site.md, "rsa_pss_rsae_sha256").serial == rsa);
  CHECK(held_tls(https, site.md, "ecdsa_secp256r1_sha256").serial == ec);
  CHECK(path_exists(site.store("domains/" + site.md + "/pubcert.secp256r1.pem")));
  CHECK(site.log().find("MDA0152") == std::string::npos);
  site.stop();
}

TEST_CASE("MDActivation restart keeps mod_md's way: the renewed certificate waits for the restart",
          "[httpd][e2e][live]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  md_site site(http, https);
  site.configure(pebble, MODULE_PATH, "<IfDirective MDActivation>\n  MDActivation restart\n</IfDirective>\n");
  REQUIRE(site.start());
  INFO(site.log());
  REQUIRE(site.wait_staged(60));
  ::sleep(3); // a live activation would be done by now
  CHECK(site.status_of(site.md) == "503");
  REQUIRE(path_exists(site.store("mdactor/live.json"))); // the parent's, announcing nothing
  CHECK(read_file(site.store("mdactor/live.json")).find(site.md) == std::string::npos);
  REQUIRE(site.graceful());
  CHECK(site.status_of(site.md) == "200");
  CHECK(site.served(site.md, "-issuer").find("Pebble") != std::string::npos);
  site.stop();
}

TEST_CASE("live activation: a staged set whose key does not fit is never served; md-status says why and "
          "the next renewal is served", "[httpd][e2e][live]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  md_site site(http, https);
  // the first certificate goes live at once; the next (renewed right away: the window is longer
  // than pebble's certificates live) waits 10 s in staging, the time to damage it
  site.configure(pebble, MODULE_PATH, "MDRenewWindow 2000d\nMDActivationDelay 10s\n");
  REQUIRE(site.start());
  INFO(site.log());
  std::string first;
  for (int i = 0; i < 600 && first.empty(); ++i) {
    held_tls h(https, site.md);
    if (h.issuer.find("Pebble") != std::string::npos) first = h.serial;
    else ::usleep(100'000);
  }
  INFO("log then: " << site.log());
  REQUIRE_FALSE(first.empty());
  // the renewed set, staged and waiting for its activation delay
  const std::string job = site.store("staging/" + site.md + "/job.json");
  bool waiting = false;
  for (int i = 0; i < 600 && !waiting; ++i) {
    const std::string j = path_exists(job) ? read_file(job) : "";
    waiting = j.find("\"finished\": true") != std::string::npos && j.find("mdactor-live-since") == std::string::npos;
    if (!waiting) ::usleep(50'000);
  }
  REQUIRE(waiting);
  const std::string staged_cert = site.store("staging/" + site.md + "/pubcert.pem");
  const std::string staged_serial = run({"openssl", "x509", "-noout", "-serial", "-in", staged_cert}).output;
  REQUIRE(staged_serial.rfind("serial=", 0) == 0);
  // as the User could: another key in place of the staged one
  const std::string key = site.store("staging/" + site.md + "/privkey.pem");
  REQUIRE(run({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key + ".other"})
              .exit_code == 0);
  REQUIRE(run({"chown", "www-data:www-data", key + ".other"}).exit_code == 0);
  REQUIRE(::rename((key + ".other").c_str(), key.c_str()) == 0);

  std::string status;
  bool told = false;
  for (int i = 0; i < 300 && !told; ++i) {
    ::usleep(100'000);
    status = site.md_status();
    told = status.find("certificate does not match the private key") != std::string::npos;
  }
  INFO(status);
  CHECK(told);
  CHECK(status.find("serving the renewed certificates without a restart failed") != std::string::npos);
  const std::string damaged = staged_serial.substr(7, staged_serial.size() - 8); // "serial=X\n"
  CHECK(held_tls(https, site.md).serial == first);
  // the next renewal orders anew and is served; the damaged set never was
  std::string later = first;
  for (int i = 0; i < 600 && (later == first || later.empty()); ++i) {
    ::usleep(100'000);
    held_tls h(https, site.md);
    later = h.issuer.find("Pebble") != std::string::npos ? h.serial : "";
    CHECK(later != damaged);
  }
  CHECK(later != first);
  CHECK_FALSE(later.empty());
  site.stop();
}
