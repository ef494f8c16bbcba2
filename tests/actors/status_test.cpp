// The status actor on the test_coordinator: the first file at once, bursts coalesced into one
// write per interval, no write without a change, removals, queries, a failing write counted.
#include "actors/status.hpp"

#include <functional>

#include <sys/stat.h>

#include "actors/worker_pool.hpp"
#include "store/fs_io.hpp"
#include "status/md_status.hpp"
#include "tests/actors/actor_fixture.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

const sys_time t0 = from_unix(1767225600); // 2026-01-01T00:00:00Z

md_snapshot md_named(const std::string& name, bool renewing = false) {
  md_snapshot m;
  m.md.name = name;
  m.md.domains = {name};
  m.watched = true;
  m.renewing = renewing;
  return m;
}

/// The names in the published file, and its "published" time.
struct file_view {
  std::vector<std::string> names;
  std::vector<bool> renewing;
  sys_time published{};
};

file_view read_published(const std::string& path) {
  auto s = load_snapshot_file(path);
  REQUIRE(s.ok());
  file_view v;
  v.published = s->published;
  for (const auto& m : s->mds) {
    v.names.push_back(m.md.name);
    v.renewing.push_back(m.renewing);
  }
  return v;
}

using names = std::vector<std::string>;

/// A status actor on the test coordinator writing <temp dir>/status.json through a pool of 8
/// workers (not detached); `tune` adjusts the configuration before the spawn.
struct status_setup {
  test::temp_dir dir;
  test::actor_fixture fx;
  worker_pool_actor pool = spawn_worker_pool(fx.sys, {8, false});
  status_config cfg;
  status_actor aut;

  explicit status_setup(const std::function<void(status_config&)>& tune = {}) {
    cfg.file = dir / "status.json";
    cfg.pool = pool;
    cfg.env = make_test_env(fx.sys, t0);
    if (tune) tune(cfg);
    auto spawned = spawn_status(fx.sys, cfg);
    REQUIRE(spawned);
    aut = *spawned;
  }
};

} // namespace

TEST_CASE("status actor: publishing is paced and coalesced", "[actors][status]") {
  status_setup setup;
  auto& fx = setup.fx;
  const auto& cfg = setup.cfg;
  auto aut = setup.aut;
  auto& st = fx.state_of<status_state>(aut);
  auto send = [&](auto... xs) { caf::anon_send(aut, xs...); };

  fx.sched.run(); // the first snapshot goes out at once, without any MD
  CHECK(st.stats.writes == 1);
  CHECK(read_published(cfg.file).names.empty());
  struct stat fst {};
  REQUIRE(::stat(cfg.file.c_str(), &fst) == 0);
  CHECK((fst.st_mode & 07777) == 0600); // the engine's user (the User) only

  send(put_atom::value, md_named("a.example"));
  fx.sched.run();
  CHECK(st.stats.writes == 1); // written 0 ms ago: wait for the interval
  fx.advance(100ms);
  send(put_atom::value, md_named("b.example"));
  send(put_atom::value, md_named("a.example", true));
  fx.sched.run();
  fx.advance(399ms);
  CHECK(st.stats.writes == 1);
  CHECK(read_published(cfg.file).names.empty());
  fx.advance(1ms); // 500 ms after the first write: the burst in one write
  CHECK(st.stats.writes == 2);
  auto v = read_published(cfg.file);
  CHECK(v.names == names{"a.example", "b.example"});
  CHECK(v.renewing == std::vector<bool>{true, false});
  CHECK(v.published == t0); // RFC 822 keeps whole seconds of t0 + 500 ms

  fx.advance(2s); // nothing changed: nothing written
  CHECK(st.stats.writes == 2);

  send(put_atom::value, md_named("c.example"));
  fx.sched.run(); // the last write is 2.5 s old: at once
  CHECK(st.stats.writes == 3);
  v = read_published(cfg.file);
  CHECK(v.names == names{"a.example", "b.example", "c.example"});
  CHECK(v.published == t0 + 2s);

  send(delete_atom::value, std::string("b.example"));
  send(delete_atom::value, std::string("unknown.example")); // no change
  fx.sched.run();
  fx.advance(499ms);
  CHECK(st.stats.writes == 3);
  fx.advance(1ms);
  CHECK(st.stats.writes == 4);
  CHECK(read_published(cfg.file).names == names{"a.example", "c.example"});
  CHECK(st.md_status->size() == 0); // no socket: no md-status fragments rendered
  CHECK(st.stats.updates == 6);
  CHECK(st.stats.write_errors == 0);

  auto snap = fx.ask<status_snapshot>(aut, get_atom::value, snapshot_atom_v);
  CHECK(snap.published == t0 + 3s);
  REQUIRE(snap.mds.size() == 2);
  CHECK(snap.mds[0].md.name == "a.example");
  CHECK(snap.mds[0].renewing);
  auto stats = fx.ask<status_stats>(aut, get_atom::value, stats_atom_v);
  CHECK(stats.writes == 4);
  fx.stop(aut, setup.pool);
}

TEST_CASE("status actor: the live announcement lists the MDs served from staging", "[actors][status]") {
  status_setup setup([](status_config& c) { c.live_file = c.file + ".live"; });
  auto& fx = setup.fx;
  auto aut = setup.aut;
  auto& st = fx.state_of<status_state>(aut);
  const std::string live = setup.cfg.live_file;
  auto served = [](const std::string& name, const std::string& fp, served_source from) {
    md_snapshot m = md_named(name);
    cert_info c;
    c.sha256_fingerprint = fp;
    m.certs = {cert_slot{"rsa", c}, cert_slot{"P-256", std::nullopt}};
    m.served_from = from;
    m.served_since = t0 + 5s;
    return m;
  };
  auto read_live = [&] {
    auto t = parse_live_file(test::read_file(live), live);
    REQUIRE(t);
    return *t;
  };
  fx.sched.run();
  CHECK_FALSE(fsio::is_file(live)); // nothing served live: the parent's empty file stays
  caf::anon_send(aut, caf::put_atom_v, served("b.example", "bb", served_source::domains));
  fx.sched.run();
  CHECK_FALSE(fsio::is_file(live));
  caf::anon_send(aut, caf::put_atom_v, served("b.example", "b2", served_source::staging));
  caf::anon_send(aut, caf::put_atom_v, served("a.example", "a2", served_source::staging));
  fx.sched.run();
  auto t = read_live();
  CHECK(t.generation == 2);
  REQUIRE(t.mds.size() == 2);
  CHECK(t.mds[0] == live_md{"a.example", t0 + 5s, {"a2"}});
  CHECK(t.mds[1] == live_md{"b.example", t0 + 5s, {"b2"}});
  struct stat fst {};
  REQUIRE(::stat(live.c_str(), &fst) == 0);
  CHECK((fst.st_mode & 07777) == 0600);
  // the same again, or a new run that no longer serves from staging: no change
  caf::anon_send(aut, caf::put_atom_v, served("a.example", "a2", served_source::staging));
  caf::anon_send(aut, caf::put_atom_v, served("a.example", "a2", served_source::none));
  fx.sched.run();
  CHECK(read_live().generation == 2);
  caf::anon_send(aut, caf::put_atom_v, served("a.example", "a3", served_source::staging));
  fx.sched.run();
  t = read_live();
  CHECK(t.generation == 3);
  CHECK(t.mds[0].fingerprints == std::vector<std::string>{"a3"});
  CHECK(st.stats.write_errors == 0);
  fx.stop(aut, setup.pool);
}

TEST_CASE("status actor: a failing write is counted and retried after the interval",
          "[actors][status]") {
  test::temp_dir dir;
  test::actor_fixture fx;
  auto pool = spawn_worker_pool(fx.sys, {1, false});
  status_config cfg;
  cfg.file = dir / "missing/status.json";
  cfg.pool = pool;
  cfg.env = make_test_env(fx.sys, t0);
  auto aut = *spawn_status(fx.sys, cfg);
  fx.sched.run();
  auto stats = fx.ask<status_stats>(aut, get_atom::value, stats_atom_v);
  CHECK(stats.writes == 0);
  CHECK(stats.write_errors == 1);
  CHECK(stats.last_error == "open('" + cfg.file + ".tmp') failed: No such file or directory");

  REQUIRE(fsio::make_dirs(dir / "missing", 0755).ok());
  fx.advance(500ms); // still dirty: the pacing timer tries again
  stats = fx.ask<status_stats>(aut, get_atom::value, stats_atom_v);
  CHECK(stats.writes == 1);
  CHECK(read_published(cfg.file).names.empty());
  fx.stop(aut, pool);
}

TEST_CASE("status actor: validate", "[actors][status]") {
  status_config cfg;
  CHECK(error_text(validate(cfg)) == "status: no clock");
  cfg.env = make_system_env();
  CHECK(!validate(cfg));
  cfg.file = "/tmp/x.json";
  CHECK(error_text(validate(cfg)) == "status: a status file needs a worker pool");
}

TEST_CASE("status actor: md-status fragments follow every update", "[actors][status]") {
  test::actor_fixture fx;
  status_config cfg;
  cfg.socket_path = "/nonexistent/status.sock"; // spawned directly: the socket is not bound
  cfg.env = make_test_env(fx.sys, t0);
  status_actor aut = fx.sys.spawn(status_behavior, cfg);
  auto& st = fx.state_of<status_state>(aut);
  auto send = [&](auto... xs) { caf::anon_send(aut, xs...); };
  // What the listener answers for "GET md-status", and what the snapshot gives rendered whole.
  auto joined = [&] {
    auto frags = st.md_status->fragments();
    REQUIRE(frags);
    std::vector<std::string_view> views;
    for (const auto& f : *frags) views.push_back(*f);
    return md_status_join(k_mod_md_version, views);
  };
  auto whole = [&] { return render_json(md_status_all_json(st.current(t0))); };
  fx.sched.run();
  CHECK(joined() == "{\n  \"version\": \"2.6.10\"\n}");

  auto c = md_named("c.example");
  c.md.stapling = true;
  cert_info leaf;
  leaf.serial = "0A";
  leaf.sha256_fingerprint = std::string(64, 'c');
  leaf.valid_from = t0;
  leaf.valid_until = t0 + 24h * 90;
  c.certs = {{"rsa", leaf}};
  send(put_atom::value, md_named("b.example"));
  send(put_atom::value, c);
  send(put_atom::value, md_named("a.example", true));
  fx.sched.run();
  CHECK(st.md_status->size() == 3);
  CHECK(joined() == whole());
  CHECK(joined().find("\"ocsp\"") == std::string::npos);

  stapling_info ocsp; // a stapling entry changes c's fragment only
  ocsp.domain = "c.example";
  ocsp.id = "00cc";
  ocsp.sha256_fingerprint = leaf.sha256_fingerprint;
  ocsp.status = ocsp_cert_status::good;
  ocsp.valid_from = t0;
  ocsp.valid_until = t0 + 24h * 7;
  const auto b_before = st.md_status->fragments()->at(1);
  send(put_atom::value, ocsp);
  fx.sched.run();
  CHECK(joined() == whole());
  CHECK(joined().find("\"status\": \"good\"") != std::string::npos);
  CHECK(st.md_status->fragments()->at(1) == b_before); // b.example not rendered again

  const auto a_before = st.md_status->fragments()->at(0);
  auto b = md_named("b.example");
  b.error = 20014;
  send(put_atom::value, b);
  send(put_atom::value, md_named("a.example", true)); // the same again: kept as it was
  send(delete_atom::value, std::string("c.example"));
  fx.sched.run();
  CHECK(st.md_status->size() == 2);
  CHECK(st.md_status->fragments()->at(0) == a_before);
  CHECK(joined() == whole());
  CHECK(joined().find("\"error\": 20014") != std::string::npos);
  CHECK(st.stats.updates == 7);

  // One MD for "GET md-status <name>": by name, else by domain ignoring case, with its staplings.
  send(put_atom::value, c);
  fx.sched.run();
  auto one = fx.ask<status_snapshot>(aut, get_atom::value, snapshot_atom_v, std::string("C.Example"));
  REQUIRE(one.mds.size() == 1);
  CHECK(one.mds[0].md.name == "c.example");
  REQUIRE(one.staplings.size() == 1);
  CHECK(one.staplings[0].id == "00cc");
  CHECK(one.published == t0);
  CHECK(fx.ask<status_snapshot>(aut, get_atom::value, snapshot_atom_v, std::string("a.example")).mds.size() == 1);
  auto none = fx.ask<status_snapshot>(aut, get_atom::value, snapshot_atom_v, std::string("x.example"));
  CHECK(none.mds.empty());
  CHECK(none.staplings.empty());
  fx.stop(aut);
}

TEST_CASE("status actor: the file is joined from per-entry texts", "[actors][status]") {
  status_setup setup([](status_config& c) {
    c.cert_check_name = "crt.sh";
    c.cert_check_url = "https://crt.sh?q=";
  });
  auto& fx = setup.fx;
  const auto& cfg = setup.cfg;
  auto aut = setup.aut;
  auto& st = fx.state_of<status_state>(aut);
  auto send = [&](auto... xs) { caf::anon_send(aut, xs...); };
  // The file must be byte for byte the whole snapshot rendered at once.
  auto check_file = [&] {
    const std::string text = test::read_file(cfg.file);
    auto back = parse_snapshot(text, "file");
    REQUIRE(back.ok());
    CHECK(text == render_json(to_json(st.current(back->published))));
    CHECK(*back == st.current(back->published));
  };
  fx.sched.run();
  check_file();
  CHECK(st.file_mds.empty());

  auto c = md_named("c.example");
  c.md.stapling = true;
  send(put_atom::value, md_named("b.example"));
  send(put_atom::value, c);
  send(put_atom::value, md_named("a.example", true));
  stapling_info ocsp;
  ocsp.domain = "c.example";
  ocsp.id = "00cc";
  ocsp.status = ocsp_cert_status::good;
  ocsp.valid_from = t0;
  ocsp.valid_until = t0 + 24h * 7;
  send(put_atom::value, ocsp);
  fx.sched.run();
  fx.advance(500ms);
  CHECK(st.stats.writes == 2);
  CHECK(st.file_mds.size() == 3);
  CHECK(st.file_staplings.size() == 1);
  check_file();

  const auto a_before = st.file_mds.at("a.example");
  auto b = md_named("b.example");
  b.error = 20014;
  send(put_atom::value, b);
  send(put_atom::value, md_named("a.example", true)); // the same again: not rendered again
  send(delete_atom::value, std::string("c.example"));
  fx.sched.run();
  fx.advance(500ms);
  CHECK(st.stats.writes == 3);
  CHECK(st.file_mds.at("a.example") == a_before);
  CHECK(st.file_mds.count("c.example") == 0);
  check_file();
  CHECK(test::read_file(cfg.file).find("\"error\": 20014") != std::string::npos);
  fx.stop(aut);
}

TEST_CASE("status actor: a slow write spaces the next one", "[actors][status]") {
  CHECK(status_write_spacing(500ms, 0ms) == caf::timespan(500ms));
  CHECK(status_write_spacing(500ms, 50ms) == caf::timespan(500ms));
  CHECK(status_write_spacing(500ms, 80ms) == caf::timespan(800ms));
  CHECK(status_write_spacing(0ms, 3ms) == caf::timespan(30ms));
}

TEST_CASE("status actor: a socket that cannot be bound is left out with a warning",
          "[actors][status]") {
  // mod_md's suite runs without DefaultRuntimeDir: Apache's default runtime directory is
  // missing, and the engine must run anyway (md-status from the file)
  std::vector<std::string> warnings;
  status_setup setup([&](status_config& c) {
    c.socket_path = c.file.substr(0, c.file.rfind('/')) + "/missing/mdactor-status.sock";
    c.warn = [&](const std::string& w) { warnings.push_back(w); };
    c.seed = {md_named("b.example"), md_named("a.example")};
  });
  auto& st = setup.fx.state_of<status_state>(setup.aut);
  CHECK(st.cfg.socket_path.empty());
  REQUIRE(warnings.size() == 1);
  const std::string dir = setup.dir / "missing";
  CHECK(warnings[0].find("status socket " + dir + "/mdactor-status.sock not available (") == 0);
  CHECK(warnings[0].find("served from the status file") != std::string::npos);
  CHECK(warnings[0].find("need " + dir + " to exist and be writable by the engine: create it or set "
                         "DefaultRuntimeDir") != std::string::npos);
  // the seed is the first file: every MD listed before any domain actor reported
  setup.fx.sched.run();
  CHECK(read_published(setup.cfg.file).names == names{"a.example", "b.example"});
  caf::anon_send(setup.aut, put_atom::value, md_named("a.example", true));
  setup.fx.sched.run();
  setup.fx.advance(1s, 1s);
  CHECK(read_published(setup.cfg.file).renewing == std::vector<bool>{true, false});
}
