// mod_mdactor end to end, per challenge type and certificate kind (issue 5 item 5): a real
// Apache (mpm_event, mod_ssl) and a real pebble with pebble-challtestsrv as its DNS, both on
// free loopback ports, everything in temp dirs. Each TEST_CASE starts its own pebble.
// - RSA 2048 and P-256 side by side in one MD: a client that accepts only ECDSA gets the P-256
//   leaf, one that accepts only RSA the RSA leaf, both issued by pebble's intermediate.
// - tls-alpn-01 answered by the module on Apache's https port (pebble's tlsPort).
// - dns-01 through an MDChallengeDns01 script that calls challtestsrv's set-txt / clear-txt,
//   for an MD with a wildcard name.
// - static MDCertificateFile / MDCertificateKeyFile: served as they are, no order at pebble,
//   shown by md-status; an ACME MD next to it proves the engine talked to pebble meanwhile.
// - MDRequireHttps permanent with a pebble certificate: 301 to the public https port, HSTS on
//   https, and the http-01 challenge path is not redirected (certification needs it).
// md-status is checked against mod_md's md_status.c: one "cert" entry per key spec (static
// files: per index "0", "1"), renew-at = the renew window's start, and neither "renew" nor
// "renewal" while nothing is due and nothing is staged.
// Tags [httpd][e2e][challenges].
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/apache.hpp"
#include "tests/support/pebble.hpp"
#include "tests/support/tls_probe.hpp"
#include "tests/test_util.hpp"

using namespace mda::test;

namespace {


std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// A private Apache with an http and an https listener, the module, pebble as its CA and a
/// md-status handler on /md-status.
struct acme_apache : private_apache {
  const pebble_fixture& pebble;
  int http = 0, https = 0;

  acme_apache(const pebble_fixture& p, int http_port, int https_port)
      : pebble(p), http(http_port), https(https_port) {}

  /// Writes httpd.conf: the common part, then `body`, with %HTTP% / %HTTPS% replaced.
  void configure(const std::string& body) {
    std::string text = base_conf("event") +
                       "Listen 127.0.0.1:%HTTP%\nListen 127.0.0.1:%HTTPS% https\n"
                       "LoadModule md_module " + std::string(MODULE_PATH) + "\n"
                       "MDCertificateAuthority " + pebble.directory_url() + "\n"
                       "MDCACertificateFile " + pebble.ca_file() + "\n"
                       "MDCertificateAgreement accepted\nMDContactEmail admin@example.test\n"
                       "MDPortMap http:%HTTP% https:%HTTPS%\nMDRetryDelay 1s\n"
                       "<Location /md-status>\n  SetHandler md-status\n</Location>\n" + body;
    const std::pair<std::string, std::string> tags[] = {
        {"%HTTP%", std::to_string(http)}, {"%HTTPS%", std::to_string(https)}};
    for (const auto& [tag, value] : tags) {
      for (auto at = text.find(tag); at != std::string::npos; at = text.find(tag)) text.replace(at, tag.size(), value);
    }
    write_file(conf, text);
  }

  /// Waits up to `seconds` until staging/<md>/job.json says "finished": true.
  bool wait_staged(const std::string& md, int seconds) const {
    const std::string job = store("staging/" + md + "/job.json");
    for (int i = 0; i < seconds * 10; ++i) {
      if (path_exists(job) && read_file(job).find("\"finished\": true") != std::string::npos) return true;
      ::usleep(100'000);
    }
    return false;
  }

  std::string staged_job; ///< staging/<md>/job.json as certify() saw it before activation

  /// Staged, then a graceful restart that activates it.
  bool certify(const std::string& md, int seconds = 60) {
    if (!wait_staged(md, seconds)) return false;
    staged_job = read_file(store("staging/" + md + "/job.json"));
    return graceful() && log().find("MDA0125: " + md + ": staged certificates activated") != std::string::npos;
  }
};

struct response {
  std::string status, headers, body;
  bool has_header(const std::string& line) const { return headers.find(line + "\r\n") != std::string::npos; }
};

/// GET with curl, no redirects followed; `ca` "" means TLS is not verified.
response get(const acme_apache& a, const std::string& scheme, int port, const std::string& host,
             const std::string& path, const std::string& ca = "") {
  const std::string hp = host + ":" + std::to_string(port);
  std::vector<std::string> argv = {"curl", "-s", "-o", a.dir / "body", "-D", a.dir / "headers", "-w",
                                   "%{http_code}", "--max-time", "10", "--resolve", hp + ":127.0.0.1"};
  if (ca.empty()) argv.push_back("-k");
  else argv.insert(argv.end(), {"--cacert", ca});
  argv.push_back(scheme + "://" + hp + path);
  response out;
  out.status = run(argv).output;
  out.headers = path_exists(a.dir / "headers") ? read_file(a.dir / "headers") : "";
  out.body = path_exists(a.dir / "body") ? read_file(a.dir / "body") : "";
  ::unlink((a.dir / "body").c_str());
  ::unlink((a.dir / "headers").c_str());
  return out;
}

/// The subject of pebble's (only) intermediate, which issues every certificate.
std::string pebble_intermediate(const pebble_fixture& p) {
  const run_result r = run({"curl", "-s", "--cacert", p.ca_file(), p.management_url() + "/intermediates/0"});
  return cert_subject(r.output);
}

/// An executable dns-01 script (run as the User) that sets / clears TXT in challtestsrv.
std::string write_dns01_script(const acme_apache& a) {
  const std::string script = a.dir / "dns01.sh";
  write_file(script, "#!/bin/sh\n"
                     "url=" + a.pebble.challtestsrv_url() + "\n"
                     "echo \"$@\" >> " + a.dir / "marks/dns01.calls" + "\n"
                     "case \"$1\" in\n"
                     "setup) curl -sf -X POST -d \"{\\\"host\\\":\\\"_acme-challenge.$2.\\\",\\\"value\\\":"
                     "\\\"$3\\\"}\" $url/set-txt ;;\n"
                     "teardown) curl -sf -X POST -d \"{\\\"host\\\":\\\"_acme-challenge.$2.\\\"}\" $url/clear-txt ;;\n"
                     "*) exit 2 ;;\n"
                     "esac\n");
  ::chmod(script.c_str(), 0755);
  ::mkdir((a.dir / "marks").c_str(), 0777);
  ::chmod((a.dir / "marks").c_str(), 0777);
  return script;
}

/// "AB:CD:.." (openssl) -> "abcd.." (md-status' sha256-fingerprint).
std::string status_fingerprint(std::string fp) {
  fp.erase(std::remove(fp.begin(), fp.end(), ':'), fp.end());
  std::transform(fp.begin(), fp.end(), fp.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return fp;
}

/// Seconds since the epoch of an `openssl x509 -dates` value, with `date`.
long long epoch_of(const std::string& openssl_date) {
  return std::stoll(run({"date", "-u", "-d", openssl_date, "+%s"}).output);
}

/// mod_md's renew-at (md_reg_renew_at): the start of the last `percent` of the validity.
std::string renew_at_of(const std::string& cert_file, int percent) {
  const std::string dates = run({"openssl", "x509", "-noout", "-dates", "-in", cert_file}).output;
  const auto value = [&](const std::string& key) {
    const auto at = dates.find(key) + key.size();
    return dates.substr(at, dates.find('\n', at) - at);
  };
  const long long from = epoch_of(value("notBefore=")), until = epoch_of(value("notAfter="));
  const long long at = until - (until - from) * percent / 100;
  std::string text = run({"env", "LC_ALL=C", "date", "-u", "-d", "@" + std::to_string(at),
                          "+%a, %d %b %Y %H:%M:%S GMT"}).output;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

const std::string k_vhosts_a = "<VirtualHost 127.0.0.1:%HTTP%>\n  ServerName a.example.test\n</VirtualHost>\n"
                               "<VirtualHost 127.0.0.1:%HTTPS%>\n  ServerName a.example.test\n  SSLEngine on\n"
                               "</VirtualHost>\n";

} // namespace

TEST_CASE("RSA and P-256 certificates side by side, each served to the client that asks for it",
          "[httpd][e2e][challenges]") {
  const int http = free_port(), https = free_port();
  pebble_options po;
  po.http_port = http;
  pebble_fixture pebble(po);
  acme_apache a(pebble, http, https);
  a.configure("<MDomain a.example.test>\n  MDPrivateKeys RSA 2048 secp256r1\n  MDCAChallenges http-01\n"
              "</MDomain>\n" + k_vhosts_a);
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  REQUIRE(a.certify("a.example.test"));
  INFO(a.log());
  const std::string root = pebble.write_root_file();
  const std::string issuer = pebble_intermediate(pebble);
  REQUIRE(issuer.rfind("CN=Pebble Intermediate CA ", 0) == 0);
  const served_leaf rsa_file = describe_cert_file(a.store("domains/a.example.test/pubcert.pem"));
  const served_leaf ec_file = describe_cert_file(a.store("domains/a.example.test/pubcert.secp256r1.pem"));
  CHECK(rsa_file.key_type == "RSA 2048");
  CHECK(ec_file.key_type == "EC prime256v1");

  struct ask {
    const char* what;
    std::vector<std::string> args;
    const served_leaf& expected;
  };
  const ask asks[] = {
      {"TLS 1.3, ECDSA signatures only", {"-tls1_3", "-sigalgs", "ECDSA+SHA256"}, ec_file},
      {"TLS 1.3, RSA-PSS signatures only", {"-tls1_3", "-sigalgs", "RSA-PSS+SHA256"}, rsa_file},
      {"TLS 1.2, ECDHE-ECDSA cipher only", {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, ec_file},
      {"TLS 1.2, ECDHE-RSA cipher only", {"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}, rsa_file},
  };
  for (const auto& q : asks) {
    std::vector<std::string> args = q.args;
    args.insert(args.end(), {"-CAfile", root});
    const served_leaf seen = probe_tls(https, "a.example.test", args);
    INFO(q.what << "\n" << seen.transcript);
    CHECK(seen.key_type == q.expected.key_type);
    CHECK(seen.fingerprint == q.expected.fingerprint);
    CHECK(seen.issuer == issuer);
    CHECK(seen.san == "DNS:a.example.test");
    CHECK(seen.verify_result == "0 (ok)");
  }
  CHECK(get(a, "https", https, "a.example.test", "/index.html", root).status == "200");
  // md-status has one entry per key spec, named by the spec.
  const response st = get(a, "http", http, "localhost", "/md-status/a.example.test");
  INFO(st.body);
  const auto rsa_at = st.body.find("\"rsa\": {"), ec_at = st.body.find("\"secp256r1\": {");
  REQUIRE(rsa_at != std::string::npos);
  REQUIRE(ec_at != std::string::npos);
  CHECK(st.body.find("\"sha256-fingerprint\": \"" + status_fingerprint(rsa_file.fingerprint), rsa_at) < ec_at);
  CHECK(st.body.find("\"sha256-fingerprint\": \"" + status_fingerprint(ec_file.fingerprint), ec_at) !=
        std::string::npos);
  // Activated and far from its renew window: nothing due, no staging job (mod_md
  // md_reg_should_renew false, so neither "renew" nor "renewal").
  CHECK(st.body.find("\"renew\": true") == std::string::npos);
  CHECK(st.body.find("\"renewal\"") == std::string::npos);
}

TEST_CASE("tls-alpn-01 through Apache's https port", "[httpd][e2e][challenges]") {
  const int http = free_port(), https = free_port();
  pebble_options po;
  po.tls_port = https; // pebble's http port: a free one nobody listens on
  pebble_fixture pebble(po);
  acme_apache a(pebble, http, https);
  a.configure("<MDomain t.example.test>\n  MDCAChallenges tls-alpn-01\n</MDomain>\n"
              "<VirtualHost 127.0.0.1:%HTTPS%>\n  ServerName t.example.test\n  Protocols acme-tls/1 http/1.1\n"
              "  SSLEngine on\n</VirtualHost>\n");
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  CHECK(get(a, "https", https, "t.example.test", "/index.html").status == "503");
  REQUIRE(a.certify("t.example.test"));
  INFO(a.log());
  CHECK(a.log().find("MDA0163: t.example.test: answering the tls-alpn-01 challenge") != std::string::npos);
  INFO(a.staged_job);
  CHECK(a.staged_job.find("tls-alpn-01:t.example.test") != std::string::npos);
  CHECK(a.staged_job.find("http-01") == std::string::npos);
  const std::string root = pebble.write_root_file();
  const served_leaf seen = probe_tls(https, "t.example.test", {"-CAfile", root});
  INFO(seen.transcript);
  CHECK(seen.issuer == pebble_intermediate(pebble));
  CHECK(seen.san == "DNS:t.example.test");
  CHECK(seen.verify_result == "0 (ok)");
  CHECK(get(a, "https", https, "t.example.test", "/index.html", root).status == "200");
  // Challenge files are gone once the order is done.
  CHECK_FALSE(path_exists(a.store("challenges/t.example.test/acme-tls-alpn-01-pubcert.pem")));
}

TEST_CASE("dns-01 through an MDChallengeDns01 script and challtestsrv, with a wildcard",
          "[httpd][e2e][challenges]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble; // http-01 / tls-alpn-01 would go to ports nobody listens on
  acme_apache a(pebble, http, https);
  const std::string script = write_dns01_script(a);
  a.configure("MDChallengeDns01 " + script + "\n"
              "<MDomain example.test *.example.test>\n  MDCAChallenges dns-01\n</MDomain>\n"
              "<VirtualHost 127.0.0.1:%HTTPS%>\n  ServerName example.test\n  ServerAlias *.example.test\n"
              "  SSLEngine on\n</VirtualHost>\n");
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  REQUIRE(a.certify("example.test"));
  INFO(a.log());
  const std::string calls = read_file(a.dir / "marks/dns01.calls");
  INFO(calls);
  // Both authorizations (example.test and *.example.test) are for the name example.test.
  CHECK(count_of(calls, "setup example.test ") == 2);
  CHECK(count_of(calls, "teardown example.test") == 2);
  const std::string root = pebble.write_root_file();
  const std::string issuer = pebble_intermediate(pebble);
  for (const char* name : {"example.test", "www.example.test", "x.example.test"}) {
    const served_leaf seen = probe_tls(https, name, {"-CAfile", root});
    INFO(name << "\n" << seen.transcript);
    CHECK(seen.issuer == issuer);
    CHECK(seen.san == "DNS:example.test, DNS:*.example.test");
    CHECK(seen.verify_result == "0 (ok)");
  }
  CHECK(get(a, "https", https, "x.example.test", "/index.html", root).status == "200");
}

TEST_CASE("static MDCertificateFile / MDCertificateKeyFile are served as they are, with no order",
          "[httpd][e2e][challenges]") {
  const int http = free_port(), https = free_port();
  pebble_options po;
  po.http_port = http;
  pebble_fixture pebble(po);
  acme_apache a(pebble, http, https);
  // A static certificate from a CA of the test's own, made now.
  const std::string ca_key = a.dir / "static-ca.key", ca = a.dir / "static-ca.pem";
  REQUIRE(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=static test CA"})
              .exit_code == 0);
  REQUIRE(run({"openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", a.dir / "s.key", "-out",
               a.dir / "s.csr", "-subj", "/CN=s.example.test"})
              .exit_code == 0);
  write_file(a.dir / "s.ext", "subjectAltName=DNS:s.example.test\n");
  REQUIRE(run({"openssl", "x509", "-req", "-in", a.dir / "s.csr", "-CA", ca, "-CAkey", ca_key, "-set_serial",
               "0x5A7A", "-days", "2", "-extfile", a.dir / "s.ext", "-out", a.dir / "s.pem"})
              .exit_code == 0);
  a.configure("<MDomain s.example.test>\n  MDCertificateFile s.pem\n  MDCertificateKeyFile s.key\n</MDomain>\n"
              "<MDomain a.example.test>\n  MDCAChallenges http-01\n</MDomain>\n" + k_vhosts_a +
              "<VirtualHost 127.0.0.1:%HTTPS%>\n  ServerName s.example.test\n  SSLEngine on\n</VirtualHost>\n");
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  const served_leaf file = describe_cert_file(a.dir / "s.pem");
  const auto check_served = [&] {
    const served_leaf seen = probe_tls(https, "s.example.test", {"-CAfile", ca});
    INFO(seen.transcript);
    CHECK(seen.fingerprint == file.fingerprint);
    CHECK(seen.issuer == "CN=static test CA");
    CHECK(seen.verify_result == "0 (ok)");
    CHECK(get(a, "https", https, "s.example.test", "/index.html", ca).status == "200");
  };
  check_served(); // from the first start on, no 503

  // The ACME MD beside it is certified: the engine did talk to pebble, once.
  REQUIRE(a.certify("a.example.test"));
  INFO(a.log() << "\npebble:\n" << pebble.pebble_log());
  CHECK(count_of(pebble.pebble_log(), "Issued certificate serial") == 1);
  CHECK_FALSE(path_exists(a.store("staging/s.example.test")));
  check_served();

  // md-status shows the static certificate (keyed by its index, as mod_md does).
  const response st = get(a, "http", http, "localhost", "/md-status/s.example.test");
  INFO(st.body);
  CHECK(st.status == "200");
  CHECK(st.body.find("\"name\": \"s.example.test\"") != std::string::npos);
  CHECK(st.body.find("\"cert-files\": [\n    \"" + a.dir / "s.pem\"\n  ]") != std::string::npos);
  // mod_md names the entries of static files by their index (md_status.c get_cert_name).
  CHECK(st.body.find("\"cert\": {\n    \"0\": {") != std::string::npos);
  CHECK(st.body.find("\"sha256-fingerprint\": \"" + status_fingerprint(file.fingerprint) + "\"") !=
        std::string::npos);
  CHECK(st.body.find("\"serial\": \"5A7A\"") != std::string::npos);
  CHECK(st.body.find("\"issuer-name\": \"/CN=static test CA\"") != std::string::npos);
  // Never renewed: renew-at is where the renew window (33%) would start, and no renewal is
  // due or under way (mod_md md_reg_renew_at, md_reg_should_renew). MDRenewMode auto of a
  // static MD is made manual, as mod_md's state_init does (its suite, 920_011).
  CHECK(a.log().find("MDA0142: engine: s.example.test: decision: none, MDRenewMode is manual") !=
        std::string::npos);
  CHECK(st.body.find("\"renew-mode\": 0") != std::string::npos);
  const std::string renew_at = renew_at_of(a.dir / "s.pem", 33);
  INFO("expected renew-at: " << renew_at);
  CHECK(st.body.find("\"renew-at\": \"" + renew_at + "\"") != std::string::npos);
  CHECK(st.body.find("\"renew\": true") == std::string::npos);
  CHECK(st.body.find("\"renewal\"") == std::string::npos);
}

TEST_CASE("MDRequireHttps permanent: 301 to the public https port and HSTS, with a pebble certificate",
          "[httpd][e2e][challenges]") {
  const int http = free_port(), https = free_port();
  pebble_options po;
  po.http_port = http;
  pebble_fixture pebble(po);
  acme_apache a(pebble, http, https);
  a.configure("<MDomain a.example.test>\n  MDRequireHttps permanent\n  MDCAChallenges http-01\n</MDomain>\n" +
              k_vhosts_a);
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  // http-01 works although every other http request is redirected.
  REQUIRE(a.certify("a.example.test"));
  INFO(a.log());
  const std::string root = pebble.write_root_file();
  const std::string base = "https://a.example.test"; // port 443, which MDPortMap maps to ours

  const response redirect = get(a, "http", http, "a.example.test", "/x/y?q=1");
  CHECK(redirect.status == "301");
  CHECK(redirect.has_header("Location: " + base + "/x/y?q=1"));
  CHECK(redirect.headers.find("Strict-Transport-Security") == std::string::npos); // never on http
  const response root_page = get(a, "http", http, "a.example.test", "/");
  CHECK(root_page.status == "301");
  CHECK(root_page.has_header("Location: " + base + "/"));

  const response secure = get(a, "https", https, "a.example.test", "/index.html", root);
  CHECK(secure.status == "200");
  CHECK(secure.body == "hello\n");
  CHECK(secure.has_header("Strict-Transport-Security: max-age=15768000"));
  const response missing = get(a, "https", https, "a.example.test", "/nothing-here", root);
  CHECK(missing.status == "404");
  CHECK(missing.has_header("Strict-Transport-Security: max-age=15768000"));
  // Following the redirect (port 443 is where the test's "NAT" sends https) ends on the pebble
  // certificate, verified.
  const run_result follow = run({"curl", "-s", "-L", "-o", "/dev/null", "-w", "%{http_code} %{url_effective}",
                                 "--max-time", "10", "--cacert", root, "--resolve",
                                 "a.example.test:" + std::to_string(http) + ":127.0.0.1", "--connect-to",
                                 "a.example.test:443:127.0.0.1:" + std::to_string(https),
                                 "http://a.example.test:" + std::to_string(http) + "/index.html"});
  CHECK(follow.output == "200 " + base + "/index.html");
}
