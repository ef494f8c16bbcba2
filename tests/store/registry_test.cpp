// mod_md's registry work on the store, without Apache: httpd.json, md.json sync, activation.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "core/job.hpp"
#include "store/fs_store.hpp"
#include "store/registry.hpp"
#include "store/store_lock.hpp"

#include "tests/store/staging_test_util.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using mda::test::read_file;
using mda::test::temp_dir;
using mda::test::write_file;

namespace {

bool file_exists(const std::string& path) {
  struct stat sb {};
  return ::stat(path.c_str(), &sb) == 0;
}

managed_domain configured_md(const std::string& name) {
  managed_domain md;
  md.name = name;
  md.domains = {name, "www." + name};
  md.ca.proto = "ACME";
  md.ca.urls = {"https://127.0.0.1:14000/dir"};
  md.ca.agreement = "accepted";
  md.renew_window = "33%";
  return md;
}

} // namespace

TEST_CASE("httpd.json is written only when the reachability differs", "[store][registry]") {
  temp_dir dir;
  auto st = fs_store::open(dir.path());
  REQUIRE(st);
  const std::string file = dir / "httpd.json";

  auto r = sync_httpd_json(*st, true, true);
  REQUIRE(r);
  CHECK_FALSE(r->written);
  CHECK_FALSE(file_exists(file));

  r = sync_httpd_json(*st, false, true);
  REQUIRE(r);
  CHECK(r->written);
  CHECK(read_file(file) == "{\n  \"proto\": {\n    \"http\": false,\n    \"https\": true\n  }\n}");
  r = sync_httpd_json(*st, false, true);
  REQUIRE(r);
  CHECK_FALSE(r->written);

  r = sync_httpd_json(*st, true, true);
  REQUIRE(r);
  CHECK(r->written);
  CHECK(read_file(file) == "{\n  \"proto\": {\n    \"http\": true,\n    \"https\": true\n  }\n}");

  SECTION("a damaged file is removed") {
    write_file(file, "{\"proto\": ");
    r = sync_httpd_json(*st, true, true);
    REQUIRE(r);
    CHECK(r->corrupt);
    CHECK_FALSE(r->written);
    CHECK_FALSE(file_exists(file));
  }
  SECTION("a file with wrong types is removed and rewritten") {
    write_file(file, R"({"proto": {"http": "yes"}})");
    r = sync_httpd_json(*st, true, false);
    REQUIRE(r);
    CHECK(r->corrupt);
    CHECK(r->written);
    CHECK(read_file(file) == "{\n  \"proto\": {\n    \"http\": true,\n    \"https\": false\n  }\n}");
  }
}

TEST_CASE("md.json is synced from the configuration", "[store][registry]") {
  temp_dir dir;
  auto st = fs_store::open(dir.path());
  REQUIRE(st);
  const std::string file = dir / "domains/example.org/md.json";

  managed_domain md = configured_md("example.org");
  auto r = sync_md_json(*st, md);
  REQUIRE(r);
  CHECK(r->written);
  CHECK(md.state == md_state::incomplete);
  CHECK(md.state_descr == "certificate(rsa) is missing");
  CHECK(read_file(file) == to_json(md).dump(2));

  managed_domain again = configured_md("example.org");
  r = sync_md_json(*st, again);
  REQUIRE(r);
  CHECK_FALSE(r->written);

  SECTION("contacts, ca.url and ca.account are kept when the configuration has none") {
    managed_domain stored = md;
    stored.contacts = {"mailto:admin@example.org"};
    stored.ca.url = "https://127.0.0.1:14000/dir";
    stored.ca.account = "ACME-127.0.0.1-0000";
    REQUIRE(st->save_json(store_group::domains, "example.org", "md.json", to_json(stored)));
    managed_domain fresh = configured_md("example.org");
    r = sync_md_json(*st, fresh);
    REQUIRE(r);
    CHECK_FALSE(r->written);
    CHECK(fresh.contacts == stored.contacts);
    CHECK(fresh.ca.account == "ACME-127.0.0.1-0000");
    CHECK(fresh.ca.url == "https://127.0.0.1:14000/dir");
  }
  SECTION("a changed property is written") {
    managed_domain changed = configured_md("example.org");
    changed.renew_window = "20d";
    r = sync_md_json(*st, changed);
    REQUIRE(r);
    CHECK(r->written);
    CHECK(read_file(file).find("\"renew-window\": \"20d\"") != std::string::npos);
  }
  SECTION("certificates in domains/ make it complete") {
    const auto certs = mda::test::make_staged_certs(md);
    REQUIRE(st->save_key(store_group::domains, "example.org", "privkey.pem", certs[0].key));
    REQUIRE(st->save_text(store_group::domains, "example.org", "pubcert.pem", *certs[0].chain[0].to_pem()));
    managed_domain fresh = configured_md("example.org");
    r = sync_md_json(*st, fresh);
    REQUIRE(r);
    CHECK(r->written);
    CHECK(fresh.state == md_state::complete);
    CHECK(fresh.state_descr.empty());
  }
  SECTION("a damaged md.json is replaced") {
    write_file(file, "{");
    managed_domain fresh = configured_md("example.org");
    r = sync_md_json(*st, fresh);
    REQUIRE(r);
    CHECK(r->written);
    REQUIRE(r->replaced);
    CHECK(read_file(file) == to_json(fresh).dump(2));
  }
}

TEST_CASE("staged sets are activated, under the store lock when configured", "[store][registry]") {
  temp_dir dir;
  auto st = fs_store::open(dir.path());
  REQUIRE(st);
  const managed_domain staged = mda::test::staging_md({});
  REQUIRE(write_staging(*st, staged, mda::test::make_staged_certs(staged), mda::test::staged_job(staged.name),
                        std::nullopt));
  std::vector<engine_md> mds = {{configured_md("other.org"), true}, {configured_md(staged.name), true}};

  SECTION("no lock") {
    const auto rep = activate_staged_sets(*st, dir.path(), mds, store_locks{});
    CHECK(rep.activated == std::vector<std::string>{"example.org"});
    CHECK(rep.errors.empty());
    CHECK_FALSE(rep.lock_error);
    CHECK(file_exists(dir / "domains/example.org/pubcert.pem"));
    CHECK_FALSE(file_exists(dir / "staging/example.org/md.json"));
  }
  SECTION("the lock held elsewhere: nothing is activated") {
    auto held = store_lock::acquire(dir.path());
    REQUIRE(held);
    store_locks locks;
    locks.enabled = true;
    locks.wait = std::chrono::milliseconds(0);
    const auto rep = activate_staged_sets(*st, dir.path(), mds, locks);
    CHECK(rep.activated.empty());
    REQUIRE(rep.lock_error);
    CHECK(file_exists(dir / "staging/example.org/md.json"));
  }
  SECTION("the lock free") {
    store_locks locks;
    locks.enabled = true;
    const auto rep = activate_staged_sets(*st, dir.path(), mds, locks);
    CHECK(rep.activated == std::vector<std::string>{"example.org"});
  }
}

TEST_CASE("a refused staged set is reported by path, the other MDs are activated", "[store][registry]") {
  temp_dir dir;
  auto st = fs_store::open(dir.path());
  REQUIRE(st);
  REQUIRE(st->setup_worker_dirs(33, 33));
  const managed_domain a = mda::test::staging_md({}, "a.example.org");
  const managed_domain b = mda::test::staging_md({}, "b.example.org");
  for (const auto& md : {a, b})
    REQUIRE(write_staging(*st, md, mda::test::make_staged_certs(md), mda::test::staged_job(md.name), std::nullopt));
  // the User puts a symlink where a's staged set was (a root-owned directory with a set)
  const std::string staged = dir / "staging/a.example.org";
  const std::string elsewhere = dir / "root-only";
  REQUIRE(::rename(staged.c_str(), elsewhere.c_str()) == 0);
  REQUIRE(::symlink(elsewhere.c_str(), staged.c_str()) == 0);
  std::vector<engine_md> mds = {{configured_md(a.name), true}, {configured_md(b.name), true}};
  const auto rep = activate_staged_sets(*st, dir.path(), mds, store_locks{});
  CHECK(rep.activated == std::vector<std::string>{"b.example.org"});
  REQUIRE(rep.errors.size() == 1);
  CHECK(rep.errors[0].message == "activating the staged set of 'a.example.org': loading the staged set: '" +
                                     staged + "' is a symbolic link, refused");
  CHECK_FALSE(file_exists(dir / "domains/a.example.org"));
  CHECK(file_exists(dir / "domains/b.example.org/pubcert.pem"));
  CHECK(file_exists(elsewhere + "/pubcert.pem")); // the target stays, the link went
  struct stat sb {};
  CHECK(::lstat(staged.c_str(), &sb) != 0);
}

TEST_CASE("installed: MDMessageCmd gets 'installed <md>' once a day, the job records it",
          "[store][registry]") {
  temp_dir dir;
  auto st = fs_store::open(dir.path()).value();
  std::vector<std::vector<std::string>> ran;
  int exit_code = 0;
  command_runner run = [&](const std::vector<std::string>& argv, std::chrono::milliseconds t) {
    ran.push_back(argv);
    CHECK(t == std::chrono::milliseconds(5000));
    process_result r;
    r.exit_code = exit_code;
    return expected<process_result>(r);
  };
  const event_commands cmds{"/bin/notify", "/usr/local/bin/msg.sh extra-arg"};
  const auto t0 = sys_clock::now();

  auto failures = announce_installed(st, {"a.example.test"}, cmds, std::chrono::milliseconds(5000), run, t0);
  CHECK(failures.empty());
  REQUIRE(ran.size() == 1); // MDNotifyCmd is for "renewed" only
  CHECK(ran[0] == std::vector<std::string>{"/usr/local/bin/msg.sh", "extra-arg", "installed", "a.example.test"});
  auto jb = job_from_json(st.load_json(store_group::domains, "a.example.test", aspect::job).value(), "job").value();
  REQUIRE(jb.log.size() == 1);
  CHECK(jb.log[0].type == "message-installed");

  // within a day: rate limited, nothing runs
  failures = announce_installed(st, {"a.example.test"}, cmds, std::chrono::milliseconds(5000), run,
                                t0 + std::chrono::hours(23));
  CHECK(failures.empty());
  CHECK(ran.size() == 1);

  // a day later, the command fails: logged as message-error, reported with the MD's name
  exit_code = 3;
  failures = announce_installed(st, {"a.example.test"}, cmds, std::chrono::milliseconds(5000), run,
                                t0 + std::chrono::hours(25));
  CHECK(ran.size() == 2);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].rfind("a.example.test: event installed: ", 0) == 0);
  jb = job_from_json(st.load_json(store_group::domains, "a.example.test", aspect::job).value(), "job").value();
  REQUIRE(jb.log.size() == 2);
  CHECK(jb.log[0].type == "message-error");
  CHECK(jb.log[0].status == "installed");
}

TEST_CASE("installed: a damaged job.json is reported and started anew", "[store][registry]") {
  temp_dir dir;
  auto st = fs_store::open(dir.path()).value();
  REQUIRE(st.save_text(store_group::domains, "a.example.test", "job.json", "{not json"));
  std::vector<std::vector<std::string>> ran;
  command_runner run = [&](const std::vector<std::string>& argv, std::chrono::milliseconds) {
    ran.push_back(argv);
    process_result r;
    r.exit_code = 0;
    return expected<process_result>(r);
  };
  auto failures = announce_installed(st, {"a.example.test"}, {"", "/bin/msg"}, std::chrono::milliseconds(5000),
                                     run, sys_clock::now());
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].rfind("a.example.test: '" + dir.path() + "/domains/a.example.test/job.json' is not valid JSON: ", 0) == 0);
  CHECK(failures[0].find("(replaced by a new one)") != std::string::npos);
  CHECK(ran == std::vector<std::vector<std::string>>{{"/bin/msg", "installed", "a.example.test"}});
  auto jb = job_from_json(st.load_json(store_group::domains, "a.example.test", aspect::job).value(), "job").value();
  REQUIRE(jb.log.size() == 1);
  CHECK(jb.log[0].type == "message-installed");
}

TEST_CASE("a renamed MD takes over the stored MD with its domains", "[store][registry]") {
  temp_dir dir;
  auto st = fs_store::open(dir.path()).value();
  auto stored = [&](const std::string& name, std::vector<std::string> domains) {
    managed_domain md = configured_md(name);
    md.domains = std::move(domains);
    REQUIRE(st.save_json(store_group::domains, name, aspect::md, to_json(md)));
    REQUIRE(st.save_text(store_group::domains, name, "pubcert.pem", "CERT of " + name));
  };
  stored("old.example.test", {"old.example.test", "www.old.example.test"});
  stored("other.example.test", {"other.example.test", "b.example.test"});
  stored("kept.example.test", {"kept.example.test"});
  REQUIRE(st.save_text(store_group::staging, "old.example.test", "job.json", "{}"));

  engine_md renamed{configured_md("new.example.test"), true};
  renamed.md.domains = {"old.example.test"};               // covered by old.example.test
  engine_md partial{configured_md("p.example.test"), true};
  partial.md.domains = {"b.example.test", "c.example.test"}; // one name with other.example.test
  engine_md fresh{configured_md("fresh.example.test"), true};
  engine_md kept{configured_md("kept.example.test"), true};
  std::vector<error> errors;
  auto r = rename_moved_mds(st, {renamed, partial, fresh, kept}, &errors);
  CHECK(errors.empty());
  REQUIRE(r.size() == 2);
  CHECK(r[0].from == "old.example.test");
  CHECK(r[0].to == "new.example.test");
  CHECK(r[1].from == "other.example.test");
  CHECK(r[1].to == "p.example.test");
  CHECK(st.load_text(store_group::domains, "new.example.test", "pubcert.pem").value() == "CERT of old.example.test");
  CHECK(st.load_text(store_group::staging, "new.example.test", "job.json").value() == "{}");
  CHECK(st.load_text(store_group::domains, "p.example.test", "pubcert.pem").value() == "CERT of other.example.test");
  CHECK_FALSE(st.exists(store_group::domains, "old.example.test", "pubcert.pem"));
  CHECK_FALSE(st.exists(store_group::domains, "fresh.example.test", "pubcert.pem"));
  CHECK(st.load_text(store_group::domains, "kept.example.test", "pubcert.pem").value() == "CERT of kept.example.test");
  // run again: everything has its dir, nothing moves
  CHECK(rename_moved_mds(st, {renamed, partial, fresh, kept}).empty());
}

TEST_CASE("challenge data of names that are no configured MD is removed at start",
          "[store][registry]") {
  // mod_md's suite, 910_01: challenges/<md> stays, every other name under challenges/ goes.
  temp_dir dir;
  auto st = fs_store::open(dir.path()).value();
  CHECK(purge_unused_challenges(st, {}).empty()); // no challenges/ yet: nothing to do
  for (const char* name : {"aaa", "bbb", "a.example.test", "www.a.example.test", "zzz"})
    REQUIRE(st.save_text(store_group::challenges, name, "acme-http-01.txt", "token"));
  engine_md a{configured_md("a.example.test"), true};
  CHECK(purge_unused_challenges(st, {a}).empty());
  CHECK(st.list_names(store_group::challenges).value() == std::vector<std::string>{"a.example.test"});
  CHECK(st.load_text(store_group::challenges, "a.example.test", "acme-http-01.txt").value() == "token");
}

TEST_CASE("the status at start lists every configured MD as the store shows it",
          "[store][registry]") {
  // mod_md's suite asks md-status right after a restart (e.g. 730_001, 702_040): every MD must
  // be there before the engine has looked at it
  temp_dir dir;
  auto st = fs_store::open(dir.path()).value();
  const sys_time now = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  const managed_domain a = mda::test::staging_md({}, "a.example.test");
  const managed_domain b = mda::test::staging_md({key_spec::ec("secp384r1")}, "b.example.test");
  const auto a_domain = mda::test::make_staged_certs(a);
  const auto a_staged = mda::test::make_staged_certs(a);
  const auto b_domain = mda::test::make_staged_certs(b);
  REQUIRE(st.save_text(store_group::domains, a.name, "pubcert.pem", *a_domain[0].chain[0].to_pem()));
  REQUIRE(st.save_text(store_group::staging, a.name, "pubcert.pem", *a_staged[0].chain[0].to_pem()));
  REQUIRE(st.save_json(store_group::staging, a.name, aspect::job, to_json(mda::test::staged_job(a.name))));
  REQUIRE(st.save_text(store_group::domains, b.name, "pubcert.secp384r1.pem", *b_domain[0].chain[0].to_pem()));
  engine_config cfg;
  cfg.settings.cert_check_name = "crt.sh";
  cfg.mds = {engine_md{a, true}, engine_md{b, false}};

  const status_snapshot s = status_at_start(st, cfg, make_md_specs(cfg).value(), now);
  CHECK(s.published == now);
  CHECK(s.cert_check_name == "crt.sh");
  REQUIRE(s.mds.size() == 2);
  const md_snapshot& sa = s.mds[0];
  CHECK(sa.md.name == "a.example.test");
  REQUIRE(sa.certs.size() == 1);
  CHECK(sa.certs[0].name == "rsa");
  REQUIRE(sa.certs[0].cert);
  CHECK(sa.certs[0].cert->serial == a_domain[0].chain[0].serial_hex());
  REQUIRE(sa.staged_certs.size() == 1);
  REQUIRE(sa.staged_certs[0].cert);
  CHECK(sa.staged_certs[0].cert->serial == a_staged[0].chain[0].serial_hex());
  REQUIRE(sa.renewal);
  CHECK(sa.renewal->finished);
  CHECK(sa.renew);
  CHECK(sa.watched);
  const md_snapshot& sb = s.mds[1];
  REQUIRE(sb.certs.size() == 1);
  CHECK(sb.certs[0].name == "secp384r1");
  CHECK(sb.certs[0].cert);
  CHECK_FALSE(sb.renewal);
  CHECK_FALSE(sb.watched); // no virtual host uses it
  // the renew window (33 % of the 14 days) is ahead: not due
  CHECK_FALSE(sb.renew);
  CHECK(sb.renew_at > now);
}

TEST_CASE("one MD's entry is brought up to what staging/ holds now", "[store][registry]") {
  // mod_md's suite, 901_001 (the job appears before the next status file) and 920_002 (a
  // certificate copied into staging/ shows at once in certificate-status)
  temp_dir dir;
  auto st = fs_store::open(dir.path()).value();
  const managed_domain a = mda::test::staging_md({}, "a.example.test");
  md_snapshot m;
  m.md = a;
  m.renew_at = sys_clock::now() + std::chrono::hours(24);
  refresh_from_staging(st, m);
  CHECK_FALSE(m.renewal);
  CHECK_FALSE(m.renew);
  REQUIRE(m.staged_certs.size() == 1);
  CHECK_FALSE(m.staged_certs[0].cert);

  const auto staged = mda::test::make_staged_certs(a);
  REQUIRE(st.save_text(store_group::staging, a.name, "pubcert.pem", *staged[0].chain[0].to_pem()));
  REQUIRE(st.save_json(store_group::staging, a.name, aspect::job, to_json(mda::test::staged_job(a.name))));
  refresh_from_staging(st, m);
  REQUIRE(m.renewal);
  CHECK(m.renewal->finished);
  CHECK(m.renew);
  REQUIRE(m.staged_certs[0].cert);
  CHECK(m.staged_certs[0].cert->serial == staged[0].chain[0].serial_hex());

  // a damaged job.json keeps what was known; a removed one is gone
  REQUIRE(st.save_text(store_group::staging, a.name, aspect::job, "{\"name\": "));
  refresh_from_staging(st, m);
  CHECK(m.renewal);
  REQUIRE(st.purge(store_group::staging, a.name));
  refresh_from_staging(st, m);
  CHECK_FALSE(m.renewal);
  CHECK_FALSE(m.staged_certs[0].cert);
  CHECK_FALSE(m.renew);
}
