// The status snapshot and md-status / certificate-status against golden files.
//
// tests/data/status/: lab*.json are mod_md 2.6.10's own answers (Debian's mod_md.so in a
// private Apache: a.example.test with an unreachable OCSP responder, b.example.test from static
// files, e.example.test with an unreachable CA; lab2 adds c/d.example.test stapled by
// `openssl ocsp`, good and revoked; lab0 has no MD), with the snapshots that describe the same
// state. ref-*.json are the examples of reference §3.1 and §3.2.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/timefmt.hpp"
#include "status/md_status.hpp"
#include "status/snapshot.hpp"
#include "tests/status/status_data.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using mda::test::run;
using mda::test::temp_dir;
using mda::test::golden;
using mda::test::snapshot;

namespace {

const md_snapshot& md_named(const status_snapshot& s, const std::string& name) {
  const md_snapshot* m = find_md_by_name(s, name);
  REQUIRE(m);
  return *m;
}

sys_time at(const char* rfc822) {
  auto t = parse_rfc822(rfc822);
  REQUIRE(t);
  return *t;
}

cert_slot cert_at(const char* name, const char* from, const char* until) {
  cert_info c;
  c.valid_from = at(from);
  c.valid_until = at(until);
  c.sha256_fingerprint = std::string(64, 'a');
  return {name, c};
}

} // namespace

TEST_CASE("snapshot JSON round-trips exactly", "[status][snapshot]") {
  for (const char* name : mda::test::k_recorded_snapshots) {
    INFO(name);
    const status_snapshot s = snapshot(name);
    CHECK(render_json(to_json(s)) == golden(name));
    auto again = snapshot_from_json(to_json(s), "again");
    REQUIRE(again);
    CHECK(*again == s);
  }

  SECTION("engine-only fields and the EAB") {
    status_snapshot s;
    s.published = at("Sun, 29 Nov 2026 03:25:59 GMT");
    md_snapshot m;
    m.md.name = "x.example.test";
    m.md.eab = {"kid-1", "c2VjcmV0"};
    m.renewing = true;
    m.ca_in_use = "https://acme.example/dir";
    m.next_run = at("Sun, 29 Nov 2026 04:00:00 GMT");
    m.error = 20014;
    s.mds.push_back(m);
    s.other_ocsp_renewal = job{};
    const auto text = render_json(to_json(s));
    CHECK(text.find("c2VjcmV0") == std::string::npos); // the hmac never reaches the file
    auto back = parse_snapshot(text, "s.json");
    REQUIRE(back);
    s.mds[0].md.eab.hmac = "***";
    CHECK(*back == s);
  }

  SECTION("credentials in the proxy, the CA URLs and the dns-01 command are not written") {
    status_snapshot s;
    md_snapshot m;
    m.md.name = "x.example.test";
    m.md.proxy_url = "http://proxyuser:pr0xyPass@proxy.example:3128";
    m.md.dns01_cmd = "/usr/local/bin/dns-hook --api-key=k3yK3y zone.example";
    m.md.ca.url = "https://causer:caPass@ca.example/dir";
    m.md.ca.urls = {"https://causer:caPass@ca.example/dir", "https://other.example/dir"};
    m.ca_in_use = "https://causer:caPass@ca.example/dir";
    s.mds.push_back(m);
    const auto text = render_json(to_json(s));
    for (const char* secret : {"pr0xyPass", "proxyuser", "k3yK3y", "zone.example", "caPass", "causer"})
      CHECK(text.find(secret) == std::string::npos);
    auto back = parse_snapshot(text, "s.json");
    REQUIRE(back);
    REQUIRE(back->mds.size() == 1);
    const auto& md = back->mds[0].md;
    CHECK(md.proxy_url == "http://***@proxy.example:3128");
    CHECK(md.dns01_cmd == "/usr/local/bin/dns-hook ***");
    CHECK(md.ca.url == "https://***@ca.example/dir");
    CHECK(md.ca.urls == std::vector<std::string>{"https://***@ca.example/dir", "https://other.example/dir"});
    CHECK(back->mds[0].ca_in_use == "https://***@ca.example/dir");
    // md-status and certificate-status of what was read: nothing to hide any more
    const std::string shown = render_json(md_status_all_json(*back)) + render_json(md_status_json(s, m, true));
    CHECK(shown.find("pr0xyPass") == std::string::npos);
    CHECK(shown.find("k3yK3y") == std::string::npos);
    CHECK(shown.find("\"proxy-url\": \"http://***@proxy.example:3128\"") != std::string::npos);
    CHECK(shown.find("\"cmd-dns-01\": \"/usr/local/bin/dns-hook ***\"") != std::string::npos);
  }
}

TEST_CASE("a snapshot file that is damaged is an error naming it", "[status][snapshot]") {
  temp_dir dir;
  const std::string file = dir / "status.json";
  const std::string text = golden("lab1.snapshot.json");

  SECTION("truncated") {
    mda::test::write_file(file, text.substr(0, 1000));
    auto s = load_snapshot_file(file);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == json_errc::syntax);
    CHECK(s.error().message.rfind(file + ": invalid JSON at byte 1000: ", 0) == 0);
  }
  SECTION("empty") {
    mda::test::write_file(file, "");
    auto s = load_snapshot_file(file);
    REQUIRE_FALSE(s);
    CHECK(s.error().message.rfind(file + ": invalid JSON at byte 0: ", 0) == 0);
  }
  SECTION("not an object") {
    mda::test::write_file(file, "[1, 2]");
    auto s = load_snapshot_file(file);
    REQUIRE_FALSE(s);
    CHECK(s.error().message == file + ": expected a JSON object, found array");
  }
  SECTION("wrong types, at every level") {
    struct bad {
      const char* json;
      std::string message;
    };
    const bad cases[] = {
        {R"({"version": 2})", "\"version\" must be a string, found number"},
        {R"({"mds": {}})", "\"mds\" must be an array, found object"},
        {R"({"mds": [7]})", "\"mds[0]\" must be an object, found number"},
        {R"({"mds": [{"watched": "yes"}]})", "\"mds[0].watched\" must be a boolean, found string"},
        {R"({"mds": [{"md": []}]})", "\"mds[0].md\" must be an object, found array"},
        {R"({"mds": [{"md": {"name": 3}}]})", "\"mds[0].md\": \"name\" must be a string, found number"},
        {R"({"mds": [{"certs": [{"name": "rsa", "serial": 5}]}]})",
         "\"mds[0].certs[0].serial\" must be a string, found number"},
        {R"({"mds": [{"certs": [{"valid": {"from": "yesterday"}}]}]})",
         "\"mds[0].certs[0].valid.from\" is not an RFC 822 date: 'yesterday'"},
        {R"({"mds": [{"renewal": {"errors": "3"}}]})",
         "\"mds[0].renewal\": \"errors\" must be an integer, found string"},
        {R"({"staplings": [{"status": "fine"}]})", "\"staplings[0].status\" is not an OCSP status: 'fine'"},
        {R"({"other-ocsp-renewal": true})", "\"other-ocsp-renewal\" must be an object, found boolean"},
    };
    for (const auto& c : cases) {
      INFO(c.json);
      mda::test::write_file(file, c.json);
      auto s = load_snapshot_file(file);
      REQUIRE_FALSE(s);
      CHECK(s.error().message == file + ": " + c.message);
    }
  }
  SECTION("missing") {
    auto s = load_snapshot_file(dir / "nope.json");
    REQUIRE_FALSE(s);
    CHECK(s.error().message == "cannot read '" + dir / "nope.json" + "': No such file or directory");
  }
}

TEST_CASE("md-status for all MDs is what mod_md 2.6.10 answers", "[status][md-status]") {
  CHECK(render_json(md_status_all_json(snapshot("lab1.snapshot.json"))) == golden("lab1.md-status.json"));
  CHECK(render_json(md_status_all_json(snapshot("lab2.snapshot.json"))) == golden("lab2.md-status.json"));
  SECTION("no MD at all: no \"managed-domains\"") {
    CHECK(render_json(md_status_all_json(status_snapshot{})) == golden("lab0.md-status.json"));
  }
}

namespace {

/// The all-MDs text as the status actor answers it: one fragment per MD in name order, each
/// rendered with only that MD's stapling entries, joined.
std::string joined_from_fragments(const status_snapshot& s) {
  std::vector<const md_snapshot*> sorted;
  for (const auto& m : s.mds) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(),
            [](const md_snapshot* a, const md_snapshot* b) { return a->md.name < b->md.name; });
  std::vector<std::string> texts;
  for (const md_snapshot* m : sorted) {
    status_snapshot own;
    for (const auto& st : s.staplings)
      if (st.domain == m->md.name) own.staplings.push_back(st);
    texts.push_back(md_status_fragment(own, *m));
    CHECK(md_status_fragment(s, *m) == texts.back()); // the whole snapshot gives the same
  }
  return md_status_join(s.version, std::vector<std::string_view>(texts.begin(), texts.end()));
}

} // namespace

TEST_CASE("md-status for all MDs joined from per-MD fragments is the same text", "[status][md-status]") {
  for (const char* name : mda::test::k_recorded_snapshots) {
    INFO(name);
    const status_snapshot s = snapshot(name);
    CHECK(joined_from_fragments(s) == render_json(md_status_all_json(s)));
  }
  CHECK(joined_from_fragments(snapshot("lab1.snapshot.json")) == golden("lab1.md-status.json"));
  CHECK(joined_from_fragments(snapshot("lab2.snapshot.json")) == golden("lab2.md-status.json"));
  CHECK(joined_from_fragments(status_snapshot{}) == golden("lab0.md-status.json"));

  SECTION("staplings, OCSP jobs, staged certificates, errors and odd strings") {
    status_snapshot s = snapshot("lab2.snapshot.json");
    md_snapshot f;
    f.md.name = "f.example.test";
    f.md.domains = {"f.example.test", "www.f.example.test"};
    f.md.state_descr = "line 1\nline 2 \"quoted\" \xff\xfe not UTF-8";
    f.md.stapling = true;
    f.certs = {cert_at("secp256r1", "Sun, 29 Nov 2026 03:00:00 GMT", "Sat, 27 Feb 2027 03:00:00 GMT"),
               {"rsa", std::nullopt}};
    f.renew_at = at("Mon, 28 Dec 2026 03:00:00 GMT");
    f.error = 20014;
    job renewal;
    renewal.name = f.md.name;
    renewal.errors = 3;
    renewal.last_run = at("Sun, 29 Nov 2026 04:00:00 GMT");
    renewal.log_append(at("Sun, 29 Nov 2026 04:00:00 GMT"), "renewal-error", "connection refused", "x");
    f.renewal = renewal;
    f.staged_certs = {cert_at("secp256r1", "Sun, 29 Nov 2026 04:00:00 GMT", "Sat, 27 Feb 2027 04:00:00 GMT")};
    stapling_info st;
    st.domain = f.md.name;
    st.id = "0011";
    st.sha256_fingerprint = std::string(64, 'a');
    st.status = ocsp_cert_status::revoked;
    st.valid_from = at("Sun, 29 Nov 2026 03:30:00 GMT");
    st.valid_until = at("Sun, 06 Dec 2026 03:30:00 GMT");
    st.renewal = renewal;
    s.staplings.push_back(st);
    s.mds.insert(s.mds.begin(), f); // any order: both sort by name
    md_snapshot g = f; // its own OCSP job wins over the staplings'
    g.md.name = "g.example.test";
    g.md.domains = {"g.example.test"};
    g.ocsp_renewal = job{};
    g.ocsp_renewal->name = "g.example.test";
    g.renewal.reset();
    g.error = 0;
    s.mds.push_back(g);
    st.domain = g.md.name;
    s.staplings.push_back(st);
    const std::string full = render_json(md_status_all_json(s));
    CHECK(full.find("\"status\": \"revoked\"") != std::string::npos);
    CHECK(full.find("\"error\": 20014") != std::string::npos);
    CHECK(joined_from_fragments(s) == full);
  }
}

TEST_CASE("md-status for one MD carries the job logs", "[status][md-status]") {
  const auto lab1 = snapshot("lab1.snapshot.json");
  const auto lab2 = snapshot("lab2.snapshot.json");
  const auto ref = snapshot("ref-staged.snapshot.json");
  // OCSP responder unreachable: status unknown and the OCSP job with its log.
  CHECK(render_json(md_status_json(lab1, md_named(lab1, "a.example.test"), true)) ==
        golden("lab1.md-a.example.test.json"));
  // The CA unreachable (reference §3.1 error example): the renewal job with errors, cert {}.
  CHECK(render_json(md_status_json(lab1, md_named(lab1, "e.example.test"), true)) ==
        golden("lab1.md-e.example.test.json"));
  // Stapled: good and revoked responses with their validity.
  CHECK(render_json(md_status_json(lab2, md_named(lab2, "c.example.test"), true)) ==
        golden("lab2.md-c.example.test.json"));
  CHECK(render_json(md_status_json(lab2, md_named(lab2, "d.example.test"), true)) ==
        golden("lab2.md-d.example.test.json"));
  // Reference §3.1: renewed and staged, before the restart.
  CHECK(render_json(md_status_json(ref, md_named(ref, "b.example.test"), true)) ==
        golden("ref-staged.md-b.example.test.json"));
}

TEST_CASE("md-status picks the MD by the last path segment", "[status][md-status]") {
  const auto s = snapshot("lab1.snapshot.json");
  const md_snapshot* a = find_md_by_name(s, "a.example.test");
  CHECK(find_md_for_path(s, "/a.example.test") == a);
  CHECK(find_md_for_path(s, "/www.a.example.test") == a);       // by domain
  CHECK(find_md_for_path(s, "/WWW.A.Example.Test") == a);       // domains ignore case
  CHECK(find_md_for_path(s, "/A.example.test") == a);           // the name does not, the domain does
  CHECK(find_md_for_path(s, "/md/status/e.example.test") == find_md_by_name(s, "e.example.test"));
  CHECK(find_md_for_path(s, "/x.example.test") == nullptr);
  CHECK(find_md_for_path(s, "") == nullptr);
  CHECK(find_md_for_path(s, "/") == nullptr);
  CHECK(find_md_for_path(s, "/a.example.test/") == nullptr);
  CHECK(find_md_for_path(s, "a.example.test") == nullptr);
  CHECK(md_status_text(s, "/a.example.test") == golden("lab1.md-a.example.test.json"));
  CHECK(md_status_text(s, "/nothing") == golden("lab1.md-status.json"));
}

TEST_CASE("md-status finds a wildcard MD by a name it covers", "[status][md-status]") {
  // mod_md's suite, 720_007: md-status/www.<d> for an MD of "*.<d>" (md_contains)
  status_snapshot s;
  md_snapshot w;
  w.md.name = "*.example.test";
  w.md.domains = {"*.example.test"};
  s.mds.push_back(w);
  const md_snapshot* m = &s.mds[0];
  CHECK(find_md_for_path(s, "/www.example.test") == m);
  CHECK(find_md_for_path(s, "/WWW.Example.TEST") == m);
  CHECK(find_md_for_path(s, "/*.example.test") == m);
  CHECK(find_md_for_path(s, "/example.test") == nullptr);
  CHECK(find_md_for_path(s, "/a.b.example.test") == nullptr);
  CHECK(find_md_for_path(s, "/wwwexample.test") == nullptr);
}

TEST_CASE("certificate-status is what mod_md 2.6.10 answers", "[status][certificate-status]") {
  const auto lab1 = snapshot("lab1.snapshot.json");
  const auto lab2 = snapshot("lab2.snapshot.json");
  const auto staged = snapshot("ref-staged.snapshot.json");
  const auto activated = snapshot("ref-activated.snapshot.json");
  auto cs = [](const status_snapshot& s, const char* host) {
    const md_snapshot* m = find_md_by_domain(s, host);
    REQUIRE(m);
    return render_json(certificate_status_json(s, *m));
  };
  CHECK(cs(lab1, "a.example.test") == golden("lab1.cs-a.example.test.json"));
  CHECK(cs(lab1, "www.a.example.test") == golden("lab1.cs-a.example.test.json"));
  CHECK(cs(lab1, "b.example.test") == golden("lab1.cs-b.example.test.json")); // static: "rsa": {}
  CHECK(cs(lab1, "e.example.test") == golden("lab1.cs-e.example.test.json")); // renewing: cert {}
  CHECK(cs(lab2, "c.example.test") == golden("lab2.cs-c.example.test.json"));
  CHECK(cs(lab2, "d.example.test") == golden("lab2.cs-d.example.test.json"));
  CHECK(cs(staged, "b.example.test") == golden("ref-staged.cs-b.example.test.json"));       // §3.2 first
  CHECK(cs(activated, "a.example.test") == golden("ref-activated.cs-a.example.test.json")); // §3.2 second
}

TEST_CASE("the validity intersection follows mod_md, places included", "[status][md-status]") {
  const char* from1 = "Sun, 29 Nov 2026 03:00:00 GMT";
  const char* until1 = "Sat, 27 Feb 2027 03:00:00 GMT";
  const char* from2 = "Mon, 30 Nov 2026 03:00:00 GMT";
  const char* until2 = "Fri, 26 Feb 2027 03:00:00 GMT";
  auto both = certs_valid({cert_at("rsa", from1, until1), cert_at("p-256", from2, until2)});
  REQUIRE(both);
  CHECK(format_rfc822(both->start) == from2);
  CHECK(format_rfc822(both->end) == until2);
  auto second_missing = certs_valid({cert_at("rsa", from1, until1), {"p-256", std::nullopt}});
  REQUIRE(second_missing);
  CHECK(format_rfc822(second_missing->end) == until1);
  CHECK_FALSE(certs_valid({{"rsa", std::nullopt}, cert_at("p-256", from2, until2)})); // mod_md's quirk
  CHECK_FALSE(certs_valid({cert_at("rsa", from1, "Sun, 29 Nov 2026 04:00:00 GMT"),
                           cert_at("p-256", from2, until2)})); // no overlap
  CHECK_FALSE(certs_valid({}));
}

TEST_CASE("certificates are inspected into what md-status shows", "[status][snapshot]") {
  temp_dir dir;
  mda::test::write_file(dir / "x.cnf", "[req]\ndistinguished_name = dn\n[dn]\n[leaf]\n"
                                       "authorityKeyIdentifier = keyid\nsubjectAltName = DNS:x.example\n"
                                       "authorityInfoAccess = caIssuers;URI:http://ca.example/ca.der\n");
  auto ok = [](const mda::test::run_result& r) {
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  };
  ok(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
          dir / "ca.key", "-out", dir / "ca.pem", "-subj", "/CN=Status Test CA", "-days", "3",
          "-addext", "subjectKeyIdentifier=hash"}));
  ok(run({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
          dir / "x.key", "-out", dir / "x.csr", "-subj", "/CN=x.example"}));
  ok(run({"openssl", "x509", "-req", "-in", dir / "x.csr", "-CA", dir / "ca.pem", "-CAkey", dir / "ca.key",
          "-set_serial", "0x0ABCDEF123", "-days", "2", "-extfile", dir / "x.cnf", "-extensions", "leaf", "-out",
          dir / "x.pem"}));
  auto leaf = certificate::from_pem(mda::test::read_file(dir / "x.pem"), "x.pem");
  REQUIRE(leaf);
  const cert_info c = inspect_certificate(*leaf);
  CHECK(c.issuer_name == "/CN=Status Test CA");
  CHECK(c.issuer_uri == "http://ca.example/ca.der");
  CHECK(c.serial == "0ABCDEF123");
  CHECK(c.sha256_fingerprint == leaf->fingerprint_sha256());
  CHECK(c.ari_cert_id == *leaf->ari_cert_id());
  CHECK(c.valid_until - c.valid_from == std::chrono::hours(48));
  const auto j = to_json(c);
  CHECK(j.dump() == "{\"issuer-name\":\"/CN=Status Test CA\",\"issuer-uri\":\"http://ca.example/ca.der\","
                    "\"valid\":{\"from\":\"" + format_rfc822(c.valid_from) + "\",\"until\":\"" +
                        format_rfc822(c.valid_until) + "\"},\"serial\":\"0ABCDEF123\",\"sha256-fingerprint\":\"" +
                        c.sha256_fingerprint + "\",\"ari-cert-id\":\"" + c.ari_cert_id + "\"}");
}
