// The server-status contribution against golden files: mod_md 2.6.10's own `?auto` and HTML
// output from the lab runs (see md_status_test.cpp) and the example of reference §3.3.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "core/timefmt.hpp"
#include "status/md_status.hpp"
#include "status/server_status.hpp"
#include "status/snapshot.hpp"
#include "tests/status/status_data.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;
using mda::test::golden;
using mda::test::snapshot;

namespace {

/// A request time: the lab's requests came some fraction into the second of their Date header.
sys_time at(const char* rfc822, std::chrono::milliseconds plus = 0ms) {
  auto t = parse_rfc822(rfc822);
  REQUIRE(t);
  return *t + plus;
}

const auto k_lab1_now = [] { return at("Sun, 29 Nov 2026 03:25:59 GMT", 500ms); };
const auto k_lab2_now = [] { return at("Sun, 29 Nov 2026 03:28:20 GMT", 500ms); };

/// A complete MD with one certificate valid [from, until], renewal planned at renew_at.
md_snapshot simple_md(const std::string& name, sys_time from, sys_time until, sys_time renew_at) {
  md_snapshot m;
  m.md.name = name;
  m.md.domains = {name};
  m.md.ca.proto = "ACME";
  m.md.ca.urls = {"https://acme.example/dir?a=1&b=2", "https://backup.example/dir"};
  m.md.state = md_state::complete;
  cert_info c;
  c.valid_from = from;
  c.valid_until = until;
  c.sha256_fingerprint = std::string(64, 'f');
  m.certs = {{"rsa", c}};
  m.renew_at = renew_at;
  m.watched = true;
  return m;
}

} // namespace

TEST_CASE("server-status ?auto is what mod_md 2.6.10 prints", "[status][server-status]") {
  CHECK(server_status(snapshot("lab1.snapshot.json"), k_lab1_now(), status_form::short_text) ==
        golden("lab1.server-status-auto.txt"));
  CHECK(server_status(snapshot("lab2.snapshot.json"), k_lab2_now(), status_form::short_text) ==
        golden("lab2.server-status-auto.txt"));
  SECTION("no MD, no stapling: the totals only") {
    CHECK(server_status(status_snapshot{}, k_lab1_now(), status_form::short_text) ==
          golden("lab0.server-status-auto.txt"));
  }
}

TEST_CASE("server-status HTML is what mod_md 2.6.10 prints", "[status][server-status]") {
  CHECK(server_status(snapshot("lab1.snapshot.json"), k_lab1_now(), status_form::html) ==
        golden("lab1.server-status.html"));
  CHECK(server_status(snapshot("lab2.snapshot.json"), k_lab2_now(), status_form::html) ==
        golden("lab2.server-status.html"));
  SECTION("no MD, no stapling: nothing") {
    CHECK(server_status(status_snapshot{}, k_lab1_now(), status_form::html).empty());
  }
}

TEST_CASE("server-status ?auto reproduces the example of reference 3.3", "[status][server-status]") {
  const auto s = snapshot("ref-activated.snapshot.json");
  const auto text = server_status(s, at("Sat, 28 Nov 2026 15:37:01 GMT", 500ms), status_form::short_text);
  CHECK(text == golden("ref-activated.server-status-auto.txt"));
  const char* example =
      "ManagedDomain[0]Domain: a.example.test\n"
      "ManagedDomain[0]Names[0]: a.example.test\n"
      "ManagedDomain[0]Names[1]: www.a.example.test\n"
      "ManagedDomain[0]Status: good\n"
      "ManagedDomain[0]ValidUntil: 2031-11-28\n"
      "ManagedDomain[0]CAName: 127.0.0.1\n"
      "ManagedDomain[0]CAURL: https://127.0.0.1:14100/dir\n"
      "ManagedDomain[0]Stapling: on\n"
      "ManagedDomain[0]CheckAtType: rsa\n"
      "ManagedDomain[0]CheckAtName: crt.sh\n"
      "ManagedDomain[0]CheckAtURL: https://crt.sh?q=72b003c1a87a6675df89243e80bc70c1c49ebbcd1fb9cc85bede9bcafd3cc955\n"
      "ManagedDomain[0]CheckAtFingerprint: 72b003c1a87a6675df89243e80bc70c1c49ebbcd1fb9cc85bede9bcafd3cc955\n"
      "ManagedDomain[0]ActivityRenew: 105703461\n";
  CHECK(text.find(example) != std::string::npos);
}

TEST_CASE("server-status shows every activity form", "[status][server-status]") {
  const sys_time now = at("Sun, 29 Nov 2026 12:00:00 GMT");
  status_snapshot s;
  s.cert_check_name = "crt.sh";
  s.cert_check_url = "https://crt.sh?q=";
  auto m = simple_md("x.example.test", now + 24h, now + 90 * 24h, now + 50h);

  SECTION("renewal in under 4 days, a certificate not valid yet, several CA URLs") {
    s.mds.push_back(m);
    CHECK(managed_certificates_status(s, now, status_form::short_text) ==
          "ManagedCertificatesTotal: 1\nManagedCertificatesOK: 1\nManagedCertificatesRenew: 0\n"
          "ManagedCertificatesErrored: 0\nManagedCertificatesReady: 0\n"
          "ManagedDomain[0]Domain: x.example.test\nManagedDomain[0]Names[0]: x.example.test\n"
          "ManagedDomain[0]Status: good\nManagedDomain[0]ValidFrom: 2026-11-30\n"
          "ManagedDomain[0]ValidUntil: 2027-02-27\n"
          "ManagedDomain[0]CAName: acme.example\nManagedDomain[0]CAURL: https://acme.example/dir?a=1&b=2\n"
          "ManagedDomain[0]CAName1: backup.example\nManagedDomain[0]CAURL1: https://backup.example/dir\n"
          "ManagedDomain[0]CheckAtType: rsa\nManagedDomain[0]CheckAtName: crt.sh\n"
          "ManagedDomain[0]CheckAtURL: https://crt.sh?q=" + std::string(64, 'f') + "\n"
          "ManagedDomain[0]CheckAtFingerprint: " + std::string(64, 'f') + "\n"
          "ManagedDomain[0]ActivityRenew: 180000\n");
    const auto html = managed_certificates_status(s, now, status_form::html);
    CHECK(html.find("<td>from <span title='Mon, 30 Nov 2026 12:00:00 GMT' style='white-space: nowrap;'>"
                    "2026-11-30</span> until <span title='Mon, 30 Nov 2026 12:00:00 GMT - Sat, 27 Feb 2027 "
                    "12:00:00 GMT' style='white-space: nowrap;'>2027-02-27</span></td>") != std::string::npos);
    CHECK(html.find("<td><a href='https://acme.example/dir?a=1&amp;b=2'>acme.example</a> "
                    "<a href='https://backup.example/dir'>backup.example</a></td>") != std::string::npos);
    CHECK(html.find("<td>Renew <span title='Tue, 01 Dec 2026 14:00:00 GMT'>in ~2 days</span></td>") !=
          std::string::npos);
  }
  SECTION("renew-at passed: Pending; none and manual: Manual renew") {
    m.renew_at = now - 1h;
    s.mds.push_back(m);
    m.md.name = "y.example.test";
    m.renew_at = {};
    m.md.renew_mode = md_renew_mode::manual;
    s.mds.push_back(m);
    const auto text = managed_certificates_status(s, now, status_form::short_text);
    CHECK(text.find("ManagedDomain[0]Activity: Pending\n") != std::string::npos);
    CHECK(text.find("ManagedDomain[1]Activity: Manual renew\n") != std::string::npos);
    const auto html = managed_certificates_status(s, now, status_form::html);
    CHECK(html.find("<td>Pending</td></tr><tr class=\"odd\">") != std::string::npos);
    CHECK(html.find("<td>Manual renew</td></tr></td></tr>\n</tbody>\n</table>\n") != std::string::npos);
  }
  SECTION("a finished renewal is ready; its staged certificates are counted") {
    m.renew = true;
    job jb;
    jb.finished = true;
    jb.next_run = now + 1h;
    jb.last = result{};
    m.renewal = jb;
    m.staged_certs = m.certs;
    s.mds.push_back(m);
    CHECK(managed_certificates_status(s, now, status_form::short_text)
              .find("ManagedCertificatesRenew: 1\nManagedCertificatesErrored: 0\nManagedCertificatesReady: 1\n") !=
          std::string::npos);
    CHECK(managed_certificates_status(s, now, status_form::short_text)
              .find("ManagedDomain[0]ActivityFinished: yes\nManagedDomain[0]ActivityNewStaged: 1\n") !=
          std::string::npos);
    CHECK(managed_certificates_status(s, now, status_form::html)
              .find("<td>  finished, 1 new certificate staged.\nOngoing...</td>") != std::string::npos);
  }
  SECTION("an expired certificate, an MD in error") {
    m.certs[0].cert->valid_until = now - 1s;
    s.mds.push_back(m);
    m.md.name = "z.example.test";
    m.md.state = md_state::error;
    s.mds.push_back(m);
    const auto text = managed_certificates_status(s, now, status_form::short_text);
    CHECK(text.find("ManagedCertificatesOK: 1\nManagedCertificatesRenew: 0\nManagedCertificatesErrored: 1\n") !=
          std::string::npos);
    CHECK(text.find("ManagedDomain[0]Status: expired\n") != std::string::npos);
    CHECK(text.find("ManagedDomain[1]Status: error\n") != std::string::npos);
  }
}

TEST_CASE("server-status staplings: certificates of no MD, answers overdue", "[status][server-status]") {
  const sys_time now = at("Sun, 29 Nov 2026 12:00:00 GMT");
  status_snapshot s;
  stapling_info st;
  st.domain = "other";
  st.id = std::string(40, '1');
  st.responder_url = "http://ocsp.example/";
  st.status = ocsp_cert_status::good;
  st.valid_from = now - 30h;
  st.valid_until = now + 18h;
  st.renew_at = now - 2h; // refresh overdue: the job shows
  s.staplings.push_back(st);
  job jb;
  jb.next_run = now + 90s;
  jb.last = result{};
  jb.last->status = 110;
  jb.last->detail = "OCSP status update failed (1. time)";
  s.other_ocsp_renewal = jb;
  CHECK(managed_staplings_status(s, now, status_form::short_text) ==
        "ManagedStaplingsTotal: 1\nManagedStaplingsOK: 1\nManagedStaplingsRenew: 0\nManagedStaplingsErrored: 0\n"
        "ManagedStapling[0]Domain: other\nManagedStapling[0]CertificateID: " + std::string(40, '1') + "\n"
        "ManagedStapling[0]OCSPStatus: good\nManagedStapling[0]StaplingValidUntil: 2026-11-30\n"
        "ManagedStapling[0]ResponderName: ocsp.example\nManagedStapling[0]ResponderURL: http://ocsp.example/\n"
        "ManagedStapling[0]ActivityRefresh: -7200\n"
        "ManagedStapling[0]ActivityLastStatus: Connection timed out\nManagedStapling[0]ActivityLastProblem: (null)\n"
        "ManagedStapling[0]ActivityFinished: no\n"
        "ManagedStapling[0]ActivityLastDetail: OCSP status update failed (1. time)\n"
        "ManagedStapling[0]ActivityNextRun: 90\n");
  CHECK(managed_staplings_status(s, now, status_form::html)
            .find("<td>Refresh <span title='Sun, 29 Nov 2026 10:00:00 GMT'>~2 hours ago</span>:  Error[Connection "
                  "timed out]:  OCSP status update failed (1. time)\nNext run <span title='Sun, 29 Nov 2026 "
                  "12:01:30 GMT'>in ~1 minutes</span></td>") != std::string::npos);
}
