// a2md: the registry functions on a temporary store (tools/a2md_registry.hpp) and the program
// (A2MD_PATH) as mod_md's test suite and scripts call it: JSON shapes, exit codes, statuses.
// The expected md.json texts are what mod_md 2.6.11's own a2md wrote for the same commands.
// drive, newreg, validate and delreg against pebble are in a2md_pebble_test.cpp.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "core/certgen.hpp"
#include "core/key_spec.hpp"
#include "core/md.hpp"
#include "core/pkey.hpp"
#include "store/fs_store.hpp"
#include "tests/test_util.hpp"
#include "tools/a2md_registry.hpp"

using namespace mda;
using namespace mda::a2md;

namespace {

test::run_result run_a2md(const test::temp_dir& store, std::vector<std::string> args) {
  std::vector<std::string> argv{A2MD_PATH, "-d", store.path(), "-a", "https://acme.example/dir", "-j"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv);
}

/// The JSON object a2md printed (stderr lines, which test::run mixes in, come before it).
nlohmann::json json_of(const test::run_result& r) {
  const auto at = r.output.find("{\n");
  REQUIRE(at != std::string::npos);
  return nlohmann::json::parse(r.output.substr(at));
}

// What mod_md's a2md stores for `-a https://acme.example/dir add Greenbytes.de
// www.greenbytes.de greenbytes.de`.
const char* const k_added_md_json = R"({
  "name": "greenbytes.de",
  "domains": [
    "greenbytes.de",
    "www.greenbytes.de"
  ],
  "contacts": [],
  "transitive": 0,
  "ca": {
    "proto": "ACME",
    "urls": [
      "https://acme.example/dir"
    ]
  },
  "state": 1,
  "state-descr": "certificate(rsa) is missing",
  "renew-mode": -1,
  "renew-window": "33%",
  "warn-window": "10%",
  "must-staple": false,
  "proto": {
    "acme-tls/1": []
  },
  "stapling": false,
  "profile-mandatory": false,
  "ari-renewals": false
})";

fs_store open_store(const test::temp_dir& d) {
  auto st = fs_store::open(d.path());
  REQUIRE(st);
  return std::move(*st);
}

managed_domain added(store& st, const std::vector<std::string>& names) {
  auto md = new_md(names, "https://acme.example/dir");
  REQUIRE(md);
  auto a = add_md(st, *md);
  REQUIRE(a);
  return *a;
}

/// A self-signed certificate for `names` with `key`, valid for 14 days from `from`.
std::string cert_pem(const private_key& key, const std::vector<std::string>& names, sys_time from) {
  auto c = make_fallback_certificate(key, names, from);
  REQUIRE(c);
  auto pem = c->to_pem();
  REQUIRE(pem);
  return *pem;
}

} // namespace

TEST_CASE("a2md registry: add writes md.json as mod_md's a2md does", "[a2md]") {
  test::temp_dir d;
  auto st = open_store(d);
  auto md = new_md({"Greenbytes.de", "www.greenbytes.de", "greenbytes.de"}, "https://acme.example/dir");
  REQUIRE(md);
  auto a = add_md(st, *md);
  REQUIRE(a);
  CHECK(test::read_file(d / "domains/greenbytes.de/md.json") == k_added_md_json);
  CHECK(a->state == md_state::incomplete);
  CHECK(should_renew(st, *a, sys_clock::now()));
}

TEST_CASE("a2md registry: names are checked and never shared between MDs", "[a2md]") {
  test::temp_dir d;
  auto st = open_store(d);
  added(st, {"test-100.com", "test-101.com"});
  for (const char* bad : {"tld", "white sp.ace", "invalid.*.wildcard.com", "k\xc3ller.idn.com", "a..b.com"}) {
    INFO(bad);
    auto md = new_md({"test-200.de", bad}, "");
    REQUIRE(md);
    auto r = add_md(st, *md);
    REQUIRE_FALSE(r);
    CHECK(apr_status(r.error()) == k_apr_einval);
    CHECK(r.error().message == std::string("md test-200.de with invalid domain name: ") + bad);
  }
  CHECK(valid_domain_name("*.wildcard.com"));
  CHECK(valid_domain_name("xn--kller-jua.punycode.de"));
  CHECK(valid_domain_name("trailing.dot.de."));

  auto overlap = add_md(st, *new_md({"greenbytes2.de", "TEST-101.com"}, ""));
  REQUIRE_FALSE(overlap);
  CHECK(overlap.error().message == "md greenbytes2.de shares domain 'test-101.com' with md test-100.com");
  auto again = add_md(st, *new_md({"test-100.com"}, ""));
  REQUIRE_FALSE(again);
  CHECK(apr_status(again.error()) == EEXIST);
  added(st, {"sub.test-100.com"});
  CHECK(list_mds(st).size() == 2);
}

TEST_CASE("a2md registry: update changes one aspect, checked, and keeps the rest", "[a2md]") {
  test::temp_dir d;
  auto st = open_store(d);
  added(st, {"greenbytes2.de", "www.greenbytes2.de"});
  added(st, {"test-100.com"});

  md_update u;
  u.domains = std::vector<std::string>{"foo.de", "FOO.de", "bar.de"};
  auto r = update_md(st, "greenbytes2.de", u);
  REQUIRE(r);
  CHECK(r->name == "greenbytes2.de");
  CHECK(r->domains == std::vector<std::string>{"foo.de", "bar.de"});

  md_update overlap;
  overlap.domains = std::vector<std::string>{"test-100.com"};
  CHECK_FALSE(update_md(st, "greenbytes2.de", overlap));

  md_update contacts;
  contacts.contacts = std::vector<std::string>{"mailto:double@at@test.com"};
  auto bad = update_md(st, "greenbytes2.de", contacts);
  REQUIRE_FALSE(bad);
  CHECK(apr_status(bad.error()) == k_apr_einval);
  CHECK(bad.error().message.find("contact for greenbytes2.de invalid") == 0);

  md_update ca;
  ca.ca_urls = std::vector<std::string>{"http://localhost.com:9999"};
  ca.ca_proto = "FOO";
  ca.ca_account = "test.account.id";
  ca.agreement = "accepted";
  r = update_md(st, "greenbytes2.de", ca);
  REQUIRE(r);
  CHECK(r->ca.urls == std::vector<std::string>{"http://localhost.com:9999"});
  CHECK(r->ca.proto == "FOO");
  CHECK(r->ca.account == "test.account.id");
  CHECK(r->ca.agreement == "accepted");
  CHECK(r->domains == std::vector<std::string>{"foo.de", "bar.de"});

  md_update clear;
  clear.ca_account = "";
  clear.agreement = "";
  r = update_md(st, "greenbytes2.de", clear);
  REQUIRE(r);
  CHECK(r->ca.account.empty());
  CHECK(r->ca.agreement.empty());

  md_update badurl;
  badurl.ca_urls = std::vector<std::string>{"http://bad.port:-1/path"};
  CHECK_FALSE(update_md(st, "greenbytes2.de", badurl));
  auto missing = update_md(st, "nothere.com", clear);
  REQUIRE_FALSE(missing);
  CHECK(apr_status(missing.error()) == k_apr_enoent);
}

TEST_CASE("a2md registry: the state and renew come from domains/'s certificates", "[a2md]") {
  test::temp_dir d;
  auto st = open_store(d);
  auto md = added(st, {"test1.example.org"});
  auto key = private_key::generate(key_spec::default_spec());
  REQUIRE(key);
  REQUIRE(st.save_key(store_group::domains, md.name, "privkey.pem", *key));
  const auto now = sys_clock::now();

  // 14 days, 1 gone: complete, not due (33% = 4.62 days before the end).
  REQUIRE(st.save_text(store_group::domains, md.name, "pubcert.pem",
                       cert_pem(*key, {"test1.example.org"}, now - std::chrono::hours(24))));
  auto m = load_md(st, md.name);
  REQUIRE(m);
  CHECK(m->state == md_state::complete);
  CHECK(m->state_descr.empty());
  CHECK_FALSE(should_renew(st, *m, now));

  // 14 days, 10 gone: complete, due.
  REQUIRE(st.save_text(store_group::domains, md.name, "pubcert.pem",
                       cert_pem(*key, {"test1.example.org"}, now - std::chrono::hours(240))));
  m = load_md(st, md.name);
  REQUIRE(m);
  CHECK(m->state == md_state::complete);
  CHECK(should_renew(st, *m, now));

  // Another name: incomplete.
  REQUIRE(st.save_text(store_group::domains, md.name, "pubcert.pem",
                       cert_pem(*key, {"expired.example.org"}, now - std::chrono::hours(24))));
  m = load_md(st, md.name);
  REQUIRE(m);
  CHECK(m->state == md_state::incomplete);
  CHECK(m->state_descr == "certificate(rsa) does not cover all domains.");

  // A broken file: incomplete ("missing"), never an error of the command.
  REQUIRE(st.save_text(store_group::domains, md.name, "pubcert.pem", "dummy\n"));
  m = load_md(st, md.name);
  REQUIRE(m);
  CHECK(m->state == md_state::incomplete);
  CHECK(m->state_descr == "certificate(rsa) is missing");
}

TEST_CASE("a2md registry: store add / update / remove work on md.json alone", "[a2md]") {
  test::temp_dir d;
  auto st = open_store(d);
  auto md = new_md({"test000-400.com"}, "https://acme.example/dir");
  REQUIRE(md);
  auto a = store_add(st, *md);
  REQUIRE(a);
  CHECK(a->state == md_state::unknown);
  CHECK(a->renew_window.empty());
  auto u = store_update(st, "test000-400.com", std::vector<std::string>{"greenbytes.com"}, "https://foo.com/");
  REQUIRE(u);
  CHECK(u->domains == std::vector<std::string>{"greenbytes.com"});
  CHECK(u->ca.urls == std::vector<std::string>{"https://foo.com/"});
  auto gone = store_remove(st, "nothere.com", false);
  REQUIRE_FALSE(gone);
  CHECK(apr_status(gone.error()) == k_apr_enoent);
  CHECK(store_remove(st, "nothere.com", true));
  CHECK(store_remove(st, "test000-400.com", false));
  CHECK_FALSE(test::path_exists(d / "domains/test000-400.com"));
}

TEST_CASE("a2md: JSON output, statuses and exit codes as mod_md's a2md", "[a2md]") {
  test::temp_dir d;
  auto r = run_a2md(d, {"add", "greenbytes2.de", "www.greenbytes2.de"});
  REQUIRE(r.exit_code == 0);
  auto j = json_of(r);
  CHECK(j["status"] == 0);
  REQUIRE(j["output"].size() == 1);
  CHECK(j["output"][0]["name"] == "greenbytes2.de");
  CHECK(j["output"][0]["renew"] == true);
  CHECK(j["output"][0]["ca"]["urls"] == nlohmann::json::array({"https://acme.example/dir"}));
  CHECK(json_of(run_a2md(d, {"list"})) == j);

  r = run_a2md(d, {"add", "greenbytes2.de"});
  CHECK(r.exit_code == 1);
  CHECK(json_of(r) == nlohmann::json{{"output", nlohmann::json::array()}, {"status", 17}, {"description", "File exists"}});

  r = run_a2md(d, {"update", "greenbytes2.de", "contacts", "test@greenbytes.de"});
  CHECK(r.exit_code == 0);
  CHECK(json_of(r)["output"][0]["contacts"] == nlohmann::json::array({"mailto:test@greenbytes.de"}));
  r = run_a2md(d, {"update", "greenbytes2.de", "domains"});
  CHECK(r.exit_code == 1);
  CHECK(json_of(r)["description"] == "Internal error (specific inform");
  r = run_a2md(d, {"update", "greenbytes2.de", "frobnicate"});
  CHECK(r.exit_code == 1);
  CHECK(json_of(r)["status"] == 70023);

  r = run_a2md(d, {"store", "remove", "test000-302.com"});
  CHECK(r.exit_code == 1);
  CHECK(json_of(r) == nlohmann::json{{"output", nlohmann::json::array()}, {"status", 2},
                                     {"description", "No such file or directory"}});
  CHECK(json_of(run_a2md(d, {"store", "remove", "-f", "test000-302.com"})) ==
        nlohmann::json{{"output", nlohmann::json::array()}, {"status", 0}});

  r = run_a2md(d, {"bogus"});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("unknown cmd: bogus") != std::string::npos);
  CHECK(json_of(r)["status"] == 22);

  r = test::run({A2MD_PATH, "-V"});
  CHECK(r.exit_code == 0);
  CHECK(r.output == "version: 2.6.10\n");
  r = test::run({A2MD_PATH, "--help"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("usage: a2md [options] cmd [cmd options] [args]") != std::string::npos);
  r = test::run({A2MD_PATH, "-d", d.path(), "store"});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("sub command is missing") == 0);
  r = test::run({A2MD_PATH, "-x"});
  CHECK(r.exit_code == 2);
  r = test::run({A2MD_PATH, "list"});
  CHECK(r.exit_code == 1);
  CHECK(r.output == "need store directory for command: list\n");

  // A damaged md.json: named on stderr, the other MDs listed, nothing changed.
  ::mkdir((d / "domains/broken.example.org").c_str(), 0700);
  test::write_file(d / "domains/broken.example.org/md.json", "{\"name\": \"bro");
  r = test::run({A2MD_PATH, "-d", d.path(), "list"});
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("skipped: '" + d.path() + "/domains/broken.example.org/md.json' is not valid JSON") !=
        std::string::npos);
  CHECK(r.output.find("md: greenbytes2.de [greenbytes2.de, www.greenbytes2.de]\n") != std::string::npos);
  CHECK(test::read_file(d / "domains/broken.example.org/md.json") == "{\"name\": \"bro");
  ::unlink((d / "domains/broken.example.org/md.json").c_str());
  ::rmdir((d / "domains/broken.example.org").c_str());

  // Plain output: one line per MD.
  r = test::run({A2MD_PATH, "-d", d.path(), "list"});
  CHECK(r.exit_code == 0);
  CHECK(r.output == "md: greenbytes2.de [greenbytes2.de, www.greenbytes2.de]\n");
}
