// What an admin watches, in a real Apache with MDs certified by pebble and served live (issue
// 19, items 2 and 3):
// - [metrics]: `SetHandler md-metrics` on /md-metrics with three MDs; the test starts
//   Debian's prometheus (/usr/bin/prometheus) on a free loopback port with a temporary config
//   and storage directory, lets it scrape the Apache every second (it asks for OpenMetrics)
//   and asks its HTTP API (/api/v1/query) for each certificate's not-after: exactly the
//   notAfter of the certificate each name serves. The 0.0.4 text passes `promtool check
//   metrics`; the OpenMetrics answer has its content type and ends with "# EOF".
// - [statuspage]: the md-status page as headless Chromium (/usr/bin/chromium) renders it:
//   a PNG screenshot at a phone's width, and the DOM holding every MD with the days left of
//   its served certificate, and the error text of an MD whose CA refuses (nothing listens).
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/timefmt.hpp"
#include "core/x509.hpp"

#include "tests/support/child_process.hpp"
#include "tests/support/md_site.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;

namespace {

const std::vector<std::string> k_names = {"one.example.test", "three.example.test", "two.example.test"};

/// httpd.conf for the MDs of k_names (each its own vhost on the https port), md-status and
/// md-metrics; `extra` (more MDs and vhosts) at the end.
void configure(md_site& site, const pebble_fixture& p, const std::string& extra = "") {
  const std::string h = std::to_string(site.http), s = std::to_string(site.https);
  const std::string ca_file = site.dir / "pebble-ca.pem";
  write_file(ca_file, read_file(p.ca_file()));
  std::string conf = site.base_conf() + "Listen 127.0.0.1:" + h + "\nListen 127.0.0.1:" + s + " https\n"
                     "LoadModule authz_host_module " + k_apache_modules + "/mod_authz_host.so\n"
                     "LoadModule md_module " MODULE_PATH "\n"
                     "MDCertificateAuthority " + p.directory_url() + "\n"
                     "MDCACertificateFile " + ca_file + "\n"
                     "MDCertificateAgreement accepted\nMDContactEmail admin@example.test\n"
                     "MDPortMap http:" + h + " https:" + s + "\n"
                     "MDStoreDir " + site.dir.path() + "/md\nMDRetryDelay 1s\n"
                     "<Location /md-status>\n  SetHandler md-status\n</Location>\n"
                     "<Location /md-metrics>\n  SetHandler md-metrics\n  Require ip 127.0.0.1\n</Location>\n";
  for (const auto& name : k_names)
    conf += "MDomain " + name + "\n<VirtualHost 127.0.0.1:" + s + ">\n  ServerName " + name +
            "\n  SSLEngine on\n</VirtualHost>\n";
  write_file(site.conf, conf + extra);
  run({"chmod", "0644", ca_file});
}

/// The notAfter (unix seconds) of the certificate served for `name`, once pebble's; "" until then.
std::string served_not_after(const md_site& site, const std::string& name) {
  const std::string pem = run({"sh", "-c", "openssl s_client -connect 127.0.0.1:" + std::to_string(site.https) +
                                " -servername " + name + " </dev/null 2>/dev/null | openssl x509 2>/dev/null"})
                              .output;
  if (pem.find("BEGIN CERTIFICATE") == std::string::npos) return "";
  auto cert = certificate::from_pem(pem, name);
  if (!cert) return "";
  if (cert->issuer_name().find("Pebble") == std::string::npos) return ""; // still the fallback
  return std::to_string(to_unix(cert->not_after()));
}

pebble_options answering(int http, int https) {
  pebble_options po;
  po.http_port = http;
  po.tls_port = https;
  return po;
}

/// A pebble that validates on the site's ports, and the site with the MDs of k_names.
struct observed_site {
  int http = free_port(), https = free_port();
  pebble_fixture pebble{answering(http, https)};
  md_site site{http, https};
};

/// Waits (up to 2 minutes) until every name of k_names serves pebble's certificate: their notAfter.
std::map<std::string, std::string> wait_all_served(const md_site& site) {
  std::map<std::string, std::string> not_after;
  for (int i = 0; i < 1200 && not_after.size() < k_names.size(); ++i) {
    for (const auto& name : k_names)
      if (!not_after.count(name))
        if (auto t = served_not_after(site, name); !t.empty()) not_after[name] = t;
    if (not_after.size() < k_names.size()) ::usleep(100'000);
  }
  return not_after;
}

/// Runs Debian's prometheus scraping 127.0.0.1:<http>/md-metrics every second; stopped by PID.
struct prometheus_server {
  temp_dir dir;
  int port = free_port();
  pid_t pid = -1;

  explicit prometheus_server(int http) {
    write_file(dir / "prometheus.yml", "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                       "scrape_configs:\n  - job_name: mdactor\n    metrics_path: /md-metrics\n"
                                       "    static_configs:\n      - targets: ['127.0.0.1:" +
                                           std::to_string(http) + "']\n");
    pid = spawn_child({"/usr/bin/prometheus", "--config.file=" + (dir / "prometheus.yml"),
                       "--storage.tsdb.path=" + (dir / "data"), "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                      dir / "prometheus.log");
  }
  ~prometheus_server() { stop_child(pid, std::chrono::seconds(5)); }

  /// The result vector of an instant query (null when Prometheus does not answer).
  nlohmann::json query(const std::string& promql) const {
    const run_result r = run({"curl", "-s", "--max-time", "5", "-G", "--data-urlencode", "query=" + promql,
                              "http://127.0.0.1:" + std::to_string(port) + "/api/v1/query"});
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    if (!j.is_object() || j.value("status", "") != "success") return nullptr;
    return j["data"]["result"];
  }
  std::string log() const { return path_exists(dir / "prometheus.log") ? read_file(dir / "prometheus.log") : ""; }
};

} // namespace

TEST_CASE("Prometheus scrapes md-metrics: the not-after of each served certificate", "[metrics][httpd][apache][pebble]") {
  observed_site o;
  md_site& site = o.site;
  const int http = o.http;
  configure(site, o.pebble);
  const bool started = site.start();
  INFO(site.log());
  REQUIRE(started);

  // every name served with pebble's certificate, live (no restart)
  std::map<std::string, std::string> not_after = wait_all_served(site);
  INFO(site.http_get("/md-status"));
  REQUIRE(not_after.size() == k_names.size());

  // the text format, as a scraper without Accept gets it, passes promtool's checks
  const std::string text = site.http_get("/md-metrics");
  INFO(text);
  std::string served_text;
  for (const auto& [name, t] : not_after) served_text += name + " serves notAfter " + t + "\n";
  INFO(served_text);
  for (const auto& name : k_names)
    CHECK(text.find("mdactor_certificate_not_after_timestamp_seconds{md=\"" + name + "\",key=\"rsa\"} " +
                    not_after[name] + "\n") != std::string::npos);
  CHECK(text.find("mdactor_engine_up 1\n") != std::string::npos);
  CHECK(text.find("mdactor_engine_restarts_total 0\n") != std::string::npos);
  CHECK(text.find("mdactor_managed_domains 3\n") != std::string::npos);
  const run_result lint = run({"/usr/bin/promtool", "check", "metrics"}, text);
  INFO(lint.output);
  CHECK(lint.exit_code == 0);

  // OpenMetrics when asked for
  const run_result om = run({"curl", "-s", "--max-time", "10", "-D", site.dir / "om-headers", "-H",
                             "Accept: application/openmetrics-text;version=1.0.0",
                             "http://127.0.0.1:" + std::to_string(http) + "/md-metrics"});
  CHECK(read_file(site.dir / "om-headers").find("Content-Type: application/openmetrics-text; version=1.0.0; "
                                                "charset=utf-8\r\n") != std::string::npos);
  REQUIRE(om.output.size() > 6);
  CHECK(om.output.substr(om.output.size() - 6) == "# EOF\n");

  // a real Prometheus scrapes it and answers the query with those values
  prometheus_server prom(http);
  std::map<std::string, std::string> seen;
  for (int i = 0; i < 600 && seen.size() < k_names.size(); ++i) {
    seen.clear();
    const auto result = prom.query("mdactor_certificate_not_after_timestamp_seconds");
    if (result.is_array())
      for (const auto& r : result) seen[r["metric"].value("md", "")] = r["value"][1].get<std::string>();
    if (seen.size() < k_names.size()) ::usleep(100'000);
  }
  INFO(prom.log());
  CHECK(seen == not_after);
  const auto up = prom.query("mdactor_engine_up");
  REQUIRE(up.is_array());
  REQUIRE(up.size() == 1);
  CHECK(up[0]["value"][1] == "1");
  const auto scrape = prom.query("up{job=\"mdactor\"}");
  REQUIRE(scrape.is_array());
  REQUIRE(scrape.size() == 1);
  CHECK(scrape[0]["value"][1] == "1");
}

namespace {

/// Headless Chromium on `url` with `what` (--screenshot=FILE or --dump-dom): its output.
run_result chromium(const temp_dir& dir, const std::string& what, const std::string& url) {
  return run({"timeout", "90", "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--user-data-dir=" + (dir / "chromium"), "--window-size=412,2400", what, url});
}

/// Text as a DOM serializer writes it in an element: &, < and > escaped, quotes as they are.
std::string dom_text(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
  return out;
}

/// Whole days from now to `unix_seconds`, rounded down (as the page counts them).
long long days_from_now(const std::string& unix_seconds) {
  const long long left = std::stoll(unix_seconds) - to_unix(sys_clock::now());
  return left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
}

} // namespace

TEST_CASE("the md-status page in headless Chromium: every MD, days left, an MD's error", "[statuspage][httpd][apache][pebble]") {
  observed_site o;
  md_site& site = o.site;
  const int http = o.http, https = o.https;
  const std::string refused = "refused.example.test";
  configure(site, o.pebble,
            "<MDomain " + refused + ">\n  MDCertificateAuthority https://127.0.0.1:" + std::to_string(free_port()) +
                "/dir\n</MDomain>\n<VirtualHost 127.0.0.1:" + std::to_string(https) + ">\n  ServerName " + refused +
                "\n  SSLEngine on\n</VirtualHost>\n");
  const bool started = site.start();
  INFO(site.log());
  REQUIRE(started);
  const std::map<std::string, std::string> not_after = wait_all_served(site);
  REQUIRE(not_after.size() == k_names.size());

  // the refused MD's error, as md-status JSON reports it
  std::string detail;
  for (int i = 0; i < 600 && detail.empty(); ++i) {
    const auto j = nlohmann::json::parse(site.http_get("/md-status/" + refused), nullptr, false);
    if (j.is_object() && j.contains("renewal") && j["renewal"].value("errors", 0) > 0 && j["renewal"].contains("last"))
      detail = j["renewal"]["last"].value("detail", "");
    if (detail.empty()) ::usleep(100'000);
  }
  INFO(site.http_get("/md-status/" + refused));
  REQUIRE(!detail.empty());

  // JSON stays the answer without Accept: text/html
  CHECK(site.http_get("/md-status").rfind("{\n  \"version\": ", 0) == 0);

  const std::string url = "http://127.0.0.1:" + std::to_string(http) + "/md-status";
  temp_dir tmp;
  const run_result shot = chromium(tmp, "--screenshot=" + (tmp / "page.png"), url);
  INFO(shot.output);
  REQUIRE(path_exists(tmp / "page.png"));
  const std::string png = read_file(tmp / "page.png");
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  CHECK(png.size() > 10000);

  const run_result dom = chromium(tmp, "--dump-dom", url);
  INFO(dom.output);
  CHECK(dom.exit_code == 0);
  for (const auto& name : k_names) {
    CHECK(dom.output.find("<h2>" + name + "</h2>") != std::string::npos);
    const std::string section = dom.output.substr(dom.output.find("<h2>" + name + "</h2>"));
    const std::string days = "<span class=\"days\">" + std::to_string(days_from_now(not_after.at(name))) + " days left</span>";
    CHECK(section.substr(0, section.find("</section>")).find(days) != std::string::npos);
  }
  CHECK(dom.output.find("<h2>" + refused + "</h2>") != std::string::npos);
  INFO(detail);
  CHECK(dom.output.find(dom_text(detail)) != std::string::npos);
  CHECK(dom.output.find("<svg") != std::string::npos);
}
