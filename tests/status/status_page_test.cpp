// The md-status page (status/status_page.hpp): HTML chosen by Accept, the exact section of
// an MD, days left and the bar, a hostile MD name and error text escaped everywhere, the job
// timeline inline as md-replay draws it, nothing external. Tag [statuspage].
#include <catch2/catch.hpp>

#include <string>

#include "core/timefmt.hpp"
#include "status/status_page.hpp"
#include "status/timeline.hpp"
#include "status/timeline_svg.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

const sys_time k_now = *parse_rfc822("Sun, 29 Nov 2026 12:00:00 GMT");
const std::string k_evil = "<script>alert('x')</script>&\"";

md_snapshot plain_md() {
  md_snapshot m;
  m.md.name = "a.test";
  m.md.domains = {"a.test", "www.a.test"};
  cert_info c;
  c.issuer_name = "/CN=Test CA";
  c.valid_from = k_now - 10 * 24h;
  c.valid_until = k_now + 80 * 24h + 5h;
  c.serial = "0A1B";
  c.sha256_fingerprint = "aa";
  m.certs = {{"rsa", c}, {"secp256r1", std::nullopt}};
  m.renew_at = k_now + 50 * 24h;
  return m;
}

} // namespace

TEST_CASE("status page: HTML only when Accept asks for it before JSON", "[statuspage]") {
  CHECK(wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
  CHECK(wants_html("TEXT/HTML"));
  CHECK_FALSE(wants_html(""));
  CHECK_FALSE(wants_html("*/*"));
  CHECK_FALSE(wants_html("application/json"));
  CHECK_FALSE(wants_html("application/json, text/html"));
  CHECK(wants_html("text/html, application/json"));
}

TEST_CASE("status page: escaping, days left", "[statuspage]") {
  CHECK(html_escape(k_evil) == "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;&amp;&quot;");
  CHECK(html_escape(std::string("a\x01" "b\tc")) == "a b\tc");
  CHECK(days_left(k_now + 80 * 24h + 5h, k_now) == 80);
  CHECK(days_left(k_now + 24h - 1s, k_now) == 0);
  CHECK(days_left(k_now - 1s, k_now) == -1);
  CHECK(days_left(k_now - 48h, k_now) == -2);
}

TEST_CASE("status page: the section of an MD, exactly", "[statuspage]") {
  status_snapshot s;
  s.mds = {plain_md()};
  const std::string page = md_status_html(s, k_now);
  const std::string section =
    "<section class=\"md\" id=\"md-a.test\"><h2>a.test</h2><p><span class=\"state state-ok\">ok</span> renewal "
    "planned 2027-01-18T12:00:00Z</p><p class=\"note\">Domains: a.test, www.a.test</p><table class=\"certs\"><tr>"
    "<th>key</th><th>valid until</th><th>days left</th><th class=\"wide\">serial / issuer</th><th>OCSP</th></tr>"
    "<tr><td>rsa</td><td>2027-02-17T17:00:00Z</td><td><div class=\"bar\"><span class=\"fill-ok\" "
    "style=\"width:88%\"></span></div><span class=\"days\">80 days left</span></td><td class=\"wide\">0A1B<br>"
    "/CN=Test CA</td><td>off</td></tr></table></section>\n";
  INFO(page);
  CHECK(page.find(section) != std::string::npos);
  CHECK(page.rfind("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                   "content=\"width=device-width, initial-scale=1\"><title>Managed domains</title><style>", 0) == 0);
  CHECK(page.find("<p class=\"note\">1 managed domain, as of 2026-11-29T12:00:00Z</p>") != std::string::npos);
  CHECK(page.substr(page.size() - 15) == "</body></html>\n");
}

TEST_CASE("status page: a hostile name and error text stay text; the timeline is inline SVG", "[statuspage]") {
  status_snapshot s;
  md_snapshot m = plain_md();
  m.md.name = k_evil;
  m.md.domains = {k_evil};
  m.md.stapling = true;
  job jb;
  jb.errors = 2;
  jb.log_starting(k_now - 2h);
  result r;
  r.problem = "urn:ietf:params:acme:error:rejectedIdentifier";
  r.detail = "<img src=x onerror=alert(1)> refused";
  jb.log_renewal_error(k_now - 1h, r);
  jb.last = r;
  jb.next_run = k_now + 1h;
  m.renewal = jb;
  stapling_info st;
  st.domain = k_evil;
  st.sha256_fingerprint = "aa";
  st.status = ocsp_cert_status::good;
  st.valid_until = k_now + 29h;
  st.renew_at = k_now + 19h;
  s.mds = {m, plain_md()};
  s.staplings = {st};
  const std::string page = md_status_html(s, k_now);
  INFO(page);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("<h2>&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;&amp;&quot;</h2>") != std::string::npos);
  CHECK(page.find("id=\"md-&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;&amp;&quot;\"") != std::string::npos);
  CHECK(page.find("<span class=\"state state-error\">error</span>") != std::string::npos);
  CHECK(page.find("<p class=\"error\">Last error (2 failed runs in a row, 2026-11-29T11:00:00Z): &lt;img src=x "
                  "onerror=alert(1)&gt; refused (urn:ietf:params:acme:error:rejectedIdentifier)</p>"
                  "<p class=\"note\">Next try: 2026-11-29T13:00:00Z</p>") != std::string::npos);
  CHECK(page.find("<td>good, valid until 2026-11-30T17:00:00Z, refresh 2026-11-30T07:00:00Z</td>") != std::string::npos);
  // the timeline: md-replay's drawing of the MD's job, as an element (no XML declaration)
  replay::job_source src;
  src.md = k_evil;
  src.kind = "renewal";
  src.origin = "md-status";
  src.job = jb;
  src.next_run_text = format_rfc822(jb.next_run);
  const std::string svg = replay::render_svg_element({replay::build_timeline(src)});
  CHECK(page.find("<figure class=\"timeline\">" + svg + "</figure>") != std::string::npos);
  CHECK(replay::render_svg({replay::build_timeline(src)}) == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg);
  CHECK(page.find("<?xml") == std::string::npos);
  // nothing fetched from elsewhere: the only URL is SVG's namespace name
  std::size_t urls = 0;
  for (auto at = page.find("http"); at != std::string::npos; at = page.find("http", at + 1)) ++urls;
  CHECK(urls == 1);
  CHECK(page.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  // in name order: "<" sorts before "a"
  CHECK(page.find("<h2>&lt;script") < page.find("<h2>a.test</h2>"));
}
