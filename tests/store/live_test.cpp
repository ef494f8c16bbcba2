// store/live.hpp: the announcement file and the check a staged set passes before it is served.
#include <catch2/catch.hpp>

#include "store/fs_io.hpp"
#include "store/fs_store.hpp"
#include "store/live.hpp"
#include "tests/store/staging_test_util.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;

namespace {

sys_time at(long long unix) { return from_unix(unix); }

fs_store open_store(const temp_dir& tmp) {
  auto st = fs_store::open(tmp.path());
  REQUIRE(st);
  return std::move(*st);
}

struct live_case {
  temp_dir tmp;
  fs_store st{open_store(tmp)};
  managed_domain md = staging_md({key_spec::default_spec(), key_spec::ec("P-256")});
  std::vector<staged_cert> certs = make_staged_certs(md);
  live_expectation want{md.name, md.domains, effective_key_specs(md)};
  sys_time now = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now()) + std::chrono::minutes(1);

  void stage() { REQUIRE(write_staging(st, md, certs, staged_job(md.name), std::nullopt)); }
  staged_set loaded() {
    auto s = load_staging(st, md.name);
    REQUIRE(s);
    REQUIRE(*s);
    return std::move(**s);
  }
};

} // namespace

TEST_CASE("live file: written and read back", "[store][live]") {
  live_table t;
  t.generation = 7;
  t.mds = {{"a.example", at(1795000000), {"aa", "bb"}}, {"b.example", at(1795000100), {"cc"}}};
  const std::string text = render_live_file(t);
  CHECK(text ==
        "{\n  \"version\": 1,\n  \"generation\": 7,\n  \"mds\": [\n    {\n      \"name\": \"a.example\",\n"
        "      \"since\": \"" + format_rfc822(at(1795000000)) + "\",\n      \"certs\": [\n        \"aa\",\n"
        "        \"bb\"\n      ]\n    },\n    {\n      \"name\": \"b.example\",\n      \"since\": \"" +
        format_rfc822(at(1795000100)) + "\",\n      \"certs\": [\n        \"cc\"\n      ]\n    }\n  ]\n}");
  auto back = parse_live_file(text, "live.json");
  REQUIRE(back);
  CHECK(*back == t);
  auto empty = parse_live_file(render_live_file(live_table{}), "live.json");
  REQUIRE(empty);
  CHECK(empty->generation == 0);
  CHECK(empty->mds.empty());
}

TEST_CASE("live file: bad input is named", "[store][live]") {
  auto check = [](const std::string& text, const std::string& message) {
    auto r = parse_live_file(text, "live.json");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == message);
  };
  check("{\"version\": 1, \"mds\": [{\"name\": \"a\", \"certs\": [1]}]}",
        "live.json: \"mds[0].certs\" must be a non-empty array of strings");
  check("{\"version\": 2}", "live.json: \"version\" is 2, newer than this module reads (1)");
  check("{\"mds\": [{\"certs\": [\"aa\"]}]}", "live.json: \"mds[0].name\" must be a non-empty string");
  check("{\"mds\": {}}", "live.json: \"mds\" must be an array");
  check("{\"generation\": -3}", "live.json: \"generation\" must be a number of 0 or more");
  check("[]", "live.json: must be a JSON object");
  auto truncated = parse_live_file("{\"version\": 1, \"mds\": [", "live.json");
  REQUIRE_FALSE(truncated);
  CHECK(truncated.error().message.rfind("live.json: invalid JSON at byte", 0) == 0);
}

TEST_CASE("live set: a good staged set passes and is announced by its fingerprints", "[store][live]") {
  live_case c;
  c.stage();
  auto set = load_live_set(c.st, c.want, {}, c.now);
  REQUIRE(set);
  const auto fps = live_fingerprints(*set);
  REQUIRE(fps.size() == 2);
  CHECK(fps[0] == c.certs[0].chain.front().fingerprint_sha256());
  CHECK(fps[1] == c.certs[1].chain.front().fingerprint_sha256());
  CHECK(load_live_set(c.st, c.want, fps, c.now));
}

TEST_CASE("live set: what is never served", "[store][live]") {
  live_case c;
  SECTION("nothing staged") {
    auto r = load_live_set(c.st, c.want, {}, c.now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "example.org: nothing complete is staged");
  }
  SECTION("a key that does not fit its certificate") {
    c.stage();
    auto set = c.loaded();
    set.certs[1].key = *private_key::generate(key_spec::ec("P-256"));
    auto r = check_live_set(set, c.want, {}, c.now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "example.org: the staged certificate for P-256 does not match its private key");
  }
  SECTION("a truncated certificate file") {
    c.stage();
    auto path = c.st.file_path(store_group::staging, c.md.name, "pubcert.pem");
    REQUIRE(path);
    const std::string pem = read_file(*path);
    write_file(*path, pem.substr(0, pem.size() / 2));
    auto r = load_live_set(c.st, c.want, {}, c.now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("staging/example.org/pubcert.pem") != std::string::npos);
  }
  SECTION("a name the certificate does not cover") {
    c.stage();
    c.want.names.push_back("mail.example.org");
    auto r = load_live_set(c.st, c.want, {}, c.now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "example.org: the staged certificate for rsa does not cover mail.example.org");
  }
  SECTION("a key spec without certificate") {
    c.stage();
    c.want.specs.push_back(key_spec::ec("P-384"));
    auto r = load_live_set(c.st, c.want, {}, c.now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "example.org: the staged certificate for P-384 is missing");
  }
  SECTION("not valid yet, and expired") {
    c.stage();
    const auto nb = c.certs[0].chain.front().not_before();
    auto early = load_live_set(c.st, c.want, {}, nb - std::chrono::hours(1));
    REQUIRE_FALSE(early);
    CHECK(early.error().message ==
          "example.org: the staged certificate for rsa is not valid before " + format_rfc822(nb));
    const auto na = c.certs[0].chain.front().not_after();
    auto late = load_live_set(c.st, c.want, {}, na + std::chrono::hours(1));
    REQUIRE_FALSE(late);
    CHECK(late.error().message == "example.org: the staged certificate for rsa expired at " + format_rfc822(na));
  }
  SECTION("not the announced certificates") {
    c.stage();
    auto r = load_live_set(c.st, c.want, {"00ff"}, c.now);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "example.org: the staged certificate for rsa is not the announced one (sha256 " +
                                   c.certs[0].chain.front().fingerprint_sha256() + ")");
  }
}

TEST_CASE("live set: the staging job says whether a set went live", "[store][live]") {
  live_case c;
  c.stage();
  CHECK_FALSE(staged_set_live(c.st, c.md));
  job j = staged_job(c.md.name);
  j.notified = j.notified_renewed = true;
  j.went_live(at(1795000500));
  REQUIRE(c.st.save_json(store_group::staging, c.md.name, "job.json", to_json(j)));
  CHECK(staged_set_live(c.st, c.md));
}

TEST_CASE("live set: the copy the workers load is the set that was checked", "[store][live]") {
  live_case c;
  c.stage();
  auto set = load_live_set(c.st, c.want, {}, c.now);
  REQUIRE(set);
  const std::string dir = live_store_dir(c.tmp.path());
  CHECK(dir == c.tmp.path() + "/mdactor/live");
  REQUIRE(fsio::make_dirs(dir, 0700));
  fs_store live = fs_store::attach(dir, c.st.secret());
  REQUIRE(save_live_copy(live, *set));
  // staging/ may now be rewritten by the next run: the copy still loads, keys encrypted
  REQUIRE(c.st.purge(store_group::staging, c.md.name));
  auto copy = load_live_set(live, c.want, live_fingerprints(*set), c.now);
  REQUIRE(copy);
  CHECK(live_fingerprints(*copy) == live_fingerprints(*set));
  CHECK(read_file(dir + "/staging/example.org/privkey.pem").find("BEGIN ENCRYPTED PRIVATE KEY") != std::string::npos);
}
