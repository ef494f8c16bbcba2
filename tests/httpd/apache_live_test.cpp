// Live activation in a real Apache with mod_ssl (issue 16; httpd/live_certs.hpp): a set staged
// in staging/<md> and announced in <store>/mdactor/live.json is served by every child process
// within seconds, without a restart, under mpm_event and mpm_prefork, for RSA and EC side by
// side and for several MDs on one IP:port; a broken set never is (MDA0152); a handshake loop
// during 20 swaps sees no failure and only announced certificates; `MDActivation restart`
// ignores live.json; replaced MDCertificateFile pairs are served too (MDA0154 when the User
// cannot read the key).
// The test plays the engine: it writes the staged set with the store's secret (owned by the
// User afterwards, as the engine leaves it) and then live.json. The CA is a closed port, the
// MDs have valid certificates in domains/ and MDRenewMode manual: the real engine renews and
// announces nothing. Handshakes
// are made in-process (OpenSSL, TLS 1.3, no verification) and report the leaf's serial.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/certgen.hpp"
#include "core/engine_config.hpp"
#include "store/fs_io.hpp"
#include "store/fs_store.hpp"
#include "store/live.hpp"
#include "store/staging.hpp"

#include "tests/store/staging_test_util.hpp"
#include "tests/support/apache.hpp"
#include "tests/support/md_site.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;
using namespace std::chrono_literals;

namespace {

constexpr uid_t k_www_data = 33;
const std::string k_rsa = "rsa_pss_rsae_sha256";  // a client that takes only RSA
const std::string k_ec = "ecdsa_secp256r1_sha256"; // only EC P-256

/// One TLS 1.3 handshake with 127.0.0.1:`port`: the leaf's serial, or why it failed.
struct handshake_result {
  bool ok = false;
  std::string serial;
  std::string error;
};

handshake_result handshake(int port, const std::string& sni, const std::string& sigalgs = "") {
  handshake_result out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  if (!sigalgs.empty()) SSL_CTX_set1_sigalgs_list(ctx, sigalgs.c_str());
  const int fd = connect_loopback(port, 10);
  if (fd < 0) {
    out.error = "connect failed";
  } else {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, sni.c_str());
    if (SSL_connect(ssl) != 1) {
      out.error = "handshake failed";
    } else if (X509* leaf = SSL_get1_peer_certificate(ssl)) {
      out.ok = true;
      out.serial = certificate::adopt(leaf).serial_hex();
      SSL_shutdown(ssl);
    } else {
      out.error = "no certificate";
    }
    SSL_free(ssl);
    ::close(fd);
  }
  SSL_CTX_free(ctx);
  return out;
}

/// A TCP connection that sends nothing: it keeps one prefork child busy until closed.
int idle_connection(int port) {
  const int fd = connect_loopback(port, 10);
  REQUIRE(fd >= 0);
  return fd;
}

managed_domain md_named(const std::string& name, const std::vector<key_spec>& specs, const std::string& ca) {
  managed_domain md = staging_md(specs, name, ca);
  md.domains = {name};
  return md;
}

/// One certificate per key spec of `md` covering `names` (md's domains by default), valid
/// from `from`, each with a second certificate as its chain.
std::vector<staged_cert> certs_for(const managed_domain& md, std::vector<std::string> names = {},
                                   sys_time from = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now()) - 1h) {
  if (names.empty()) names = md.domains;
  std::vector<staged_cert> out;
  for (const auto& spec : effective_key_specs(md)) {
    auto key = private_key::generate(spec);
    auto ca_key = private_key::generate(key_spec::ec("P-256"));
    auto leaf = make_fallback_certificate(*key, names, from);
    auto ca = make_fallback_certificate(*ca_key, {"intermediate.test"}, from);
    out.push_back({spec, *key, {*leaf, *ca}, {}});
  }
  return out;
}

std::vector<std::string> fingerprints(const std::vector<staged_cert>& certs) {
  std::vector<std::string> out;
  for (const auto& c : certs) out.push_back(c.chain.front().fingerprint_sha256());
  return out;
}

/// The worker processes of an Apache (children of `parent` named apache2; not md-engine).
std::set<int> worker_pids(int parent) {
  std::set<int> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line, name;
    int ppid = 0;
    while (std::getline(in, line)) {
      if (line.rfind("Name:", 0) == 0) name = line.substr(line.find_first_not_of(" \t", 5));
      if (line.rfind("PPid:", 0) == 0) ppid = std::atoi(line.c_str() + 5);
    }
    if (ppid == parent && name == "apache2") out.insert(pid);
  }
  ::closedir(d);
  return out;
}

/// The pids that logged MDA0153 for `md` with serial `serial`.
std::set<int> pids_serving(const std::string& log, const std::string& md, const std::string& serial) {
  std::set<int> out;
  std::istringstream in(log);
  const std::string by = " now served by process ";
  for (std::string line; std::getline(in, line);) {
    if (line.find("MDA0153: " + md + ": ") == std::string::npos) continue;
    if (line.find(serial) == std::string::npos) continue;
    const auto at = line.find(by);
    if (at != std::string::npos) out.insert(std::atoi(line.c_str() + at + by.size()));
  }
  return out;
}

/// A private Apache with MDs whose certificates are in domains/ before it starts, one https
/// listener; the test stages and announces new sets.
struct live_apache : private_apache {
  int port = free_port();
  std::string ca = "https://127.0.0.1:" + std::to_string(free_port()) + "/dir";
  std::vector<managed_domain> mds;
  live_table table;

  /// `mpm_lines`: MPM directives; `extra`: module directives; every MD gets a vhost.
  live_apache(const std::string& mpm, std::vector<managed_domain> list, const std::string& extra = "",
              const std::string& mpm_lines = "")
      : mds(std::move(list)) {
    std::string body = base_conf(mpm) + mpm_lines +
                       "Listen 127.0.0.1:" + std::to_string(port) + " https\n"
                       "LoadModule md_module " MODULE_PATH "\n"
                       "MDCertificateAuthority " + ca + "\n"
                       "MDCertificateAgreement accepted\n"
                       "MDContactEmail admin@example.test\n"
                       "MDRenewMode manual\n" // the test is the engine: the real one stays out
                       "MDStoreDir " + dir.path() + "/md\n" + extra;
    for (const auto& md : mds) {
      std::string keys;
      for (const auto& s : md.key_specs) keys += s.type == key_spec::kind::ec ? " " + s.curve : " RSA " + std::to_string(s.rsa_bits());
      if (!keys.empty()) body += "<MDomain " + md.name + ">\n  MDPrivateKeys" + keys + "\n</MDomain>\n";
      else body += "MDomain " + md.name + "\n";
      body += "<VirtualHost 127.0.0.1:" + std::to_string(port) + ">\n  ServerName " + md.name +
              "\n  SSLEngine on\n</VirtualHost>\n";
    }
    write_file(conf, body);
  }

  fs_store opened() const {
    auto st = fs_store::open(dir / "md");
    REQUIRE(st);
    return std::move(*st);
  }

  /// The MD's first certificates, in domains/ as the parent loads them.
  std::vector<staged_cert> install(const managed_domain& md) {
    auto certs = certs_for(md);
    fs_store st = opened();
    const std::string d = dir / ("md/domains/" + md.name + "/");
    REQUIRE(fsio::make_dirs(d, 0700));
    for (const auto& c : certs) {
      write_file(d + aspect::pubcert(c.spec), *write_pem_chain(c.chain));
      write_file(d + aspect::privkey(c.spec), *c.key.to_pem());
    }
    return certs;
  }

  /// Writes the set as the engine does when it goes live: staging/<md> (what the parent
  /// moves into domains/ at the next start) and its copy in <store>/mdactor/live (what the
  /// workers load: store/live.hpp live_store_dir), files owned by the User.
  void stage(const managed_domain& md, const std::vector<staged_cert>& certs) {
    fs_store st = opened();
    REQUIRE(write_staging(st, md, certs, staged_job(md.name), std::nullopt));
    REQUIRE(fsio::make_dirs(live_store_dir(dir / "md"), 0700));
    fs_store live = fs_store::attach(live_store_dir(dir / "md"), st.secret());
    REQUIRE(write_staging(live, md, certs, staged_job(md.name), std::nullopt));
    REQUIRE(run({"chown", "-R", "www-data:www-data", store("staging"), store("mdactor/live")}).exit_code == 0);
  }

  /// Announces `fps` for `md` in live.json (generation + 1).
  void announce(const std::string& md, const std::vector<std::string>& fps) {
    auto it = std::find_if(table.mds.begin(), table.mds.end(), [&](const live_md& m) { return m.name == md; });
    if (it == table.mds.end()) it = table.mds.insert(table.mds.end(), live_md{md, {}, {}});
    it->since = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
    it->fingerprints = fps;
    touch_live();
  }

  /// Rewrites live.json with the next generation.
  void touch_live() {
    ++table.generation;
    fsio::atomic_write_options o;
    o.owner = std::make_pair(k_www_data, static_cast<gid_t>(k_www_data));
    REQUIRE(fsio::write_file_atomic(store("mdactor/live.json"), render_live_file(table), 0600, o));
  }

  /// Stages new certificates for `md`, announces them; returns them.
  std::vector<staged_cert> swap(const managed_domain& md) {
    auto certs = certs_for(md);
    stage(md, certs);
    announce(md.name, fingerprints(certs));
    return certs;
  }

  /// Waits (up to `limit`) until `tries` handshakes in a row give `serial`.
  bool wait_serial(const std::string& host, const std::string& serial, const std::string& sigalgs = "",
                   std::chrono::seconds limit = 8s, int tries = 6) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    int in_row = 0;
    while (std::chrono::steady_clock::now() < end) {
      in_row = handshake(port, host, sigalgs).serial == serial ? in_row + 1 : 0;
      if (in_row >= tries) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string serial(const std::string& host, const std::string& sigalgs = "") const {
    return handshake(port, host, sigalgs).serial;
  }
};

std::string serial_of(const staged_cert& c) { return c.chain.front().serial_hex(); }

} // namespace

namespace {

/// RSA and EC sets of two MDs on one IP:port swapped one after the other under `mpm`; then a
/// graceful restart moves the staged sets to domains/ and the same certificates are served.
void swap_two_mds(const std::string& mpm) {
  const std::vector<key_spec> both{key_spec::rsa(2048), key_spec::ec("secp256r1")};
  live_apache a(mpm, {md_named("a.example.test", both, ""), md_named("b.example.test", both, "")});
  for (auto& md : a.mds) md = md_named(md.name, both, a.ca);
  const auto a0 = a.install(a.mds[0]);
  const auto b0 = a.install(a.mds[1]);
  REQUIRE(a.start());
  INFO(a.log());
  REQUIRE(a.serial("a.example.test", k_rsa) == serial_of(a0[0]));
  REQUIRE(a.serial("a.example.test", k_ec) == serial_of(a0[1]));
  REQUIRE(a.serial("b.example.test", k_rsa) == serial_of(b0[0]));
  const int generations = a.generations();

  const auto a1 = a.swap(a.mds[0]);
  CHECK(a.wait_serial("a.example.test", serial_of(a1[0]), k_rsa));
  CHECK(a.wait_serial("a.example.test", serial_of(a1[1]), k_ec));
  // the other MD on the same address is untouched
  CHECK(a.serial("b.example.test", k_rsa) == serial_of(b0[0]));
  CHECK(a.serial("b.example.test", k_ec) == serial_of(b0[1]));
  // every worker process took it
  const std::set<int> workers = worker_pids(a.pid());
  REQUIRE_FALSE(workers.empty());
  const std::set<int> serving = pids_serving(a.log(), "a.example.test", serial_of(a1[0]));
  CHECK(std::includes(serving.begin(), serving.end(), workers.begin(), workers.end()));

  const auto b1 = a.swap(a.mds[1]);
  CHECK(a.wait_serial("b.example.test", serial_of(b1[0]), k_rsa));
  CHECK(a.wait_serial("b.example.test", serial_of(b1[1]), k_ec));
  CHECK(a.serial("a.example.test", k_rsa) == serial_of(a1[0]));

  // An MD that leaves the announcement keeps what it serves.
  a.table.mds.erase(a.table.mds.begin());
  a.touch_live();
  std::this_thread::sleep_for(1500ms);
  CHECK(a.wait_serial("a.example.test", serial_of(a1[0]), k_rsa, 3s, 10));
  CHECK(a.serial("b.example.test", k_ec) == serial_of(b1[1]));

  // a second renewal of the first MD
  const auto a2 = a.swap(a.mds[0]);
  CHECK(a.wait_serial("a.example.test", serial_of(a2[1]), k_ec));
  CHECK(a.wait_serial("a.example.test", serial_of(a2[0]), k_rsa));

  CHECK(a.generations() == generations);
  const std::string log = a.log();
  CHECK(log.find("MDA0152") == std::string::npos);
  CHECK(log.find("MDA0156") == std::string::npos);
  CHECK(log.find("MDA0153: a.example.test: certificates announced (generation 1) now served by process ") !=
        std::string::npos);

  // A restart activates what was served live: the same certificates, nothing loaded live.
  REQUIRE(a.graceful());
  CHECK(a.serial("a.example.test", k_rsa) == serial_of(a2[0]));
  CHECK(a.serial("a.example.test", k_ec) == serial_of(a2[1]));
  CHECK(a.serial("b.example.test", k_rsa) == serial_of(b1[0]));
  CHECK(a.serial("b.example.test", k_ec) == serial_of(b1[1]));
  std::this_thread::sleep_for(1500ms); // a look at live.json in the new generation
  const std::string after = a.log();
  CHECK(after.find("MDA0125: a.example.test: staged certificates activated") != std::string::npos);
  CHECK(after.find("MDA0152") == std::string::npos);
  CHECK(after.find("MDA0153", log.size()) == std::string::npos);
}

} // namespace

TEST_CASE("live: RSA and EC sets of two MDs on one IP:port go live without a restart (mpm_event)",
          "[httpd][apache][live]") {
  swap_two_mds("event");
}

TEST_CASE("live: RSA and EC sets of two MDs on one IP:port go live without a restart (mpm_worker)",
          "[httpd][apache][live]") {
  swap_two_mds("worker");
}

TEST_CASE("live: every prefork child serves the new certificate", "[httpd][apache][live]") {
  live_apache a("prefork", {md_named("a.example.test", {}, "")}, "",
                "StartServers 4\nMinSpareServers 4\nMaxSpareServers 8\nMaxRequestWorkers 10\nTimeout 30\n");
  a.mds[0] = md_named("a.example.test", {}, a.ca);
  const auto old = a.install(a.mds[0]);
  REQUIRE(a.start());
  INFO(a.log());
  REQUIRE(a.serial("a.example.test") == serial_of(old[0]));
  const int generations = a.generations();

  const auto fresh = a.swap(a.mds[0]);
  REQUIRE(a.wait_serial("a.example.test", serial_of(fresh[0])));
  // Each idle connection keeps a child busy, so the next handshake lands in another one.
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    CHECK(a.serial("a.example.test") == serial_of(fresh[0]));
    held.push_back(idle_connection(a.port));
    std::this_thread::sleep_for(200ms);
  }
  CHECK(a.serial("a.example.test") == serial_of(fresh[0]));
  for (int fd : held) ::close(fd);

  const std::set<int> workers = worker_pids(a.pid());
  CHECK(workers.size() >= 4);
  const std::set<int> serving = pids_serving(a.log(), "a.example.test", serial_of(fresh[0]));
  CHECK(std::includes(serving.begin(), serving.end(), workers.begin(), workers.end()));
  CHECK(a.generations() == generations);
}

TEST_CASE("live: the first certificate of a new MD replaces its fallback", "[httpd][apache][live]") {
  const std::vector<key_spec> both{key_spec::rsa(2048), key_spec::ec("secp256r1")};
  live_apache a("event", {md_named("a.example.test", both, "")});
  a.mds[0] = md_named("a.example.test", both, a.ca);
  REQUIRE(a.start());
  INFO(a.log());
  const auto fallback = handshake(a.port, "a.example.test", k_rsa);
  REQUIRE(fallback.ok);
  // the fallback answers 503, as under mod_md
  CHECK(a.https_status("a.example.test", a.port) == "503");
  CHECK(a.log().find("MDA0157: a.example.test: server a.example.test answers '503 Service Unavailable' "
                     "until the managed domain's certificate is obtained") != std::string::npos);
  CHECK(a.log().find("AH10085") == std::string::npos); // not mod_ssl's fallback: its 503 lasts
  const auto first = a.swap(a.mds[0]);
  CHECK(a.wait_serial("a.example.test", serial_of(first[0]), k_rsa));
  CHECK(a.wait_serial("a.example.test", serial_of(first[1]), k_ec));
  // the 503 ends with the first certificate, in every child, without a restart
  for (int i = 0; i < 10; ++i) CHECK(a.https_status("a.example.test", a.port) == "200");
  REQUIRE(a.graceful());
  CHECK(a.serial("a.example.test", k_ec) == serial_of(first[1]));
  CHECK(a.https_status("a.example.test", a.port) == "200");
}

TEST_CASE("live: a broken staged set is never served", "[httpd][apache][live]") {
  live_apache a("event", {md_named("a.example.test", {}, "")});
  managed_domain& md = a.mds[0];
  md = md_named("a.example.test", {}, a.ca);
  const auto old = a.install(md);
  REQUIRE(a.start());
  INFO(a.log());
  const std::string pubcert = a.store("mdactor/live/staging/a.example.test/pubcert.pem");
  const std::string privkey = a.store("mdactor/live/staging/a.example.test/privkey.pem");
  std::string reason;
  std::vector<std::string> announced;

  SECTION("a key that does not match the certificate") {
    const auto first = certs_for(md);
    a.stage(md, first);
    const std::string other_key = read_file(privkey);
    const auto second = certs_for(md);
    a.stage(md, second);
    write_file(privkey, other_key);
    announced = fingerprints(second);
    reason = "staging/a.example.test/pubcert.pem: certificate does not match the private key in "
             "staging/a.example.test/privkey.pem";
  }
  SECTION("a truncated PEM") {
    const auto certs = certs_for(md);
    a.stage(md, certs);
    const std::string pem = read_file(pubcert);
    write_file(pubcert, pem.substr(0, pem.size() / 2));
    announced = fingerprints(certs);
    reason = "staging/a.example.test/pubcert.pem: PEM_read_bio_X509() failed: error:04800066:PEM routines::bad "
             "end line";
  }
  SECTION("a certificate for other names") {
    const auto certs = certs_for(md, {"other.example.test"});
    a.stage(md, certs);
    announced = fingerprints(certs);
    reason = "the staged certificate for rsa does not cover a.example.test";
  }
  SECTION("a certificate not valid yet") {
    const sys_time later = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now()) + 2h;
    const auto certs = certs_for(md, {}, later);
    a.stage(md, certs);
    announced = fingerprints(certs);
    reason = "the staged certificate for rsa is not valid before " + format_rfc822(later);
  }
  SECTION("a set other than the announced one") {
    const auto staged = certs_for(md);
    a.stage(md, staged);
    announced = fingerprints(certs_for(md));
    reason = "the staged certificate for rsa is not the announced one (sha256 " +
             staged[0].chain.front().fingerprint_sha256() + ")";
  }
  a.announce(md.name, announced);
  const std::string line = "MDA0152: a.example.test: not serving the announced certificates: " + reason +
                           "; still serving the previous ones";
  const bool logged = md_site::wait_for_text(a.dir / "error.log", line, 8);
  const std::string log = a.log();
  const auto at = log.find("MDA0152");
  INFO("first MDA0152: " << (at == std::string::npos ? "none" : log.substr(at, log.find('\n', at) - at)));
  CHECK(logged);
  CHECK(a.wait_serial("a.example.test", serial_of(old[0]), "", 3s, 10));
  CHECK(a.log().find("MDA0153") == std::string::npos);
}

TEST_CASE("live: a live.json that does not read is logged and changes nothing", "[httpd][apache][live]") {
  live_apache a("event", {md_named("a.example.test", {}, "")});
  a.mds[0] = md_named("a.example.test", {}, a.ca);
  (void)a.install(a.mds[0]);
  REQUIRE(a.start());
  INFO(a.log());
  const auto fresh = a.swap(a.mds[0]);
  REQUIRE(a.wait_serial("a.example.test", serial_of(fresh[0])));
  const std::string file = a.store("mdactor/live.json");
  write_file(file, "{\"version\": 1, \"mds\": 7}");
  CHECK(md_site::wait_for_text(a.dir / "error.log", "MDA0155: reading the live certificates: " + file +
                               ": \"mds\" must be an array; serving what was announced before", 8));
  CHECK(a.wait_serial("a.example.test", serial_of(fresh[0]), "", 3s, 10));
}

TEST_CASE("live: MDActivation restart ignores live.json", "[httpd][apache][live]") {
  live_apache a("event", {md_named("a.example.test", {}, "")}, "MDActivation restart\n");
  a.mds[0] = md_named("a.example.test", {}, a.ca);
  const auto old = a.install(a.mds[0]);
  REQUIRE(a.start());
  INFO(a.log());
  const auto fresh = a.swap(a.mds[0]);
  std::this_thread::sleep_for(3s);
  CHECK(a.wait_serial("a.example.test", serial_of(old[0]), "", 3s, 10));
  const std::string log = a.log();
  CHECK(log.find("MDA0152") == std::string::npos);
  CHECK(log.find("MDA0153") == std::string::npos);
  // as with mod_md, the restart serves it
  REQUIRE(a.graceful());
  CHECK(a.serial("a.example.test") == serial_of(fresh[0]));
}

TEST_CASE("live: handshakes during 20 swaps never fail and see only announced certificates",
          "[httpd][apache][live]") {
  const std::vector<key_spec> both{key_spec::rsa(2048), key_spec::ec("secp256r1")};
  live_apache a("event", {md_named("a.example.test", both, "")});
  a.mds[0] = md_named("a.example.test", both, a.ca);
  const auto old = a.install(a.mds[0]);
  REQUIRE(a.start());
  INFO(a.log());
  std::mutex m;
  std::set<std::string> allowed{serial_of(old[0]), serial_of(old[1])}, seen;
  std::vector<std::string> problems;
  std::atomic<bool> done{false};
  std::atomic<int> handshakes{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      while (!done) {
        const auto r = handshake(a.port, "a.example.test", t % 2 ? k_ec : k_rsa);
        ++handshakes;
        std::lock_guard<std::mutex> lock(m);
        if (!r.ok) problems.push_back(r.error);
        else if (!allowed.count(r.serial)) problems.push_back("unannounced serial " + r.serial);
        else seen.insert(r.serial);
      }
    });
  }
  std::vector<staged_cert> last;
  for (int i = 0; i < 20; ++i) {
    last = certs_for(a.mds[0]);
    a.stage(a.mds[0], last);
    {
      std::lock_guard<std::mutex> lock(m);
      for (const auto& c : last) allowed.insert(serial_of(c));
    }
    a.announce(a.mds[0].name, fingerprints(last));
    std::this_thread::sleep_for(1500ms);
  }
  done = true;
  for (auto& th : clients) th.join();
  INFO("handshakes: " << handshakes);
  CHECK(problems.empty());
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(handshakes > 200);
  CHECK(seen.size() >= 30); // most of the 42 certificates were seen
  CHECK(a.serial("a.example.test", k_rsa) == serial_of(last[0]));
  CHECK(a.serial("a.example.test", k_ec) == serial_of(last[1]));
}

namespace {

/// An MD with MDCertificateFile / MDCertificateKeyFile in <root>/static, the first pair (key
/// readable by root only) in place, Apache started.
struct static_site : live_apache {
  std::string cert = dir / "static/cert.pem", key = dir / "static/key.pem";
  managed_domain md = md_named("s.example.test", {}, ca);
  std::vector<staged_cert> first;

  static_site() : live_apache("event", {}) {
    write_file(conf, read_file(conf) + "<MDomain s.example.test>\n  MDCertificateFile " + cert +
                         "\n  MDCertificateKeyFile " + key + "\n</MDomain>\n<VirtualHost 127.0.0.1:" +
                         std::to_string(port) + ">\n  ServerName s.example.test\n  SSLEngine on\n</VirtualHost>\n");
    REQUIRE(::mkdir((dir / "static").c_str(), 0755) == 0);
    first = put(0600);
    REQUIRE(start());
    REQUIRE(serial("s.example.test") == serial_of(first[0]));
  }

  /// Writes a new pair by rename; `key_mode` 0640 root:www-data (the User reads it) or 0600.
  std::vector<staged_cert> put(mode_t key_mode) const {
    auto certs = certs_for(md);
    write_file(cert + ".new", *write_pem_chain(certs[0].chain));
    write_file(key + ".new", *certs[0].key.to_pem());
    REQUIRE(::chown((key + ".new").c_str(), 0, k_www_data) == 0);
    REQUIRE(::chmod((key + ".new").c_str(), key_mode) == 0);
    REQUIRE(::chmod((cert + ".new").c_str(), 0644) == 0);
    REQUIRE(::rename((key + ".new").c_str(), key.c_str()) == 0);
    REQUIRE(::rename((cert + ".new").c_str(), cert.c_str()) == 0);
    return certs;
  }
};

} // namespace

TEST_CASE("live: a replaced MDCertificateFile pair is served without a restart", "[httpd][apache][live]") {
  static_site a;
  INFO(a.log());
  const std::string& key = a.key;
  const auto& old = a.first;

  SECTION("readable by the User: served at the next check") {
    const auto fresh = a.put(0640);
    a.touch_live(); // a change of live.json checks the files at once (else within a minute)
    CHECK(a.wait_serial("s.example.test", serial_of(fresh[0])));
    CHECK(a.log().find("MDA0153: s.example.test: certificates read from the changed certificate files now served "
                       "by process ") != std::string::npos);
  }
  SECTION("a key only root reads: logged, served at the next restart") {
    const auto fresh = a.put(0600);
    a.touch_live();
    CHECK(md_site::wait_for_text(a.dir / "error.log", "MDA0154: s.example.test: the certificate files changed, but '" +
                                 key + "' is not readable by the User (Permission denied): served at the next restart", 8));
    CHECK(a.wait_serial("s.example.test", serial_of(old[0]), "", 2s, 10));
    REQUIRE(a.graceful());
    CHECK(a.wait_serial("s.example.test", serial_of(fresh[0])));
  }
}

TEST_CASE("live: a replaced MDCertificateFile pair is served within a minute (slow, not run by default)",
          "[.][live-slow]") {
  static_site a;
  INFO(a.log());
  const auto fresh = a.put(0640); // live.json untouched: the scheduled look finds it
  CHECK(a.wait_serial("s.example.test", serial_of(fresh[0]), "", 75s));
}

TEST_CASE("live: handshake rate with and without a live set (bench, not run by default)", "[.][live-bench]") {
  // Prints full TLS 1.3 handshakes per second from 4 client threads against mpm_event, first
  // with the SSL_CTX's own certificate (the callback returns at once), then with a live set
  // (the callback puts it on each SSL). Both on loopback, clients and server sharing the CPUs.
  live_apache a("event", {md_named("a.example.test", {}, "")});
  a.mds[0] = md_named("a.example.test", {}, a.ca);
  (void)a.install(a.mds[0]);
  REQUIRE(a.start());
  auto rate = [&] {
    std::atomic<bool> done{false};
    std::atomic<long> ok{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
      clients.emplace_back([&] {
        while (!done) ok += handshake(a.port, "a.example.test").ok ? 1 : 0;
      });
    std::this_thread::sleep_for(8s);
    done = true;
    for (auto& th : clients) th.join();
    return ok / 8.0;
  };
  const double without = rate();
  const auto fresh = a.swap(a.mds[0]);
  REQUIRE(a.wait_serial("a.example.test", serial_of(fresh[0])));
  const double with = rate();
  std::cout << "handshakes/s: ctx certificate " << without << ", live set " << with << "\n";
  CHECK(with > 0);
}
