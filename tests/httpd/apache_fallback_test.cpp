// The module's store setup and certificate hand-over in a real Apache with mod_ssl (reference
// §2, §4.1): an MD without a certificate is served with the fallback certificate and 503, one
// per key spec; a certificate put into domains/ is served after a graceful restart and answers
// 200; a staged set is activated before mod_ssl loads it; static files are handed over; the
// store's worker directories belong to the User; md.json and httpd.json are what Debian's
// mod_md writes, and a store mod_md wrote is taken over without rewriting. No engine runs:
// the CA is unreachable. Apache runs as www-data workers on free loopback ports.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "store/fs_store.hpp"
#include "store/staging.hpp"

#include "tests/store/staging_test_util.hpp"
#include "tests/support/apache.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda::test;

namespace {

const std::string& k_modules = k_apache_modules;

/// A private Apache with mod_ssl and the module, one https listener on a free port.
struct ssl_apache : private_apache {
  int port = 0;

  /// `ca`: the MDCertificateAuthority URL, by default one where nothing listens.
  explicit ssl_apache(const std::string& body, const std::string& module = MODULE_PATH, std::string ca = "") {
    port = free_port();
    if (ca.empty()) ca = "https://127.0.0.1:" + std::to_string(free_port()) + "/dir";
    write_file(conf, base_conf() +
                     "Listen 127.0.0.1:" + std::to_string(port) + " https\n"
                     "LoadModule md_module " + module + "\n"
                     "MDCertificateAuthority " + ca + "\n"
                     "MDCertificateAgreement accepted\n"
                     "MDContactEmail admin@example.test\n" + body);
  }

  std::string host_url(const std::string& host) const {
    return "https://" + host + ":" + std::to_string(port) + "/index.html";
  }

  /// The HTTP status of GET /index.html for `host` (TLS not verified).
  std::string status_of(const std::string& host) const { return https_status(host, port); }

  /// Subject, SAN and key type of the certificate served for `host`; `sigalgs` restricts what
  /// the client accepts (TLS 1.3 signature algorithms).
  std::string served(const std::string& host, const std::string& sigalgs = "") const {
    const std::string cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -servername " +
                            host + (sigalgs.empty() ? "" : " -sigalgs " + sigalgs) +
                            " </dev/null 2>/dev/null | openssl x509 -noout -subject -ext subjectAltName "
                            "-text | grep -E '^subject=|DNS:|Public Key Algorithm'";
    return run({"sh", "-c", cmd}).output;
  }
};

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

uid_t owner_of(const std::string& path) {
  struct stat sb {};
  return ::stat(path.c_str(), &sb) == 0 ? sb.st_uid : static_cast<uid_t>(-1);
}

constexpr uid_t k_www_data = 33;

const std::string k_vhost_a = "<VirtualHost 127.0.0.1:%PORT%>\n"
                              "  ServerName a.example.test\n"
                              "  ServerAlias www.a.example.test\n"
                              "  SSLEngine on\n"
                              "</VirtualHost>\n";

std::string with_port(std::string text, int port) {
  const std::string tag = "%PORT%";
  for (auto at = text.find(tag); at != std::string::npos; at = text.find(tag)) {
    text.replace(at, tag.size(), std::to_string(port));
  }
  return text;
}

} // namespace

TEST_CASE("an MD without a certificate is served with the fallback and 503", "[httpd][apache]") {
  // The port is known only after construction: the vhost comes from a second write.
  ssl_apache a("MDPrivateKeys RSA 2048 secp256r1\n"
               "MDomain a.example.test www.a.example.test\n"
               "Include vhosts.conf\n");
  write_file(a.dir / "vhosts.conf", with_port(k_vhost_a, a.port));
  REQUIRE(a.start());
  INFO(a.log());

  CHECK(a.status_of("a.example.test") == "503");
  const std::string rsa = a.served("a.example.test", "rsa_pss_rsae_sha256");
  CHECK(rsa.find("subject=CN = Apache Managed Domain Fallback") != std::string::npos);
  CHECK(rsa.find("DNS:a.example.test, DNS:www.a.example.test") != std::string::npos);
  CHECK(rsa.find("rsaEncryption") != std::string::npos);
  const std::string ec = a.served("a.example.test", "ecdsa_secp256r1_sha256");
  CHECK(ec.find("subject=CN = Apache Managed Domain Fallback") != std::string::npos);
  CHECK(ec.find("id-ecPublicKey") != std::string::npos);
  for (const char* f : {"fallback-pubcert.pem", "fallback-privkey.pem", "fallback-pubcert.secp256r1.pem",
                        "fallback-privkey.secp256r1.pem", "md.json"}) {
    CHECK(exists(a.store(std::string("domains/a.example.test/") + f)));
  }
  const std::string log = a.log();
  // MDActivation live (the default): the fallback is the server's certificate and mdactor
  // answers the 503 until the first certificate is served (mod_ssl's AH10085 otherwise)
  CHECK(log.find("MDA0157: a.example.test: server a.example.test answers '503 Service Unavailable'") !=
        std::string::npos);
  for (const char* id : {"MDA0100", "MDA0101", "MDA0120", "MDA0121", "MDA0133", "MDA0135"}) {
    CHECK(log.find(id) == std::string::npos);
  }

  SECTION("the worker directories belong to the User") {
    CHECK(owner_of(a.store("challenges")) == k_www_data);
    CHECK(owner_of(a.store("staging")) == k_www_data);
    CHECK(owner_of(a.store("ocsp")) == k_www_data);
    CHECK(owner_of(a.store("accounts")) == 0);
    CHECK(owner_of(a.store("domains")) == 0);
    CHECK(owner_of(a.store("md_store.json")) == 0);
  }

  SECTION("a certificate in domains/ is served after a graceful restart") {
    const std::string d = a.store("domains/a.example.test/");
    const run_result made = run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                 d + "privkey.pem", "-out", d + "pubcert.pem", "-days", "30", "-subj",
                                 "/CN=a.example.test", "-addext",
                                 "subjectAltName=DNS:a.example.test,DNS:www.a.example.test"});
    REQUIRE(made.exit_code == 0);
    REQUIRE(a.graceful());
    CHECK(a.status_of("a.example.test") == "200");
    const std::string rsa_real = a.served("a.example.test");
    CHECK(rsa_real.find("subject=CN = a.example.test") != std::string::npos);
    // The MD's second spec has no certificate yet: only the RSA one is served (mod_md #260).
    CHECK(a.served("a.example.test", "ecdsa_secp256r1_sha256").find("subject=") == std::string::npos);

    // A second graceful restart keeps serving it.
    REQUIRE(a.graceful());
    CHECK(a.status_of("www.a.example.test") == "200");
    CHECK(a.log().find("MDA0101") == std::string::npos);
  }
}

TEST_CASE("md.json and httpd.json are written at startup", "[httpd][apache]") {
  ssl_apache a("MDomain a.example.test www.a.example.test\n"
               "Include vhosts.conf\n");
  write_file(a.dir / "vhosts.conf", with_port(k_vhost_a, a.port));
  REQUIRE(a.start());
  INFO(a.log());
  const std::string md = read_file(a.store("domains/a.example.test/md.json"));
  CHECK(md.find("\"name\": \"a.example.test\"") != std::string::npos);
  CHECK(md.find("\"state\": 1") != std::string::npos);
  CHECK(md.find("\"state-descr\": \"certificate(rsa) is missing\"") != std::string::npos);
  CHECK(md.find("\"contacts\": [\n    \"mailto:admin@example.test\"\n  ]") != std::string::npos);
  // A server on a high port reaches neither 80 nor 443.
  CHECK(read_file(a.store("httpd.json")) ==
        "{\n  \"proto\": {\n    \"http\": false,\n    \"https\": false\n  }\n}");
}

TEST_CASE("a staged set is activated before mod_ssl loads the certificates", "[httpd][apache]") {
  ssl_apache a("MDomain a.example.test www.a.example.test\n"
               "Include vhosts.conf\n");
  write_file(a.dir / "vhosts.conf", with_port(k_vhost_a, a.port));
  {
    auto st = mda::fs_store::open(a.store(""));
    REQUIRE(st);
    const mda::managed_domain md = mda::test::staging_md({}, "a.example.test");
    REQUIRE(mda::write_staging(*st, md, mda::test::make_staged_certs(md), mda::test::staged_job(md.name),
                               std::nullopt));
  }
  REQUIRE(a.start());
  INFO(a.log());
  CHECK(a.status_of("a.example.test") == "200");
  CHECK(a.log().find("MDA0125: a.example.test: staged certificates activated") != std::string::npos);
  CHECK(exists(a.store("domains/a.example.test/pubcert.pem")));
  CHECK_FALSE(exists(a.store("staging/a.example.test")));
  CHECK_FALSE(exists(a.store("domains/a.example.test/fallback-pubcert.pem")));
  // md.json keeps the CA that issued the set and is complete.
  const std::string md = read_file(a.store("domains/a.example.test/md.json"));
  CHECK(md.find("\"url\": \"https://127.0.0.1:14000/dir\"") != std::string::npos);
  CHECK(md.find("\"state\": 2") != std::string::npos);
}

TEST_CASE("a staged set behind a symlink is refused and logged, the live certificate stays", "[httpd][apache]") {
  ssl_apache a("MDomain a.example.test www.a.example.test\n"
               "Include vhosts.conf\n");
  write_file(a.dir / "vhosts.conf", with_port(k_vhost_a, a.port));
  const mda::managed_domain md = mda::test::staging_md({}, "a.example.test");
  const std::string staged = a.store("staging/a.example.test");
  const std::string elsewhere = a.dir / "root-only";
  {
    auto st = mda::fs_store::open(a.store(""));
    REQUIRE(st);
    REQUIRE(st->setup_worker_dirs(33, 33)); // as a first start left it
    REQUIRE(mda::write_staging(*st, md, mda::test::make_staged_certs(md), mda::test::staged_job(md.name),
                               std::nullopt));
    REQUIRE(*mda::activate_staging(*st, md.name));
    REQUIRE(mda::write_staging(*st, md, mda::test::make_staged_certs(md), mda::test::staged_job(md.name),
                               std::nullopt));
  }
  const std::string live = read_file(a.store("domains/a.example.test/pubcert.pem"));
  // what the User can do: the staged set moved to a directory root owns, a symlink in its place
  REQUIRE(::rename(staged.c_str(), elsewhere.c_str()) == 0);
  REQUIRE(::chown(elsewhere.c_str(), 0, 0) == 0);
  REQUIRE(::chmod(elsewhere.c_str(), 0700) == 0);
  REQUIRE(::symlink(elsewhere.c_str(), staged.c_str()) == 0);
  const std::string elsewhere_cert = read_file(elsewhere + "/pubcert.pem");
  REQUIRE(a.start());
  INFO(a.log());
  CHECK(a.log().find("MDA0124: activating the staged set of 'a.example.test': loading the staged set: '" + staged +
                     "' is a symbolic link, refused") != std::string::npos);
  CHECK(a.status_of("a.example.test") == "200");
  CHECK(read_file(a.store("domains/a.example.test/pubcert.pem")) == live);
  CHECK_FALSE(exists(a.store("archive")));
  CHECK_FALSE(exists(staged)); // the link is gone, its target is not
  CHECK(read_file(elsewhere + "/pubcert.pem") == elsewhere_cert);
  struct stat sb {};
  REQUIRE(::stat(elsewhere.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0700);
  CHECK(sb.st_uid == 0);
}

TEST_CASE("md.json as Debian's mod_md writes it; a mod_md store is taken over unchanged", "[httpd][apache]") {
  const std::string ca = "https://127.0.0.1:" + std::to_string(free_port()) + "/dir";
  const std::string body = "ServerAdmin web@example.test\n"
                           "MDPrivateKeys RSA 2048 secp256r1\n"
                           "MDRenewWindow 20d\n"
                           "MDRenewMode manual\n"
                           "<MDomain a.example.test www.a.example.test>\n"
                           "  MDRequireHttps permanent\n"
                           "  MDCAChallenges tls-alpn-01 http-01\n"
                           "</MDomain>\n"
                           "MDomain b.example.test manual\n"
                           "Include vhosts.conf\n";
  const std::string vhosts = "<VirtualHost 127.0.0.1:%PORT%>\n"
                             "  ServerName a.example.test\n"
                             "  ServerAlias www.a.example.test more.a.example.test\n"
                             "  Protocols http/1.1 acme-tls/1\n"
                             "  SSLEngine on\n"
                             "</VirtualHost>\n"
                             "<VirtualHost 127.0.0.1:%PORT%>\n"
                             "  ServerName b.example.test\n"
                             "  ServerAlias extra.b.example.test\n"
                             "  SSLEngine on\n"
                             "</VirtualHost>\n";
  ssl_apache theirs(body, k_modules + "/mod_md.so", ca);
  write_file(theirs.dir / "vhosts.conf", with_port(vhosts, theirs.port));
  REQUIRE(theirs.start());
  theirs.stop();
  ssl_apache ours(body, MODULE_PATH, ca);
  write_file(ours.dir / "vhosts.conf", with_port(vhosts, ours.port));
  REQUIRE(ours.start());
  ours.stop();
  for (const char* f : {"domains/a.example.test/md.json", "domains/b.example.test/md.json", "httpd.json"}) {
    INFO(f);
    CHECK(read_file(ours.store(f)) == read_file(theirs.store(f)));
  }
  CHECK(read_file(ours.store("domains/a.example.test/md.json")).find("\"more.a.example.test\"") !=
        std::string::npos);

  // mdactor on the store mod_md wrote: nothing needs rewriting, the fallbacks are reused.
  const auto mtime = [&](const std::string& rel) {
    struct stat sb {};
    ::stat(theirs.store(rel).c_str(), &sb);
    return std::to_string(sb.st_mtim.tv_sec) + "." + std::to_string(sb.st_mtim.tv_nsec);
  };
  const std::vector<std::string> files = {"domains/a.example.test/md.json", "domains/b.example.test/md.json",
                                          "domains/a.example.test/fallback-pubcert.secp256r1.pem", "httpd.json"};
  std::vector<std::string> before;
  for (const auto& f : files) before.push_back(mtime(f));
  std::string conf = read_file(theirs.conf);
  const std::string debian = "LoadModule md_module " + k_modules + "/mod_md.so";
  conf.replace(conf.find(debian), debian.size(), std::string("LoadModule md_module ") + MODULE_PATH);
  write_file(theirs.conf, conf);
  REQUIRE(theirs.start());
  CHECK(theirs.status_of("a.example.test") == "503");
  for (std::size_t i = 0; i < files.size(); ++i) {
    INFO(files[i]);
    CHECK(mtime(files[i]) == before[i]);
  }
}

TEST_CASE("static MDCertificateFile / MDCertificateKeyFile are handed to mod_ssl", "[httpd][apache]") {
  ssl_apache a("<MDomain s.example.test>\n"
               "  MDCertificateFile s.pem\n"
               "  MDCertificateKeyFile s.key\n"
               "</MDomain>\n"
               "Include vhosts.conf\n");
  write_file(a.dir / "vhosts.conf", with_port("<VirtualHost 127.0.0.1:%PORT%>\n"
                                              "  ServerName s.example.test\n"
                                              "  SSLEngine on\n"
                                              "</VirtualHost>\n",
                                              a.port));
  const run_result made = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                               "-nodes", "-keyout", a.dir / "s.key", "-out", a.dir / "s.pem", "-days", "30",
                               "-subj", "/CN=s.example.test", "-addext", "subjectAltName=DNS:s.example.test"});
  REQUIRE(made.exit_code == 0);
  REQUIRE(a.start());
  INFO(a.log());
  CHECK(a.status_of("s.example.test") == "200");
  CHECK(a.served("s.example.test").find("subject=CN = s.example.test") != std::string::npos);
  CHECK_FALSE(exists(a.store("domains/s.example.test/fallback-pubcert.pem")));
}

TEST_CASE("several MDs on one SSL virtual host stop the start", "[httpd][apache]") {
  ssl_apache a("MDomain a.example.test\n"
               "MDomain www.a.example.test\n"
               "Include vhosts.conf\n");
  write_file(a.dir / "vhosts.conf", with_port(k_vhost_a, a.port));
  const run_result r = a.apachectl("start");
  a.wait_generations(1); // must not start; do not leave it running if it does
  CHECK(a.pid() == 0);
  const std::string log = a.log() + r.output;
  CHECK(log.find("MDA0130: conflict: 2 MDs match Virtualhost a.example.test which uses SSL, however there can "
                 "be at most 1.") != std::string::npos);
}

TEST_CASE("startup with 100 MDs and RSA fallbacks (information only)", "[httpd][apache]") {
  std::string mds, vhosts;
  for (int i = 0; i < 100; ++i) {
    const std::string name = "md" + std::to_string(i) + ".example.test";
    mds += "MDomain " + name + "\n";
    vhosts += "<VirtualHost 127.0.0.1:%PORT%>\n  ServerName " + name + "\n  SSLEngine on\n</VirtualHost>\n";
  }
  ssl_apache a("MDPrivateKeys RSA 2048\n" + mds + "Include vhosts.conf\n");
  write_file(a.dir / "vhosts.conf", with_port(vhosts, a.port));
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(a.start());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  CHECK(a.status_of("md42.example.test") == "503");
  CHECK(exists(a.store("domains/md99.example.test/fallback-pubcert.pem")));
  std::cout << "INFO: Apache with 100 MDs (RSA 2048 fallbacks) started in " << ms.count() << " ms\n";
}
