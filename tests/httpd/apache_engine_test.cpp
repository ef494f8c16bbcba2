// The engine process of mod_mdactor in a real Apache against a real pebble (issue 5 items 3
// and 5): a new MD answers 503 with the fallback, the engine process (comm "md-engine", one
// child of the Apache parent) obtains the certificate and stages it, a graceful restart
// activates it and https then serves pebble's certificate (verified against pebble's root)
// with 200. The engine is re-forked after kill -9, replaced on graceful and restart, gone
// after stop.
// Challenges: http-01 answered by the module on Apache's http port (pebble's httpPort), and
// dns-01 through an MDChallengeDns01 script that sets TXT records in pebble-challtestsrv
// (pebble resolves through it). Each under mpm_event and mpm_prefork. A graceful restart
// with the engine stuck in a hanging dns-01 program waits about 3 s (SIGTERM, then SIGKILL).
// Tag [httpd][apache][pebble].
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "ipc/status_socket.hpp"
#include "tests/support/apache.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda::test;

namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

/// PIDs of the children of `parent` whose comm is "md-engine".
std::vector<int> engines_of(int parent) {
  std::vector<int> out;
  if (parent <= 0) return out;
  const run_result r = run({"ps", "--ppid", std::to_string(parent), "-o", "pid=,comm="});
  std::istringstream in(r.output);
  int pid = 0;
  std::string comm;
  while (in >> pid >> comm) {
    if (comm == "md-engine") out.push_back(pid);
  }
  return out;
}

/// A private Apache (http + https listener, User www-data) with mod_ssl, the module and one
/// MD certified by `pebble` through dns-01.
struct engine_apache : private_apache {
  int http = 0, https = 0;

  /// `challenge`: "http-01" (answered by the module's request hook) or "dns-01" (the script).
  engine_apache(const pebble_fixture& p, int http_port, int https_port, const std::string& mpm,
                const std::string& challenge)
      : http(http_port), https(https_port) {
    const std::string script = dir / "dns01.sh";
    write_file(script, "#!/bin/sh\n"
                       "url=" + p.challtestsrv_url() + "\n"
                       "case \"$1\" in\n"
                       "setup) curl -sf -X POST -d \"{\\\"host\\\":\\\"_acme-challenge.$2.\\\",\\\"value\\\":"
                       "\\\"$3\\\"}\" $url/set-txt ;;\n"
                       "teardown) curl -sf -X POST -d \"{\\\"host\\\":\\\"_acme-challenge.$2.\\\"}\" "
                       "$url/clear-txt ;;\n"
                       "esac\n");
    ::chmod(script.c_str(), 0755);
    const std::string h = std::to_string(http), s = std::to_string(https);
    write_file(conf, base_conf(mpm) +
                     "Listen 127.0.0.1:" + h + "\n"
                     "Listen 127.0.0.1:" + s + " https\n"
                     "LoadModule md_module " + MODULE_PATH + "\n"
                     "MDCertificateAuthority " + p.directory_url() + "\n"
                     "MDCACertificateFile " + p.ca_file() + "\n"
                     "MDCertificateAgreement accepted\n"
                     "MDContactEmail admin@example.test\n"
                     "MDPortMap http:" + h + " https:" + s + "\n"
                     "MDRetryDelay 1s\n"
                     "MDCAChallenges " + challenge + "\n"
                     "MDChallengeDns01 " + script + "\n"
                     "MDomain a.example.test www.a.example.test\n"
                     "<VirtualHost 127.0.0.1:" + s + ">\n"
                     "  ServerName a.example.test\n"
                     "  ServerAlias www.a.example.test\n"
                     "  SSLEngine on\n"
                     "</VirtualHost>\n");
  }

  /// The one engine process, waiting up to 10 s for it (0: none, -n: n of them).
  int engine() const {
    std::vector<int> e;
    for (int i = 0; i < 100; ++i) {
      e = engines_of(pid());
      if (!e.empty()) break;
      ::usleep(100'000);
    }
    if (e.size() > 1) return -static_cast<int>(e.size());
    return e.empty() ? 0 : e.front();
  }

  /// Waits up to `seconds` until staging/<md>/job.json says "finished": true.
  bool wait_staged(const std::string& md, int seconds) const {
    const std::string job = store("staging/" + md + "/job.json");
    for (int i = 0; i < seconds * 10; ++i) {
      if (exists(job) && read_file(job).find("\"finished\": true") != std::string::npos) return true;
      ::usleep(100'000);
    }
    return false;
  }

  std::string status_of(const std::string& host) const {
    const std::string resolve = host + ":" + std::to_string(https) + ":127.0.0.1";
    return run({"curl", "-k", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--resolve",
                resolve, "https://" + host + ":" + std::to_string(https) + "/index.html"})
        .output;
  }

  /// s_client's view of the certificate served for `host`, verified against `root`.
  std::string served(const std::string& host, const std::string& root) const {
    const std::string cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(https) + " -servername " +
                            host + " -CAfile " + root + " </dev/null 2>/dev/null | grep -E "
                            "'^ *[0-9] s:|^ *i:|Verify return code'; openssl s_client -connect 127.0.0.1:" +
                            std::to_string(https) + " -servername " + host +
                            " </dev/null 2>/dev/null | openssl x509 -noout -subject -ext subjectAltName";
    return run({"sh", "-c", cmd}).output;
  }
};

/// pebble validating http-01 and tls-alpn-01 on the Apache's ports.
pebble_options validating_at(int http, int https) {
  pebble_options po;
  po.http_port = http;
  po.tls_port = https;
  return po;
}

void certify_and_serve(const std::string& mpm, const std::string& challenge) {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  engine_apache a(pebble, http, https, mpm, challenge);
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);

  // Before the certificate: the fallback and 503; one engine process.
  CHECK(a.status_of("a.example.test") == "503");
  const int first = a.engine();
  CHECK(first > 0);
  { // forked once: on the real pass, not on the dry run
    const std::string log = a.log();
    const auto at = log.find("MDA0145: engine process ");
    CHECK(at != std::string::npos);
    CHECK(log.find("MDA0145", at + 1) == std::string::npos);
  }
  CHECK(exists(a.store("mdactor-engine.json")));
  { // The engine: the User, no capability in any set, no way to gain one, a seccomp filter.
    const std::string st = read_file("/proc/" + std::to_string(first) + "/status");
    INFO(st);
    CHECK(st.find("\nUid:\t33\t33\t33\t33\n") != std::string::npos);
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb"})
      CHECK(st.find(std::string("\n") + set + ":\t0000000000000000\n") != std::string::npos);
    CHECK(st.find("\nNoNewPrivs:\t1\n") != std::string::npos);
    CHECK(st.find("\nSeccomp:\t2\n") != std::string::npos);
    // Its launcher runs programs as the User, without those restrictions (sudo works there).
    const run_result ps = run({"ps", "--ppid", std::to_string(first), "-o", "pid=,comm="});
    std::istringstream in(ps.output);
    int lpid = 0;
    std::string comm;
    REQUIRE(in >> lpid >> comm);
    CHECK(comm == "md-launcher");
    const std::string lst = read_file("/proc/" + std::to_string(lpid) + "/status");
    CHECK(lst.find("\nUid:\t33\t33\t33\t33\n") != std::string::npos);
    CHECK(lst.find("\nCapEff:\t0000000000000000\n") != std::string::npos);
    CHECK(lst.find("\nNoNewPrivs:\t0\n") != std::string::npos);
    CHECK(lst.find("\nSeccomp:\t0\n") != std::string::npos);
  }

  REQUIRE(a.wait_staged("a.example.test", 60));
  CHECK(exists(a.store("staging/a.example.test/pubcert.pem")));
  // MDActivation live (the default): the staged set is served within seconds, no restart.
  std::string live_status = a.status_of("a.example.test");
  for (int i = 0; i < 100 && live_status != "200"; ++i) {
    ::usleep(100'000);
    live_status = a.status_of("a.example.test");
  }
  CHECK(live_status == "200");
  // The engine answers live status queries on its socket in the User's directory of the store,
  // and publishes status.json there; only the User (the workers' user) reads either.
  struct stat sb {};
  REQUIRE(::stat(a.store("mdactor").c_str(), &sb) == 0);
  CHECK(sb.st_uid == 33);
  CHECK((sb.st_mode & 07777) == 0700);
  const std::string sock = a.store("mdactor/status.sock");
  REQUIRE(::stat(sock.c_str(), &sb) == 0);
  CHECK(sb.st_uid == 33);
  CHECK((sb.st_mode & 07777) == 0600);
  const auto live = mda::query_status_socket(sock, "GET md-status", std::chrono::seconds(2));
  REQUIRE(live);
  CHECK(live->find("\"a.example.test\"") != std::string::npos);
  REQUIRE(::stat(a.store("mdactor/status.json").c_str(), &sb) == 0);
  CHECK(sb.st_uid == 33);
  CHECK((sb.st_mode & 07777) == 0600);
  // The account it registered waits in the User's directory for the parent.
  CHECK(exists(a.store("mdactor/accounts/ACME-127.0.0.1-0000/account.json")));
  CHECK_FALSE(exists(a.store("accounts/ACME-127.0.0.1-0000")));
  CHECK(read_file(a.store("mdactor-engine.json")).find("\"a.example.test\"") != std::string::npos);

  REQUIRE(a.graceful());
  // At once after the restart, certificate-status shows the activated certificate (the entry
  // the parent made from the store, until the engine's domain actor has read it itself).
  const std::string cs = run({"curl", "-s", "--max-time", "10", "-H", "Host: a.example.test",
                              "http://127.0.0.1:" + std::to_string(a.http) + "/.httpd/certificate-status"})
                             .output;
  INFO(cs);
  CHECK(cs.find("\"serial\": \"") != std::string::npos);
  CHECK_FALSE(alive(first));
  const int second = a.engine();
  CHECK(second > 0);
  CHECK(second != first);
  CHECK(a.log().find("MDA0125: a.example.test: staged certificates activated") != std::string::npos);
  CHECK(a.log().find("MDA0137: account " + a.store("mdactor/accounts/ACME-127.0.0.1-0000") +
                     " filed as accounts/ACME-127.0.0.1-0000") != std::string::npos);
  CHECK(exists(a.store("accounts/ACME-127.0.0.1-0000/account.json")));
  CHECK_FALSE(exists(a.store("mdactor/accounts/ACME-127.0.0.1-0000")));
  CHECK(a.status_of("a.example.test") == "200");
  CHECK(a.status_of("www.a.example.test") == "200");
  const std::string root = pebble.write_root_file();
  const std::string seen = a.served("a.example.test", root);
  CHECK(seen.find("Verify return code: 0 (ok)") != std::string::npos);
  CHECK(seen.find("Pebble Intermediate CA") != std::string::npos);
  CHECK(seen.find("DNS:a.example.test, DNS:www.a.example.test") != std::string::npos);
  CHECK(seen.find("Fallback") == std::string::npos);

  // kill -9: a new engine comes.
  REQUIRE(::kill(second, SIGKILL) == 0);
  int third = 0;
  for (int i = 0; i < 100 && (third <= 0 || third == second); ++i) {
    ::usleep(100'000);
    third = a.engine();
  }
  CHECK(third > 0);
  CHECK(third != second);
  CHECK(a.log().find("MDA0147: engine process " + std::to_string(second) + " ended") != std::string::npos);
  // -k restart replaces it too.
  REQUIRE(a.graceful("restart"));
  CHECK_FALSE(alive(third));
  const int fourth = a.engine();
  CHECK(fourth > 0);
  CHECK(fourth != third);
  CHECK(a.status_of("a.example.test") == "200");
  a.stop();
  ::usleep(200'000);
  CHECK_FALSE(alive(fourth));
  CHECK_FALSE(alive(a.pid()));
  CHECK(a.log().find("MDA0101") == std::string::npos);
}

} // namespace

TEST_CASE("a graceful restart does not wait long for a busy engine", "[httpd][apache][pebble]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  engine_apache a(pebble, http, https, "event", "dns-01");
  // The dns-01 program hangs: the engine is inside a blocking step when it is told to stop.
  ::mkdir((a.dir / "marks").c_str(), 0777);
  ::chmod((a.dir / "marks").c_str(), 0777); // the program runs as the User
  const std::string marker = a.dir / "marks/dns01.started";
  write_file(a.dir / "dns01.sh", "#!/bin/sh\ntouch " + marker + "\nsleep 20\n");
  ::chmod((a.dir / "dns01.sh").c_str(), 0755);
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  for (int i = 0; i < 300 && !exists(marker); ++i) ::usleep(100'000);
  REQUIRE(exists(marker));
  const int busy = a.engine();
  REQUIRE(busy > 0);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(a.graceful());
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited < std::chrono::seconds(6)); // APR: SIGTERM, at most 3 s, then SIGKILL
  std::cout << "INFO: graceful restart with a busy engine took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms\n";
  CHECK_FALSE(alive(busy));
  const int next = a.engine();
  CHECK(next > 0);
  CHECK(next != busy);
  CHECK(a.status_of("a.example.test") == "503");
}

TEST_CASE("the engine process certifies an MD in Apache (mpm_event, http-01)", "[httpd][apache][pebble]") {
  certify_and_serve("event", "http-01");
}

TEST_CASE("the engine process certifies an MD in Apache (mpm_event, dns-01)", "[httpd][apache][pebble]") {
  certify_and_serve("event", "dns-01");
}

TEST_CASE("the engine process certifies an MD in Apache (mpm_prefork, http-01)", "[httpd][apache][pebble]") {
  certify_and_serve("prefork", "http-01");
}

TEST_CASE("the engine process certifies an MD in Apache (mpm_prefork, dns-01)", "[httpd][apache][pebble]") {
  certify_and_serve("prefork", "dns-01");
}

TEST_CASE("the engine runs when its status socket cannot be made, and md-status comes from the file",
          "[httpd][apache][pebble]") {
  // mod_md's own test suite sets no DefaultRuntimeDir, and Apache's compiled-in one
  // (/var/run/apache2) is missing where the system apache2 never started: the engine used to
  // end at once (status socket bind failed, exit code 2) and be re-forked forever. The socket
  // now lives in the store (<store>/mdactor/status.sock); here it cannot be bound because the
  // store's path is too long for a unix socket.
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  engine_apache a(pebble, http, https, "event", "http-01");
  std::string deep = a.dir.path();
  while (deep.size() < 100) {
    deep += "/store-directory";
    ::mkdir(deep.c_str(), 0755);
  }
  write_file(a.conf, read_file(a.conf) + "MDStoreDir " + deep + "\n"
                                         "<Location /md-status>\n  SetHandler md-status\n</Location>\n");
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  auto md_status = [&] {
    return run({"curl", "-s", "--max-time", "10", "http://127.0.0.1:" + std::to_string(http) + "/md-status/a.example.test"})
      .output;
  };
  // at once, before the engine looked at the MD: it is there (the parent wrote the status file)
  const std::string first = md_status();
  CHECK(first.find("\"name\": \"a.example.test\"") != std::string::npos);
  CHECK(first.find("\"renew\": true") != std::string::npos);
  const int engine = a.engine();
  CHECK(engine > 0);
  const std::string job = deep + "/staging/a.example.test/job.json";
  for (int i = 0; i < 600 && !(exists(job) && read_file(job).find("\"finished\": true") != std::string::npos); ++i)
    ::usleep(100'000);
  REQUIRE(read_file(job).find("\"finished\": true") != std::string::npos);
  CHECK(a.engine() == engine); // never ended, never re-forked
  const std::string log = a.log();
  CHECK(log.find("[md:warn]") != std::string::npos);
  CHECK(log.find("MDA0185: engine: status socket " + deep + "/mdactor/status.sock not available (") !=
        std::string::npos);
  CHECK(log.find("are served from the status file") != std::string::npos);
  CHECK(log.find("MDA0146") == std::string::npos);
  CHECK(log.find("MDA0147") == std::string::npos);
  CHECK(log.find("MDA0186") == std::string::npos);
  // the staged certificate shows (status file + staging/ read by the worker)
  std::string staged;
  for (int i = 0; i < 30; ++i) {
    staged = md_status();
    if (staged.find("\"finished\": true") != std::string::npos) break;
    ::usleep(100'000);
  }
  CHECK(staged.find("\"finished\": true") != std::string::npos);
  CHECK(staged.find("\"sha256-fingerprint\"") != std::string::npos);
  a.stop();
}

TEST_CASE("code running as the User cannot turn the store against root (symlinks in staging/, challenges/, ocsp/)",
          "[httpd][apache][pebble]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  engine_apache a(pebble, http, https, "event", "http-01");
  // After the first certificate the engine renews at once (the window covers the lifetime).
  write_file(a.conf, read_file(a.conf) + "MDRenewWindow 99%\nMDStapling on\n");
  REQUIRE(a.start());
  INFO(a.log());
  REQUIRE(a.wait_staged("a.example.test", 60));
  REQUIRE(a.graceful());
  REQUIRE(a.status_of("a.example.test") == "200");
  const std::string serial_cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(a.https) +
                                 " -servername a.example.test </dev/null 2>/dev/null | openssl x509 -noout -serial";
  const std::string served_before = run({"sh", "-c", serial_cmd}).output;
  REQUIRE(served_before.rfind("serial=", 0) == 0);

  // A root-owned directory outside the store, with a root-owned file.
  const std::string victim = a.dir / "victim";
  REQUIRE(::mkdir(victim.c_str(), 0755) == 0);
  write_file(victim + "/secret.txt", "precious\n");
  REQUIRE(::chmod((victim + "/secret.txt").c_str(), 0640) == 0);
  // As the User (a PHP application on the same server would do this): staging/<md>,
  // challenges/<name> and ocsp/<md> become links to it, while the engine renews.
  const std::string plant =
      "set -e; cd " + a.store("") + "; for d in staging/a.example.test challenges/a.example.test "
      "ocsp/a.example.test; do rm -rf $d; ln -s " + victim + " $d; done";
  const run_result planted = run({"runuser", "-u", "www-data", "--", "sh", "-c", plant});
  INFO(planted.output);
  REQUIRE(planted.exit_code == 0);
  ::sleep(3); // the engine's renewal meets the links

  REQUIRE(a.graceful());
  CHECK(a.status_of("a.example.test") == "200");
  CHECK(run({"sh", "-c", serial_cmd}).output == served_before); // the old certificate
  const std::string log = a.log();
  CHECK(log.find("'" + a.store("staging/a.example.test") + "' is a symbolic link") != std::string::npos);
  // Nothing outside the store changed: the directory and its one file as they were.
  struct stat sb {};
  REQUIRE(::stat(victim.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0755);
  CHECK(sb.st_uid == 0);
  REQUIRE(::stat((victim + "/secret.txt").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0640);
  CHECK(sb.st_uid == 0);
  CHECK(read_file(victim + "/secret.txt") == "precious\n");
  CHECK(run({"ls", "-A", victim}).output == "secret.txt\n");
  CHECK(log.find("MDA0101") == std::string::npos);
  a.stop();
}

TEST_CASE("mdctl renew on a running Apache: a new certificate, served live", "[httpd][apache][pebble][mdctl]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(validating_at(http, https));
  engine_apache a(pebble, http, https, "event", "http-01");
  const bool started = a.start();
  INFO(a.log());
  REQUIRE(started);
  REQUIRE(a.wait_staged("a.example.test", 60));
  REQUIRE(a.graceful());
  REQUIRE(a.status_of("a.example.test") == "200");
  auto served_serial = [&] {
    return run({"sh", "-c", "openssl s_client -connect 127.0.0.1:" + std::to_string(a.https) +
                                " -servername a.example.test </dev/null 2>/dev/null | openssl x509 -noout -serial"})
        .output;
  };
  const std::string first = served_serial();
  REQUIRE(first.rfind("serial=", 0) == 0);

  const run_result r = run({MDCTL_PATH, "renew", "a.example.test", "--store", a.store(""), "--timeout", "120"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.rfind("a.example.test: renewal started: a renewal was asked for (mdctl renew)\n", 0) == 0);
  const auto at = r.output.find("new certificate rsa for 'a.example.test': serial ");
  REQUIRE(at != std::string::npos);
  const std::string serial = r.output.substr(at + 49, r.output.find(',', at) - at - 49);
  CHECK(r.output.find("\nserved now\n") != std::string::npos);
  // MDActivation live: every child serves it without a restart
  std::string now;
  for (int i = 0; i < 100 && now != "serial=" + serial + "\n"; ++i) {
    ::usleep(100'000);
    now = served_serial();
  }
  CHECK(now == "serial=" + serial + "\n");
  CHECK(now != first);
  a.stop();
}
