// Benchmark: what md-metrics and the md-status page cost with N MDs (docs/BENCHMARKS.md,
// "Metrics and the status page"). Pure rendering, no Apache, no engine:
//   fragments  each MD's metric samples rendered once (what the status actor does per change);
//   join       one scrape: the fragments joined family by family (OpenMetrics), averaged over 10;
//   page       the whole HTML page of md-status for a browser, with each MD's job timeline.
// Each MD has an RSA and an EC certificate and a finished renewal job (start and finish logged).
// Usage: status-bench [N]   (N defaults to 10000)
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "status/metrics.hpp"
#include "status/status_page.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

status_snapshot make_snapshot(int n, sys_time now) {
  status_snapshot s;
  for (int i = 0; i < n; ++i) {
    md_snapshot m;
    m.md.name = "site" + std::to_string(i) + ".example.org";
    m.md.domains = {m.md.name, "www." + m.md.name};
    cert_info c;
    c.issuer_name = "/CN=Pebble Intermediate CA 4a2b";
    c.valid_from = now - 5 * 24h;
    c.valid_until = c.valid_from + 90 * 24h;
    c.serial = "04F3A9B2C1D0E5F6A7B8C9D0E1F2A3B4C5D6";
    c.sha256_fingerprint = std::string(64, 'a');
    m.certs = {{"rsa", c}, {"secp256r1", c}};
    m.served_from = served_source::domains;
    m.renew_at = c.valid_from + 60 * 24h;
    job j;
    j.log_starting(now - 3h);
    j.log_finished(now - 170min);
    j.finished = true;
    m.renewal = j;
    s.mds.push_back(std::move(m));
  }
  return s;
}

double ms(std::chrono::steady_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

} // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::stoi(argv[1]) : 10000;
  const sys_time now = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  const status_snapshot s = make_snapshot(n, now);
  const status_snapshot no_staplings;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<metrics_fragment> frags;
  frags.reserve(s.mds.size());
  for (const auto& m : s.mds) frags.push_back(md_metrics_fragment(no_staplings, m));
  auto t1 = std::chrono::steady_clock::now();
  std::vector<const metrics_fragment*> ptrs;
  for (const auto& f : frags) ptrs.push_back(&f);
  engine_figures e;
  e.up = true;
  std::string text;
  for (int k = 0; k < 10; ++k) text = metrics_join(ptrs, e, metrics_format::openmetrics);
  auto t2 = std::chrono::steady_clock::now();
  const std::string page = md_status_html(s, now);
  auto t3 = std::chrono::steady_clock::now();
  std::cout << n << " MDs: fragments " << ms(t1 - t0) << " ms; one scrape's join " << ms(t2 - t1) / 10 << " ms, "
            << text.size() << " bytes; status page " << ms(t3 - t2) << " ms, " << page.size() << " bytes\n";
}
