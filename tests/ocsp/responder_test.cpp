// OCSP against a real responder: a test CA made with the `openssl` command line (root ->
// leaf whose AIA points at http://127.0.0.1:<port>/), served by `openssl ocsp` started here
// and stopped by PID. OpenSSL 3.0's `openssl ocsp -port` takes a number only and listens on
// every interface (*:<port>) for the few seconds a test runs.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <arpa/inet.h>
#include <filesystem>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "ocsp/fetch.hpp"
#include "tests/ocsp/ocsp_fixture.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::ocsp;
using namespace std::chrono;
using mda::test::ocsp::background_process;

namespace {

void must_run(const std::vector<std::string>& argv) {
  auto r = test::run(argv);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

/// A CA directory for `openssl ca` and `openssl ocsp -index`.
struct openssl_ca {
  test::temp_dir dir;
  int port = test::free_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  int starts = 0;

  std::string p(const std::string& name) const { return dir / name; }

  void self_signed(const std::string& name, const std::string& subject,
                   const std::vector<std::string>& exts) {
    std::vector<std::string> argv{"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", p(name + ".key"),
                                  "-out", p(name + ".pem"), "-subj", subject, "-days", "2"};
    for (const auto& e : exts) argv.insert(argv.end(), {"-addext", e});
    must_run(argv);
  }
  void issue(const std::string& name, const std::string& cn, const std::string& ext_section) {
    must_run({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + cn});
    must_run({"openssl", "ca", "-batch", "-config", p("ca.cnf"), "-extensions", ext_section,
              "-days", "2", "-notext", "-in", p(name + ".csr"), "-out", p(name + ".pem")});
  }
  void make() {
    self_signed("ca", "/CN=Test OCSP Root",
                {"basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"});
    self_signed("rogue", "/CN=Rogue Responder", {"extendedKeyUsage=OCSPSigning"});
    std::filesystem::create_directory(p("newcerts"));
    test::write_file(p("index.txt"), "");
    test::write_file(p("serial"), "1000\n");
    test::write_file(p("ca.cnf"),
                     "[ca]\ndefault_ca = test_ca\n"
                     "[test_ca]\ndatabase = " + p("index.txt") + "\nnew_certs_dir = " +
                         p("newcerts") + "\ncertificate = " + p("ca.pem") +
                         "\nprivate_key = " + p("ca.key") + "\nserial = " + p("serial") +
                         "\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
                         "[any]\ncommonName = supplied\n"
                         "[leaf_ext]\nbasicConstraints = critical,CA:FALSE\n"
                         "subjectAltName = DNS:leaf.test\n"
                         "authorityInfoAccess = OCSP;URI:" + url + "\n"
                         "[ocsp_ext]\nbasicConstraints = critical,CA:FALSE\n"
                         "keyUsage = critical,digitalSignature\nextendedKeyUsage = OCSPSigning\n");
    issue("leaf", "leaf.test", "leaf_ext");
    issue("responder", "Test OCSP Responder", "ocsp_ext");
  }
  certificate cert(const std::string& name) const {
    auto c = certificate::from_pem(test::read_file(p(name + ".pem")), name);
    REQUIRE(c.ok());
    return *c;
  }
  /// `openssl ocsp` signing with <signer>.pem/.key; it reads index.txt once at start.
  std::unique_ptr<background_process> serve(const std::string& signer) {
    const std::string log = "responder-" + std::to_string(++starts) + ".log";
    auto proc = std::make_unique<background_process>(
        std::vector<std::string>{"openssl", "ocsp", "-index", p("index.txt"), "-port",
                                 std::to_string(port), "-rsigner", p(signer + ".pem"), "-rkey",
                                 p(signer + ".key"), "-CA", p("ca.pem"), "-nmin", "60"},
        p(log));
    INFO(test::read_file(p(log)));
    REQUIRE(mda::test::ocsp::wait_for_text(p(log), "waiting for OCSP client connections", seconds(10)));
    return proc;
  }
};

std::shared_ptr<acme::http_transport> transport() {
  acme::http_options o;
  o.connect_timeout = seconds(2);
  o.read_timeout = seconds(1);
  o.total_timeout = seconds(3);
  auto t = acme::httplib_transport::create(o);
  REQUIRE(t.ok());
  return *t;
}

fetch_params params_for(const openssl_ca& ca) {
  fetch_params fp;
  auto leaf = ca.cert("leaf");
  auto url = responder_url(leaf);
  REQUIRE(url.ok());
  fp.responder_url = *url;
  fp.issuer = ca.cert("ca");
  auto id = cert_id::make(leaf, fp.issuer);
  REQUIRE(id.ok());
  fp.id = *id;
  fp.now = sys_clock::now();
  return fp;
}

} // namespace

TEST_CASE("ocsp responder: openssl ocsp says good, then revoked, rogue signer rejected",
          "[ocsp][responder]") {
  openssl_ca ca;
  ca.make();
  auto http = transport();
  auto fp = params_for(ca);
  CHECK(fp.responder_url == ca.url);

  {
    auto responder = ca.serve("responder");
    auto r = fetch(*http, fp);
    INFO((r.ok() ? "" : r.error().message) << test::read_file(ca.p("responder-1.log")));
    REQUIRE(r.ok());
    CHECK(r->status == cert_status::good);
    CHECK(r->nonce_echoed);
    REQUIRE(r->next_update);
    CHECK(*r->next_update > fp.now + minutes(55));
  }
  {
    // The CA itself as the signer: also acceptable (RFC 6960 §4.2.2.2, first case).
    auto responder = ca.serve("ca");
    auto r = fetch(*http, params_for(ca));
    REQUIRE(r.ok());
    CHECK(r->status == cert_status::good);
  }
  {
    auto responder = ca.serve("rogue");
    auto r = fetch(*http, params_for(ca));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::bad_signature);
    CHECK(r.error().message ==
          "the OCSP response signature is not acceptable: OCSP_basic_verify() failed: "
          "certificate verify error: self-signed certificate (OCSP responder '" + ca.url + "')");
  }
  must_run({"openssl", "ca", "-config", ca.p("ca.cnf"), "-revoke", ca.p("leaf.pem"),
            "-crl_reason", "keyCompromise"});
  {
    auto responder = ca.serve("responder");
    auto r = fetch(*http, params_for(ca));
    REQUIRE(r.ok());
    CHECK(r->status == cert_status::revoked);
    CHECK(r->revocation_reason == 1);
    CHECK(r->revocation_time <= sys_clock::now());
    CHECK(r->revocation_time > sys_clock::now() - minutes(5));
  }
}

TEST_CASE("ocsp responder: HTML and a hanging responder", "[ocsp][responder]") {
  openssl_ca ca;
  ca.make();
  auto http = transport();
  auto fp = params_for(ca);

  SECTION("a responder answering HTML") {
    httplib::Server svr;
    svr.Post("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html><body>Service unavailable</body></html>", "text/html");
    });
    int port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    std::thread th([&] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(milliseconds(5));
    fp.responder_url = "http://127.0.0.1:" + std::to_string(port) + "/";
    auto r = fetch(*http, fp);
    svr.stop();
    th.join();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ocsp_errc::bad_response);
    CHECK(r.error().message ==
          "the responder answered with content type 'text/html', not application/ocsp-response"
          " (OCSP responder '" + fp.responder_url + "')");
  }
  SECTION("a responder answering more than 1 MiB") {
    httplib::Server svr;
    svr.Post("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(2 * 1024 * 1024, '\x30'), "application/ocsp-response");
    });
    int port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    std::thread th([&] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(milliseconds(5));
    fp.responder_url = "http://127.0.0.1:" + std::to_string(port) + "/";
    auto r = fetch(*http, fp);
    svr.stop();
    th.join();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme::acme_errc::body_too_large);
    CHECK(r.error().message == "OCSP request failed: response body from " + fp.responder_url +
                                   " exceeds 1048576 bytes (OCSP responder '" + fp.responder_url + "')");
  }
  SECTION("a responder that never answers") {
    // A listening socket nobody accepts on: the kernel completes the connection, no answer.
    const auto l = test::listen_loopback(4);
    const int fd = l.fd;
    fp.responder_url = "http://127.0.0.1:" + std::to_string(l.port) + "/";
    const auto start = steady_clock::now();
    auto r = fetch(*http, fp);
    const auto took = steady_clock::now() - start;
    ::close(fd);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == acme::acme_errc::timeout);
    CHECK(r.error().message ==
          "OCSP request failed: no answer within 1 s (OCSP responder '" + fp.responder_url + "')");
    CHECK(took < seconds(5));
  }
}
