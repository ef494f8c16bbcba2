// OCSP stapling through the whole engine (run_engine) against a real `openssl ocsp`
// responder: a test CA made in-process (tests/ocsp/ocsp_fixture.hpp) whose leaf carries the
// responder's URL, one static-certificate MD with stapling on. First run: the good response
// is stored and MDMessageCmd hears "ocsp-renewed <md>". The leaf is then revoked in the
// responder's index (the responder restarted: it reads the index once) and a second run with
// MDStaplingRenewWindow 100% asks again: revoked in the status snapshot and md-status, the
// domain actor told, ocsp-renewed rate limited (1 day). Tag [engine][ocsp].
#include <catch2/catch.hpp>

#include <ctime>
#include <mutex>
#include <sys/stat.h>
#include <thread>

#include "actors/engine.hpp"
#include "ocsp/persist.hpp"
#include "status/md_status.hpp"
#include "status/snapshot.hpp"
#include "store/fs_store.hpp"
#include "tests/ocsp/ocsp_fixture.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono;
using mda::test::ocsp::background_process;

namespace {

/// "YYMMDDHHMMSSZ", the time form of an `openssl ca` index.
std::string index_time(sys_time t) {
  std::time_t tt = static_cast<std::time_t>(to_unix(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%y%m%d%H%M%SZ", &tm);
  return buf;
}

struct ocsp_engine_fixture {
  test::temp_dir dir;
  int port = test::free_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  sys_time now = sys_clock::now();
  test::ocsp::test_pki pki = test::ocsp::make_pki(now, url);
  std::string key = *ocsp::cert_key(pki.leaf.cert);
  std::unique_ptr<background_process> responder;
  int starts = 0;
  std::mutex mu;
  std::vector<std::string> log_lines;

  ocsp_engine_fixture() {
    test::write_file(dir / "inter.pem", *pki.inter.cert.to_pem());
    test::write_file(dir / "inter.key", *pki.inter.key.to_pem());
    test::write_file(dir / "chain.pem", *write_pem_chain({pki.leaf.cert, pki.inter.cert}));
    test::write_file(dir / "leaf.key", *pki.leaf.key.to_pem());
    test::write_file(dir / "msg.sh", "#!/bin/sh\necho \"$@\" >> " + dir / "args.txt" + "\n");
    REQUIRE(chmod((dir / "msg.sh").c_str(), 0755) == 0);
    write_index(false);
  }
  void write_index(bool revoked) {
    const auto& leaf = pki.leaf.cert;
    std::string line = revoked ? "R\t" + index_time(leaf.not_after()) + "\t" +
                                     index_time(now - minutes(5)) + ",keyCompromise\t"
                               : "V\t" + index_time(leaf.not_after()) + "\t\t";
    test::write_file(dir / "index.txt", line + leaf.serial_hex() + "\tunknown\t/CN=leaf\n");
  }
  /// (Re)starts `openssl ocsp`, signing as the intermediate CA itself.
  void serve() {
    responder.reset();
    const std::string log = dir / ("responder-" + std::to_string(++starts) + ".log");
    responder = std::make_unique<background_process>(
      std::vector<std::string>{"openssl", "ocsp", "-index", dir / "index.txt", "-port",
                               std::to_string(port), "-rsigner", dir / "inter.pem", "-rkey",
                               dir / "inter.key", "-CA", dir / "inter.pem", "-nmin", "60"},
      log);
    INFO(test::read_file(log));
    REQUIRE(test::ocsp::wait_for_text(log, "waiting for OCSP client connections", seconds(10)));
  }
  engine_config config(const std::string& renew_window) {
    engine_config c;
    c.settings.store_dir = dir / "store";
    c.settings.message_cmd = dir / "msg.sh";
    c.settings.stapling_renew_window = *parse_timeslice(renew_window, k_life_norm);
    c.settings.renew_via_ari = false;
    engine_md m;
    m.md.name = "static.test";
    m.md.domains = {"static.test"};
    m.md.ca.urls = {"https://127.0.0.1:1/dir"};
    m.md.cert_files = {dir / "chain.pem"};
    m.md.pkey_files = {dir / "leaf.key"};
    m.md.stapling = true;
    c.mds.push_back(m);
    return c;
  }
  /// The published status (nullopt while there is none).
  std::optional<status_snapshot> snapshot() {
    auto s = load_snapshot_file(dir / "store/mdactor/status.json");
    if (!s) return std::nullopt;
    return *s;
  }
  bool logged(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& l : log_lines)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
  /// Runs the engine until `done` holds (polled) or 30 s passed.
  int run(const engine_config& c, std::function<bool()> done) {
    engine_options o;
    auto limit = steady_clock::now() + seconds(30);
    o.stop = [done, limit] { return done() || steady_clock::now() > limit; };
    o.log = [this](const std::string& l) {
      std::lock_guard<std::mutex> lock(mu);
      log_lines.push_back(l);
    };
    return run_engine(c, o);
  }
  std::string log_text() {
    std::lock_guard<std::mutex> lock(mu);
    std::string all;
    for (const auto& l : log_lines) all += l + "\n";
    return all;
  }
};

const stapling_info* stapling_of(const status_snapshot& s, const std::string& id) {
  for (const auto& st : s.staplings)
    if (st.id == id) return &st;
  return nullptr;
}

bool shows(std::optional<status_snapshot> s, const std::string& id, ocsp_cert_status want) {
  const stapling_info* st = s ? stapling_of(*s, id) : nullptr;
  return st && st->status == want;
}

} // namespace

TEST_CASE("engine: a static certificate stapled from openssl ocsp, good then revoked",
          "[engine][ocsp]") {
  ocsp_engine_fixture f;
  f.serve();
  const std::string fp = f.pki.leaf.cert.fingerprint_sha256();

  // 1. good: stored, published, MDMessageCmd "ocsp-renewed static.test"
  auto good_cfg = f.config("33%");
  f.run(good_cfg, [&] {
    return shows(f.snapshot(), f.key, ocsp_cert_status::good) &&
           test::read_file(f.dir / "args.txt").find("static.test") != std::string::npos;
  });
  INFO(f.log_text());
  auto st = fs_store::open(f.dir / "store");
  REQUIRE(st.ok());
  auto stored = ocsp::load_stored(*st, "static.test", f.key);
  REQUIRE(stored.ok());
  REQUIRE(stored->has_value());
  CHECK((*stored)->status == ocsp::cert_status::good);
  CHECK((*stored)->valid.end > f.now + minutes(55));
  CHECK(test::read_file(f.dir / "args.txt") == "ocsp-renewed static.test\n");

  // 2. revoked in the index; the responder restarted; a renew window of 100% asks at once
  f.write_index(true);
  f.serve();
  f.run(f.config("100%"), [&] {
    return shows(f.snapshot(), f.key, ocsp_cert_status::revoked) &&
           f.logged("OCSP: certificate " + fp + " is revoked");
  });
  auto snap = f.snapshot();
  REQUIRE(snap);
  REQUIRE(shows(snap, f.key, ocsp_cert_status::revoked));
  CHECK(f.logged("OCSP: certificate " + fp + " is revoked"));
  // ocsp-renewed is rate limited to once a day: the script did not run again
  CHECK(test::read_file(f.dir / "args.txt") == "ocsp-renewed static.test\n");
  stored = ocsp::load_stored(*st, "static.test", f.key);
  REQUIRE(stored->has_value());
  CHECK((*stored)->status == ocsp::cert_status::revoked);

  // md-status: cert.<place>.ocsp of the stapled MD, with the OCSP job
  const md_snapshot* m = find_md_by_name(*snap, "static.test");
  REQUIRE(m != nullptr);
  auto j = md_status_json(*snap, *m, true);
  INFO(render_json(j));
  // the place's name is the domain actor's (certificate_slots); found by fingerprint here
  nlohmann::ordered_json oc;
  for (const auto& [place, c] : j["cert"].items())
    if (c.contains("sha256-fingerprint") && c["sha256-fingerprint"] == fp) oc = c["ocsp"];
  CHECK(oc["status"] == "revoked");
  CHECK(oc["valid"]["from"].is_string());
  CHECK(oc["renewal"]["name"] == "static.test");
  CHECK(oc["renewal"]["errors"] == 0);
  CHECK(oc["renewal"]["log"]["entries"][0]["type"] == "message-ocsp-renewed");
}
