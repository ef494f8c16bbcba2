// The engine end to end against a real pebble, through `mdctl run` (MDCTL_PATH):
// - 20 MDs, RSA 2048 and P-256 alternating, all certified concurrently with --once; every
//   chain verified with `openssl verify` against pebble's root; one account.
// - kill -9 of the engine at several points of a real order (detected by watching the store),
//   then a second run: it completes, one account, every JSON parses, every key opens.
// - run_engine in-process, twice on one thread: the second run finds everything complete.
// Tag [engine][pebble].
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <mutex>

#include "acme/http01_responder.hpp"
#include "actors/engine.hpp"
#include "core/engine_config.hpp"
#include "status/snapshot.hpp"
#include "core/pkey.hpp"
#include "core/x509.hpp"
#include "store/fs_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
namespace fs = std::filesystem;

namespace {

engine_config make_config(const test::pebble_fixture& p, const std::string& store, int n,
                          const std::string& prefix) {
  engine_config c;
  c.settings.store_dir = store;
  c.settings.ca_certs = p.ca_file();
  c.settings.http01_port = p.http_port();
  c.settings.retry_delay = std::chrono::milliseconds(1000);
  c.settings.orders_in_flight = 8;
  for (int i = 0; i < n; ++i) {
    engine_md em;
    auto& md = em.md;
    md.name = prefix + std::to_string(i) + ".example.test";
    md.domains = {md.name, "www." + md.name};
    md.contacts = {"mailto:admin@example.test"};
    md.ca.urls = {p.directory_url()};
    md.ca.agreement = "accepted";
    md.ca.challenges = {"http-01"};
    md.key_specs = {i % 2 == 0 ? key_spec::rsa(2048) : key_spec::ec("P-256")};
    c.mds.push_back(em);
  }
  return c;
}

std::string write_config(const test::temp_dir& dir, const engine_config& c) {
  auto path = dir / "engine.json";
  test::write_file(path, to_json(c).dump(2));
  return path;
}

test::run_result mdctl_run(const std::string& config) {
  return test::run({MDCTL_PATH, "run", "--config", config, "--once", "--timeout", "240"});
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Every MD has a verified chain in domains/ for its key spec.
void check_certified(const engine_config& c, const std::string& store, const std::string& root) {
  auto st = fs_store::open(store);
  REQUIRE(st);
  for (const auto& em : c.mds) {
    const auto& spec = em.md.key_specs.front();
    const std::string dir = store + "/domains/" + em.md.name + "/";
    INFO(dir + aspect::pubcert(spec));
    auto key = st->load_key(store_group::domains, em.md.name, aspect::privkey(spec));
    REQUIRE(key);
    auto leaf = certificate::from_pem(test::read_file(dir + aspect::pubcert(spec)), "pubcert");
    REQUIRE(leaf);
    CHECK(leaf->matches_key(*key));
    CHECK(leaf->covers(em.md.domains));
    const std::string chain = dir + aspect::pubcert(spec);
    auto v = test::run({"openssl", "verify", "-CAfile", root, "-untrusted", chain, chain});
    INFO(v.output);
    CHECK(v.exit_code == 0);
  }
}

/// No corrupt file: every *.json parses, every *.pem key or certificate opens.
void check_store_sane(const std::string& store) {
  auto st = fs_store::open(store);
  REQUIRE(st);
  for (auto& e : fs::recursive_directory_iterator(store)) {
    if (!e.is_regular_file()) continue;
    auto p = e.path().string();
    INFO(p);
    auto ext = e.path().extension().string();
    auto text = test::read_file(p);
    if (ext == ".json") {
      CHECK(nlohmann::json::accept(text));
    } else if (ext == ".pem") {
      auto rel = fs::relative(e.path(), store);
      auto it = rel.begin();
      auto group = it->string();
      std::string name = (++it)->string(), file = e.path().filename().string();
      if (file.find("privkey") != std::string::npos || file == "account.pem") {
        store_group g = group == "accounts"  ? store_group::accounts
                        : group == "staging" ? store_group::staging
                        : group == "archive" ? store_group::archive
                                             : store_group::domains;
        if (group == "domains" || group == "accounts" || group == "staging")
          CHECK(st->load_key(g, name, file));
      } else {
        CHECK(read_pem_chain(text, p));
      }
    }
  }
}

/// `mdctl run --once` in the background (child_process.hpp), output to <config>.log.
pid_t spawn_run(const std::string& config) {
  return test::spawn_child({MDCTL_PATH, "run", "--config", config, "--once", "--quiet", "--timeout", "240"},
                           config + ".log");
}

bool any_file(const std::string& dir, const std::string& name) {
  std::error_code ec;
  for (auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.path().filename() == name) return true;
  return false;
}

} // namespace

TEST_CASE("engine: 20 MDs, RSA 2048 and P-256, certified concurrently by mdctl run --once",
          "[engine][pebble]") {
  test::pebble_fixture pebble;
  test::temp_dir dir;
  const std::string store = dir / "md", root = pebble.write_root_file();
  auto cfg = make_config(pebble, store, 20, "m");
  auto t0 = std::chrono::steady_clock::now();
  auto r = mdctl_run(write_config(dir, cfg));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  WARN("20 MDs certified in " << secs << " s");
  // 20 renewals against the default bound: the engine ran 8 at once
  CHECK(r.output.find(" at most 8 at once (MDRenewParallel 8)") != std::string::npos);
  check_certified(cfg, store, root);
  CHECK(names_in(store + "/accounts").size() == 1);
  CHECK(names_in(store + "/staging").empty());
  check_store_sane(store);

  // md-replay reads the job.json files this engine wrote: one finished run per MD.
  auto replay = test::run({MD_REPLAY_PATH, store, "--json"});
  INFO(replay.output);
  REQUIRE(replay.exit_code == 0);
  const auto doc = nlohmann::json::parse(replay.output);
  for (const auto& em : cfg.mds) {
    INFO(em.md.name);
    int finished_runs = 0;
    for (const auto& tl : doc["timelines"]) {
      if (tl["md"] != em.md.name) continue;
      CHECK(tl["errors"] == 0);
      for (const auto& st : tl["steps"]) finished_runs += st["type"] == "finished" ? 1 : 0;
    }
    CHECK(finished_runs >= 1);
  }
}

TEST_CASE("engine: kill -9 at points of a real order, then a restart completes",
          "[engine][pebble]") {
  struct point {
    const char* what;
    std::function<bool(const std::string&)> reached;
  };
  const std::vector<point> points{
    {"after account creation",
     [](const std::string& s) { return any_file(s + "/accounts", "account.json"); }},
    {"after the order",
     [](const std::string& s) { return any_file(s + "/staging", "order.json"); }},
    {"after challenges set up",
     [](const std::string& s) { return any_file(s + "/challenges", "acme-http-01.txt"); }},
  };
  for (const auto& pt : points) {
    DYNAMIC_SECTION("kill -9 " << pt.what) {
      test::pebble_fixture pebble;
      test::temp_dir dir;
      const std::string store = dir / "md", root = pebble.write_root_file();
      auto cfg = make_config(pebble, store, 3, "k");
      auto config = write_config(dir, cfg);
      pid_t pid = spawn_run(config);
      bool reached = false;
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!reached && std::chrono::steady_clock::now() < until) {
        reached = pt.reached(store);
        if (!reached) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      kill(pid, SIGKILL);
      int wstatus = 0;
      waitpid(pid, &wstatus, 0);
      REQUIRE(reached);
      check_store_sane(store);
      auto r = mdctl_run(config);
      INFO(r.output);
      REQUIRE(r.exit_code == 0);
      check_certified(cfg, store, root);
      CHECK(names_in(store + "/accounts").size() == 1);
      check_store_sane(store);
    }
  }
}

TEST_CASE("engine: run_engine in-process, twice on one thread (no globals)",
          "[engine][pebble]") {
  test::pebble_fixture pebble;
  test::temp_dir dir;
  const std::string store = dir / "md", root = pebble.write_root_file();
  auto cfg = make_config(pebble, store, 2, "p");
  cfg.settings.http01_port = 0;
  auto responder = acme::http01_responder::start({"127.0.0.1", pebble.http_port()});
  REQUIRE(responder);
  std::shared_ptr<acme::challenge_setup> shared = std::move(*responder);
  {
    auto st = fs_store::open(store);
    REQUIRE(st);
    for (const auto& em : cfg.mds)
      REQUIRE(st->save_json(store_group::domains, em.md.name, aspect::md, to_json(em.md)));
  }
  std::vector<md_report> reports;
  std::mutex mu;
  engine_options eo;
  eo.once = true;
  eo.activate = true;
  eo.challenges = [shared](mda::store&, const managed_domain&) { return shared; };
  eo.log = [](const std::string&) {};
  eo.observer = [&](const md_report& r) {
    std::lock_guard<std::mutex> lock(mu);
    reports.push_back(r);
  };
  CHECK(run_engine(cfg, eo) == 0);
  check_certified(cfg, store, root);
  auto first = test::read_file(store + "/domains/p0.example.test/pubcert.pem");
  reports.clear();
  CHECK(run_engine(cfg, eo) == 0); // complete now: nothing ordered
  CHECK(test::read_file(store + "/domains/p0.example.test/pubcert.pem") == first);
  REQUIRE(reports.size() == 2);
  for (const auto& r : reports) CHECK(r.outcome == md_outcome::complete);
  auto status = load_snapshot_file(store + "/mdactor/status.json");
  REQUIRE(status);
  CHECK(status->mds.size() == 2);
}
