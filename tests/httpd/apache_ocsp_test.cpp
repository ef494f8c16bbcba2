// OCSP stapling by mod_mdactor in a real Apache (mpm_event, mod_ssl; issue 6 items 3 and 5):
// a test CA made here (root, its delegated OCSP signer, an unrelated self-signed "rogue"),
// leaf certificates whose AIA points at an `openssl ocsp` responder on loopback, served as
// static MDCertificateFile MDs (and one plain SSLCertificateFile vhost for MDStapleOthers).
// - [ocsp-stapling]: the handshake side alone. The test writes the stored responses itself
//   (ocsp/persist.hpp format) and `openssl s_client -status` shows them after the workers'
//   cache noticed the file: good, revoked, expired (not stapled), a certificate without OCSP
//   URL (quietly not stapled), a vhost outside any MD (file under ocsp/other, its PEM handed
//   to the engine), still there after a graceful restart.
// - [ocsp-engine]: with the engine's responder actors and a real responder: good stapled; the
//   responder stopped and Apache restarted: still stapled from the store; revoked in the
//   responder's index: md-status shows cert.<spec>.ocsp.status "revoked", the revoked
//   response is stapled, and MDMessageCmd got "ocsp-renewed <md>" (reference §5.6, §7: a
//   revoked answer is a successful fetch; the event is rate-limited to one a day per MD, so
//   the fetch after the revocation does not fire it again; a static MD is not renewed); a
//   responder signing with an unrelated key: rejected, nothing stored or stapled, the error
//   in md-status and "ocsp-errored <md>".
// Facts: `openssl ocsp` reads its index once at start and stalls after a bare TCP connect,
// so readiness is its log line, never a probe.
#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ocsp/persist.hpp"
#include "ocsp/request.hpp"
#include "store/fs_io.hpp"
#include "store/fs_store.hpp"
#include "store/live.hpp"
#include "tests/ocsp/ocsp_fixture.hpp"
#include "tests/support/apache.hpp"
#include "tests/support/etcd.hpp"
#include "tests/support/pebble.hpp"
#include "tests/support/rr_proxy.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;
using namespace std::chrono;
using mda::test::ocsp::background_process;
using mda::test::ocsp::issued;

namespace {

std::string text_of(const std::string& path) { return path_exists(path) ? read_file(path) : std::string(); }

bool eventually(const std::function<bool()>& ok, seconds limit) {
  const auto until = steady_clock::now() + limit;
  while (steady_clock::now() < until) {
    if (ok()) return true;
    std::this_thread::sleep_for(milliseconds(200));
  }
  return ok();
}

std::string pem_of(const certificate& c) {
  auto p = c.to_pem();
  REQUIRE(p.ok());
  return *p;
}

/// "YYMMDDHHMMSSZ", the time form of openssl's index.txt.
std::string index_time(sys_time t) {
  const std::time_t tt = static_cast<std::time_t>(to_unix(t));
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%y%m%d%H%M%SZ", &tm);
  return buf;
}

/// The CA, its responders and leaves, as files for Apache and `openssl ocsp`.
struct stapling_pki {
  temp_dir dir;
  int port = free_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  issued ca, responder, rogue;
  int starts = 0;

  stapling_pki() {
    const sys_time from = system_clock::now() - hours(1), until = system_clock::now() + hours(24 * 30);
    ca = test::ocsp::make_cert({"Test Stapling CA", true, "", false, from, until}, nullptr);
    responder = test::ocsp::make_cert({"Test Stapling Responder", false, "", true, from, until}, &ca);
    rogue = test::ocsp::make_cert({"Rogue Responder", false, "", true, from, until}, nullptr);
    ::chmod(dir.path().c_str(), 0755);
    write_pair("ca", ca);
    write_pair("responder", responder);
    write_pair("rogue", rogue);
  }
  std::string p(const std::string& name) const { return dir / name; }

  /// <name>.pem and <name>.key.
  void write_pair(const std::string& name, const issued& c) const {
    write_file(p(name + ".pem"), pem_of(c.cert));
    auto key = c.key.to_pem();
    REQUIRE(key.ok());
    write_file(p(name + ".key"), *key);
    ::chmod(p(name + ".key").c_str(), 0644);
  }
  /// A P-256 leaf for `cn` (also its SAN) issued by the CA with `openssl x509 -req`, with the
  /// responder's URL unless `with_ocsp` is off: <cn>.pem (leaf, CA) and <cn>.key.
  certificate leaf(const std::string& cn, bool with_ocsp = true) const {
    const std::string ext = p(cn + ".ext");
    write_file(ext, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "subjectAltName=DNS:" + cn + "\n" +
                    (with_ocsp ? "authorityInfoAccess=OCSP;URI:" + url + "\n" : std::string()));
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
              p(cn + ".key"), "-out", p(cn + ".csr"), "-subj", "/CN=" + cn},
             {"openssl", "x509", "-req", "-in", p(cn + ".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
              "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext, "-out", p(cn + ".leaf.pem")}}) {
      const run_result r = run(argv);
      INFO(r.output);
      REQUIRE(r.exit_code == 0);
    }
    ::chmod(p(cn + ".key").c_str(), 0644);
    auto c = certificate::from_pem(read_file(p(cn + ".leaf.pem")), cn);
    REQUIRE(c.ok());
    write_file(p(cn + ".pem"), pem_of(*c) + pem_of(ca.cert));
    return *c;
  }
  /// index.txt with one line per certificate: valid, or revoked an hour ago.
  void write_index(const std::vector<std::pair<certificate, bool>>& certs) const {
    std::string text;
    for (const auto& [c, revoked] : certs) {
      text += std::string(revoked ? "R" : "V") + "\t" + index_time(c.not_after()) + "\t" +
              (revoked ? index_time(system_clock::now() - hours(1)) + ",keyCompromise" : "") + "\t" +
              c.serial_hex() + "\tunknown\t" + c.subject_name() + "\n";
    }
    write_file(p("index.txt"), text);
  }
  /// `openssl ocsp` on `port`, signing as <signer>, responses valid for `minutes`.
  std::unique_ptr<background_process> serve(const std::string& signer, int minutes = 2) {
    const std::string log = p("responder-" + std::to_string(++starts) + ".log");
    auto proc = std::make_unique<background_process>(
        std::vector<std::string>{"openssl", "ocsp", "-index", p("index.txt"), "-port", std::to_string(port),
                                 "-rsigner", p(signer + ".pem"), "-rkey", p(signer + ".key"), "-CA",
                                 p("ca.pem"), "-nmin", std::to_string(minutes)},
        log);
    INFO(read_file(log));
    REQUIRE(test::ocsp::wait_for_text(log, "waiting for OCSP client connections", seconds(10)));
    return proc;
  }
  /// A DER response for `leaf` signed by the CA, valid from now - 1 min for `validity`.
  std::string response(const certificate& l, int cert_status, sys_time next_update) const {
    auto id = mda::ocsp::cert_id::make(l, ca.cert);
    REQUIRE(id.ok());
    test::ocsp::response_options o;
    o.cert_status = cert_status;
    o.revoked_at = system_clock::now() - hours(1);
    o.this_update = system_clock::now() - minutes(1);
    o.next_update = next_update;
    return test::ocsp::make_response(*id, ca, o);
  }
};

std::string key_of(const certificate& l) {
  auto k = mda::ocsp::cert_key(l);
  REQUIRE(k.ok());
  return *k;
}

/// Apache with an http listener (md-status) and an https one.
struct stapling_apache : private_apache {
  int http = free_port(), https = free_port();
  std::string messages = dir / "msgs/messages.txt";

  /// `sites`: the vhosts and MD sections; `extra`: module directives.
  void configure(const std::string& extra, const std::string& sites) {
    const std::string script = dir / "msg.sh";
    ::mkdir((dir / "msgs").c_str(), 0777);
    ::chmod((dir / "msgs").c_str(), 0777);
    write_file(script, "#!/bin/sh\necho \"$@\" >> " + messages + "\n");
    ::chmod(script.c_str(), 0755);
    write_file(conf, base_conf("event") +
                         "Listen 127.0.0.1:" + std::to_string(http) + "\n"
                         "Listen 127.0.0.1:" + std::to_string(https) + " https\n"
                         "LoadModule md_module " + MODULE_PATH + "\n"
                         "MDCertificateAuthority http://127.0.0.1:1/dir\n"
                         "MDCertificateAgreement accepted\n"
                         "MDContactEmail admin@example.test\n"
                         "MDPortMap http:" + std::to_string(http) + " https:" + std::to_string(https) + "\n"
                         "MDRetryDelay 1s\n"
                         "MDMessageCmd " + script + "\n"
                         "MDStapling on\n" + extra +
                         "<Location /md-status>\n  SetHandler md-status\n</Location>\n" + sites);
  }
  /// configure(), then start() (required to succeed).
  void start_with(const std::string& extra, const std::string& sites) {
    configure(extra, sites);
    const bool started = start();
    INFO(log());
    REQUIRE(started);
  }
  /// An MD with static files <pki>/<name>.pem/.key and its SSL vhost.
  static std::string md_site(const stapling_pki& pki, const std::string& name, int https) {
    return "<MDomain " + name + ">\n"
           "  MDCertificateFile " + pki.p(name + ".pem") + "\n"
           "  MDCertificateKeyFile " + pki.p(name + ".key") + "\n"
           "</MDomain>\n"
           "<VirtualHost 127.0.0.1:" + std::to_string(https) + ">\n"
           "  ServerName " + name + "\n  SSLEngine on\n</VirtualHost>\n";
  }
  /// An SSL vhost with SSLCertificateFile, no MD.
  static std::string plain_site(const stapling_pki& pki, const std::string& name, int https) {
    return "<VirtualHost 127.0.0.1:" + std::to_string(https) + ">\n"
           "  ServerName " + name + "\n  SSLEngine on\n"
           "  SSLCertificateFile " + pki.p(name + ".pem") + "\n"
           "  SSLCertificateKeyFile " + pki.p(name + ".key") + "\n</VirtualHost>\n";
  }

  /// `openssl s_client -status` for SNI `host`: the whole output.
  std::string status_seen(const std::string& host) const {
    return run({"timeout", "10", "openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(https),
                "-servername", host, "-status"})
        .output;
  }
  bool stapled(const std::string& host, const std::string& cert_status) const {
    const std::string out = status_seen(host);
    return out.find("OCSP Response Status: successful") != std::string::npos &&
           out.find("Cert Status: " + cert_status) != std::string::npos;
  }
  bool not_stapled(const std::string& host) const {
    return status_seen(host).find("OCSP response: no response sent") != std::string::npos;
  }
  std::string md_status(const std::string& md) const {
    return run({"curl", "-s", "--max-time", "10", "http://127.0.0.1:" + std::to_string(http) + "/md-status/" + md})
        .output;
  }
  std::string response_file(const std::string& owner, const std::string& key) const {
    return store("ocsp/" + owner + "/ocsp-" + key + ".json");
  }
};

/// Writes a stored response as the engine would (the format of ocsp/persist.hpp).
void store_response(const stapling_apache& a, const std::string& owner, const std::string& key,
                    mda::ocsp::cert_status st, const std::string& der, sys_time until) {
  auto fs = fs_store::open(a.dir / "md");
  REQUIRE(fs.ok());
  mda::ocsp::stored_response s;
  s.status = st;
  s.der = der;
  s.valid = {system_clock::now() - minutes(1), until};
  REQUIRE(mda::ocsp::save_stored(*fs, owner, key, s).ok());
}

/// store_response of a response for `leaf` with `st`, valid for an hour.
void store_for_an_hour(const stapling_apache& a, const stapling_pki& pki, const std::string& owner,
                       const certificate& leaf, mda::ocsp::cert_status st) {
  const sys_time until = system_clock::now() + hours(1);
  const int code = st == mda::ocsp::cert_status::revoked ? 1 : 0;
  store_response(a, owner, key_of(leaf), st, pki.response(leaf, code, until), until);
}

} // namespace

TEST_CASE("stapling: Apache staples the stored response from its workers' cache",
          "[httpd][apache][ocsp-stapling]") {
  stapling_pki pki; // no responder runs: the engine's fetches fail, the test writes the files
  const certificate a_leaf = pki.leaf("a.example.test");
  const certificate b_leaf = pki.leaf("b.example.test", false);
  const certificate c_leaf = pki.leaf("c.example.test");
  stapling_apache a;
  a.configure("", stapling_apache::md_site(pki, "a.example.test", a.https) +
                      stapling_apache::md_site(pki, "b.example.test", a.https) +
                      stapling_apache::plain_site(pki, "c.example.test", a.https));
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  const std::string ka = key_of(a_leaf), kc = key_of(c_leaf);

  // Registered (a: its MD, c: "other"); b has no OCSP URL: quietly left out.
  const std::string log = a.log();
  CHECK(log.find("MDA0183: a.example.test: stapling OCSP responses for certificate " + ka) != std::string::npos);
  CHECK(log.find("MDA0183: other: stapling OCSP responses for certificate " + kc) != std::string::npos);
  // mod_md's words, matched by its test suite (801_012): "md[<owner>]: certificate with serial ..."
  CHECK(log.find("MDA0181: md[b.example.test]: certificate with serial " + b_leaf.serial_hex() +
                 " has no OCSP responder URL") !=
        std::string::npos);
  // The PEM of the non-MD certificate is handed to the engine through the store.
  const std::string other_pem = a.store("ocsp/other/cert-" + kc + ".pem");
  REQUIRE(path_exists(other_pem));
  CHECK(read_file(other_pem) == pem_of(c_leaf) + pem_of(pki.ca.cert));
  CHECK(read_file(a.store("mdactor-engine.json")).find(other_pem) != std::string::npos);

  // Nothing stored yet: nothing stapled.
  CHECK(a.not_stapled("a.example.test"));
  CHECK(a.not_stapled("b.example.test"));

  // A good response appears in the store: stapled without a restart (the cache re-reads).
  store_response(a, "a.example.test", ka, mda::ocsp::cert_status::good,
                 pki.response(a_leaf, 0, system_clock::now() + hours(1)), system_clock::now() + hours(1));
  CHECK(eventually([&] { return a.stapled("a.example.test", "good"); }, seconds(10)));
  const std::string seen = a.status_seen("a.example.test");
  CHECK(seen.find("OCSP Response Data:") != std::string::npos);
  CHECK(seen.find("Responder Id: CN = Test Stapling CA") != std::string::npos);

  // Replaced by a revoked one: stapled as it is.
  store_response(a, "a.example.test", ka, mda::ocsp::cert_status::revoked,
                 pki.response(a_leaf, 1, system_clock::now() + hours(1)), system_clock::now() + hours(1));
  CHECK(eventually([&] { return a.stapled("a.example.test", "revoked"); }, seconds(10)));

  // Expired: not stapled any more.
  store_response(a, "a.example.test", ka, mda::ocsp::cert_status::good,
                 pki.response(a_leaf, 0, system_clock::now() - seconds(1)), system_clock::now() - seconds(1));
  CHECK(eventually([&] { return a.not_stapled("a.example.test"); }, seconds(10)));

  // The certificate outside any MD, under "other".
  store_response(a, "other", kc, mda::ocsp::cert_status::good,
                 pki.response(c_leaf, 0, system_clock::now() + hours(1)), system_clock::now() + hours(1));
  CHECK(eventually([&] { return a.stapled("c.example.test", "good"); }, seconds(10)));
  CHECK(a.not_stapled("b.example.test"));

  // After a graceful restart: registered again, stapled from the store at once.
  store_response(a, "a.example.test", ka, mda::ocsp::cert_status::good,
                 pki.response(a_leaf, 0, system_clock::now() + hours(1)), system_clock::now() + hours(1));
  REQUIRE(a.graceful());
  CHECK(a.stapled("a.example.test", "good"));
  CHECK(a.stapled("c.example.test", "good"));
  CHECK(a.log().find("MDA0189") == std::string::npos);
}

TEST_CASE("stapling: without MDStapleOthers a vhost outside any MD is not stapled",
          "[httpd][apache][ocsp-stapling]") {
  stapling_pki pki;
  const certificate c_leaf = pki.leaf("c.example.test");
  stapling_apache a;
  a.start_with("MDStapleOthers off\n", stapling_apache::plain_site(pki, "c.example.test", a.https));
  INFO(a.log());
  CHECK(a.log().find("MDA0183") == std::string::npos);
  CHECK_FALSE(path_exists(a.store("ocsp/other/cert-" + key_of(c_leaf) + ".pem")));
  store_for_an_hour(a, pki, "other", c_leaf, mda::ocsp::cert_status::good);
  std::this_thread::sleep_for(seconds(3));
  CHECK(a.not_stapled("c.example.test"));
}

TEST_CASE("stapling: a certificate that went live without a restart is stapled by its own id",
          "[httpd][apache][ocsp-stapling][live]") {
  // mod_ssl asks for the staple by the id of the certificate the handshake carries; after a
  // live swap (here: the MD's static files replaced, live.json touched so the workers look
  // at once) that is the new leaf, registered under the MD's name (live_certs.hpp).
  stapling_pki pki;
  stapling_apache a;
  const certificate old_leaf = pki.leaf("a.example.test");
  store_for_an_hour(a, pki, "a.example.test", old_leaf, mda::ocsp::cert_status::good);
  a.start_with("", stapling_apache::md_site(pki, "a.example.test", a.https));
  INFO(a.log());
  CHECK(eventually([&] { return a.stapled("a.example.test", "good"); }, seconds(10)));

  const certificate new_leaf = pki.leaf("a.example.test");
  store_for_an_hour(a, pki, "a.example.test", new_leaf, mda::ocsp::cert_status::revoked);
  mda::live_table t;
  t.generation = 1;
  fsio::atomic_write_options o;
  o.owner = std::make_pair(uid_t(33), gid_t(33));
  REQUIRE(fsio::write_file_atomic(a.store("mdactor/live.json"), mda::render_live_file(t), 0600, o).ok());
  CHECK(eventually([&] {
    return a.status_seen("a.example.test").find("Serial Number: " + new_leaf.serial_hex()) != std::string::npos &&
           a.stapled("a.example.test", "revoked");
  }, seconds(10)));
  CHECK(a.log().find("MDA0153: a.example.test: certificates read from the changed certificate files now served") !=
        std::string::npos);
}

TEST_CASE("stapling: the engine fetches, the store keeps, revocation shows",
          "[httpd][apache][ocsp-stapling][ocsp-engine]") {
  stapling_pki pki;
  const certificate leaf = pki.leaf("a.example.test");
  const certificate other = pki.leaf("c.example.test"); // no MD: MDStapleOthers (default on)
  const std::string key = key_of(leaf);
  pki.write_index({{leaf, false}, {other, false}});
  auto responder = pki.serve("responder", 2);
  stapling_apache a;
  // The renew window: 90% of the 2-minute responses, so a refresh about 12 s after a fetch.
  a.configure("MDStaplingRenewWindow 90%\n", stapling_apache::md_site(pki, "a.example.test", a.https) +
                                                 stapling_apache::plain_site(pki, "c.example.test", a.https));
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);

  const std::string file = a.response_file("a.example.test", key);
  REQUIRE(eventually([&] { return path_exists(file); }, seconds(30)));
  CHECK(read_file(file).find("\"status\": \"good\"") != std::string::npos);
  CHECK(eventually([&] { return a.stapled("a.example.test", "good"); }, seconds(10)));
  CHECK(eventually([&] { return text_of(a.messages).find("ocsp-renewed a.example.test") != std::string::npos; },
                   seconds(10)));
  // The vhost outside any MD: fetched by the engine under "other", stapled.
  CHECK(eventually([&] { return path_exists(a.response_file("other", key_of(other))); }, seconds(30)));
  CHECK(eventually([&] { return a.stapled("c.example.test", "good"); }, seconds(10)));

  // The responder gone, Apache restarted: the stored responses are stapled from the start.
  responder->stop();
  REQUIRE(a.graceful("restart"));
  CHECK(a.stapled("a.example.test", "good"));
  CHECK(a.stapled("c.example.test", "good"));

  // Revoked in the index (the responder reads it at start).
  pki.write_index({{leaf, true}, {other, false}});
  responder = pki.serve("responder", 2);
  std::string seen;
  const auto revoked_shown = [&] {
    seen = a.md_status("a.example.test");
    const auto j = nlohmann::json::parse(seen, nullptr, false);
    if (j.is_discarded() || !j.contains("cert") || !j["cert"].is_object()) return false;
    for (const auto& [spec, c] : j["cert"].items()) { // spec: "0" for static files in mod_md
      if (c.is_object() && c.contains("ocsp") && c["ocsp"].value("status", "") == "revoked") return true;
    }
    return false;
  };
  const bool shown = eventually(revoked_shown, seconds(60));
  INFO(seen);
  INFO(text_of(file));
  CHECK(shown);
  CHECK(read_file(file).find("\"status\": \"revoked\"") != std::string::npos);
  CHECK(eventually([&] { return a.stapled("a.example.test", "revoked"); }, seconds(10)));
  INFO(text_of(a.messages));
  CHECK(text_of(a.messages).find("ocsp-renewed a.example.test") != std::string::npos);
}

TEST_CASE("stapling: a response signed by an unrelated key is rejected and not stapled",
          "[httpd][apache][ocsp-stapling][ocsp-engine]") {
  stapling_pki pki;
  const certificate leaf = pki.leaf("a.example.test");
  pki.write_index({{leaf, false}});
  auto responder = pki.serve("rogue", 2);
  stapling_apache a;
  a.configure("", stapling_apache::md_site(pki, "a.example.test", a.https));
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);

  const std::string error = "the OCSP response signature is not acceptable";
  CHECK(eventually([&] { return a.md_status("a.example.test").find(error) != std::string::npos; }, seconds(30)));
  INFO(a.md_status("a.example.test"));
  CHECK_FALSE(path_exists(a.response_file("a.example.test", key_of(leaf))));
  CHECK(a.not_stapled("a.example.test"));
  CHECK(eventually([&] { return text_of(a.messages).find("ocsp-errored a.example.test") !=
                                                          std::string::npos; },
                   seconds(10)));
}

TEST_CASE("stapling: in a cluster one server fetches, the others staple its response",
          "[httpd][apache][ocsp-engine][cluster]") {
  etcd_fixture etcd{1};
  stapling_pki pki;
  const certificate leaf = pki.leaf("a.example.test");
  pki.write_index({{leaf, false}});
  // the AIA URL's port is a proxy that counts the requests; the responder listens behind it
  const int aia_port = pki.port;
  pki.port = free_port();
  rr_proxy counter({pki.port}, aia_port);
  auto responder = pki.serve("responder", 10);
  std::vector<std::unique_ptr<stapling_apache>> nodes;
  for (int i = 1; i <= 3; ++i) {
    auto a = std::make_unique<stapling_apache>();
    a->configure("MDStoreEtcd " + etcd.endpoint_list() + " node=node" + std::to_string(i) + " lease=4\n",
                 stapling_apache::md_site(pki, "a.example.test", a->https));
    nodes.push_back(std::move(a));
  }
  // one store secret for all (docs/cluster.md: md_store.json copied root to root)
  REQUIRE(fs_store::open(nodes[0]->dir / "md").ok());
  const std::string secret_file = read_file(nodes[0]->dir / "md/md_store.json");
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    ::mkdir((nodes[i]->dir / "md").c_str(), 0755);
    write_file(nodes[i]->dir / "md/md_store.json", secret_file);
    ::chmod((nodes[i]->dir / "md/md_store.json").c_str(), 0600);
  }
  // the first server fetches (alone, it is the cluster's fetcher)
  REQUIRE(nodes[0]->start());
  INFO(nodes[0]->log());
  REQUIRE(eventually([&] { return nodes[0]->stapled("a.example.test", "good"); }, seconds(30)));
  CHECK(counter.counts() == std::vector<int>{1});
  // the others join: they take its response from etcd at start and when it changes
  REQUIRE(nodes[1]->start());
  REQUIRE(nodes[2]->start());
  for (const auto& n : nodes) {
    INFO(n->log());
    CHECK(eventually([&] { return n->stapled("a.example.test", "good"); }, seconds(30)));
  }
  std::this_thread::sleep_for(seconds(5));
  CHECK(counter.counts() == std::vector<int>{1});
  const std::string file = nodes[0]->response_file("a.example.test", key_of(leaf));
  for (const auto& n : nodes)
    CHECK(text_of(n->response_file("a.example.test", key_of(leaf))) == text_of(file));
}
