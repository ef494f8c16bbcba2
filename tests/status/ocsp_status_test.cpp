// The OCSP parts of the status snapshot and its renderers: the owner's OCSP job carried by
// each stapling entry ("renewal", as md_ocsp_get_status_all), which job md-status and
// server-status show (ocsp_job_of), and cert.<place>.ocsp of md-status. Tag [status][ocsp-status].
#include <catch2/catch.hpp>

#include <string>

#include "core/timefmt.hpp"
#include "status/md_status.hpp"
#include "status/server_status.hpp"
#include "status/snapshot.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

const sys_time k_now = *parse_rfc822("Sun, 29 Nov 2026 12:00:00 GMT");

/// ocsp_job("a.test", k_now - 1h) as the last member of an object, rendered.
const char k_renewal_json[] = R"(  "renewal": {
    "name": "a.test",
    "finished": false,
    "notified": false,
    "notified-renewed": false,
    "next-run": "Mon, 30 Nov 2026 07:00:00 GMT",
    "last-run": "Sun, 29 Nov 2026 11:00:00 GMT",
    "errors": 0,
    "log": {
      "entries": [
        {
          "when": "Sun, 29 Nov 2026 11:00:00 GMT",
          "type": "message-ocsp-renewed"
        }
      ]
    }
  }
})";

job ocsp_job(const std::string& owner, sys_time last_run) {
  job j;
  j.name = owner;
  j.last_run = last_run;
  j.next_run = last_run + 20h;
  j.log_message(last_run, "ocsp-renewed");
  return j;
}

stapling_info stapling(const std::string& owner, char id, std::optional<job> renewal) {
  stapling_info s;
  s.domain = owner;
  s.id = std::string(40, id);
  s.sha256_fingerprint = std::string(64, id);
  s.responder_url = "http://ocsp.example/";
  s.status = ocsp_cert_status::revoked;
  s.valid_from = k_now - 1h;
  s.valid_until = k_now + 29h;
  s.renew_at = k_now + 19h;
  s.renewal = std::move(renewal);
  return s;
}

} // namespace

TEST_CASE("snapshot: a stapling entry carries its owner's OCSP job", "[status][ocsp-status]") {
  status_snapshot s;
  s.published = k_now;
  s.staplings.push_back(stapling("a.test", 'a', ocsp_job("a.test", k_now - 1h)));
  s.staplings.push_back(stapling("other", 'b', std::nullopt));
  const auto j = to_json(s);
  CHECK(render_json(j["staplings"][0]) ==
        R"({
  "domain": "a.test",
  "id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "sha256-fingerprint": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "url": "http://ocsp.example/",
  "status": "revoked",
  "valid": {
    "from": "Sun, 29 Nov 2026 11:00:00 GMT",
    "until": "Mon, 30 Nov 2026 17:00:00 GMT"
  },
  "renew-at": "Mon, 30 Nov 2026 07:00:00 GMT",
)" + std::string(k_renewal_json));
  CHECK_FALSE(j["staplings"][1].contains("renewal"));
  auto back = snapshot_from_json(j, "s.json");
  REQUIRE(back);
  CHECK(*back == s);
  CHECK(render_json(to_json(*back)) == render_json(j));

  auto bad = parse_snapshot(R"({"staplings": [{"status": "good", "renewal": true}]})", "s.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "s.json: \"staplings[0].renewal\" must be an object, found boolean");
}

TEST_CASE("snapshot: which OCSP job belongs to an owner", "[status][ocsp-status]") {
  status_snapshot s;
  md_snapshot m;
  m.md.name = "a.test";
  s.mds.push_back(m);
  s.staplings.push_back(stapling("a.test", '1', ocsp_job("a.test", k_now - 2h)));
  s.staplings.push_back(stapling("a.test", '2', ocsp_job("a.test", k_now - 1h)));
  s.staplings.push_back(stapling("a.test", '3', std::nullopt));
  s.staplings.push_back(stapling("other", '4', ocsp_job("other", k_now - 3h)));

  SECTION("the newest job of the owner's entries") {
    REQUIRE(ocsp_job_of(s, "a.test") != nullptr);
    CHECK(ocsp_job_of(s, "a.test")->last_run == k_now - 1h);
    REQUIRE(ocsp_job_of(s, "other") != nullptr);
    CHECK(ocsp_job_of(s, "other")->last_run == k_now - 3h);
    CHECK(ocsp_job_of(s, "b.test") == nullptr);
  }
  SECTION("the MD's own ocsp_renewal and other_ocsp_renewal come first") {
    s.mds[0].ocsp_renewal = ocsp_job("a.test", k_now - 5h);
    s.other_ocsp_renewal = ocsp_job("other", k_now - 6h);
    CHECK(ocsp_job_of(s, "a.test")->last_run == k_now - 5h);
    CHECK(ocsp_job_of(s, "other")->last_run == k_now - 6h);
  }
}

TEST_CASE("md-status: cert.<place>.ocsp of a stapling MD", "[status][ocsp-status]") {
  status_snapshot s;
  md_snapshot m;
  m.md.name = "a.test";
  m.md.domains = {"a.test"};
  m.md.stapling = true;
  cert_info c;
  c.valid_from = k_now - 24h;
  c.valid_until = k_now + 24h * 30;
  c.serial = "1A";
  c.sha256_fingerprint = std::string(64, 'a');
  m.certs.push_back({"rsa", c});
  s.mds.push_back(m);
  s.staplings.push_back(stapling("a.test", 'a', ocsp_job("a.test", k_now - 1h)));
  s.staplings.push_back(stapling("other", 'a', std::nullopt)); // same certificate elsewhere

  const auto with_logs = md_status_json(s, s.mds[0], true);
  CHECK(render_json(with_logs["cert"]["rsa"]["ocsp"]) ==
        R"({
  "status": "revoked",
  "valid": {
    "from": "Sun, 29 Nov 2026 11:00:00 GMT",
    "until": "Mon, 30 Nov 2026 17:00:00 GMT"
  },
)" + std::string(k_renewal_json));
  const auto listed = md_status_json(s, s.mds[0], false);
  CHECK_FALSE(listed["cert"]["rsa"]["ocsp"]["renewal"].contains("log"));

  s.mds[0].md.stapling = false;
  CHECK_FALSE(md_status_json(s, s.mds[0], true)["cert"]["rsa"].contains("ocsp"));
}

TEST_CASE("server-status: the job of an overdue stapling comes from its entry",
          "[status][ocsp-status]") {
  status_snapshot s;
  auto jb = ocsp_job("other", k_now - 2h);
  jb.next_run = k_now + 90s;
  jb.last = result{};
  jb.last->status = 110;
  jb.last->detail = "OCSP status update failed (1. time)";
  auto st = stapling("other", '1', jb);
  st.status = ocsp_cert_status::good;
  st.renew_at = k_now - 2h;
  s.staplings.push_back(st);
  const auto text = managed_staplings_status(s, k_now, status_form::short_text);
  CHECK(text.find("ManagedStapling[0]ActivityRefresh: -7200\n"
                  "ManagedStapling[0]ActivityLastStatus: Connection timed out\n"
                  "ManagedStapling[0]ActivityLastProblem: (null)\n"
                  "ManagedStapling[0]ActivityFinished: no\n"
                  "ManagedStapling[0]ActivityLastDetail: OCSP status update failed (1. time)\n"
                  "ManagedStapling[0]ActivityNextRun: 90\n") != std::string::npos);
}
