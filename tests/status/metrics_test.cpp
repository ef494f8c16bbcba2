// The Prometheus / OpenMetrics renderer (status/metrics.hpp): the exact text for a snapshot
// with a failing MD that staples and a renewing MD with a hostile name, in both formats;
// the format chosen from Accept; joining cached fragments gives the text rendered whole.
// Tag [metrics].
#include <catch2/catch.hpp>

#include <string>

#include "core/timefmt.hpp"
#include "status/metrics.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

const sys_time k_now = *parse_rfc822("Sun, 29 Nov 2026 12:00:00 GMT"); // 1795953600
const char k_hostile[] = "evil\"\n\\name</td>";

status_snapshot sample_snapshot() {
  status_snapshot s;
  md_snapshot a;
  a.md.name = "a.test";
  a.md.stapling = true;
  cert_info c;
  c.issuer_name = "/CN=Test CA";
  c.valid_from = k_now - 240h;
  c.valid_until = k_now + 1920h;
  c.serial = "0A1B";
  c.sha256_fingerprint = std::string(64, 'a');
  a.certs = {{"rsa", c}, {"secp256r1", std::nullopt}};
  a.served_from = served_source::domains;
  a.renew_at = k_now + 1200h;
  job failing;
  failing.name = "a.test";
  failing.errors = 2;
  failing.log_starting(k_now - 2h);
  failing.log_renewal_error(k_now - 1h, result{});
  a.renewal = failing;

  md_snapshot b;
  b.md.name = k_hostile;
  b.renewing = true;
  job done;
  done.log_starting(k_now - 300s);
  done.log_finished(k_now - 60s);
  done.finished = true;
  b.renewal = done;
  s.mds = {b, a}; // any order: the text is in name order

  stapling_info st;
  st.domain = "a.test";
  st.id = std::string(40, '1');
  st.sha256_fingerprint = std::string(64, 'a');
  st.status = ocsp_cert_status::good;
  st.valid_from = k_now - 1h;
  st.valid_until = k_now + 29h;
  st.renew_at = k_now + 19h;
  s.staplings = {st};
  return s;
}

const std::string k_samples_a_b =
  "mdactor_certificate_not_after_timestamp_seconds{md=\"a.test\",key=\"rsa\"} 1802865600\n";

} // namespace

TEST_CASE("metrics: the text format 0.0.4 of a snapshot", "[metrics]") {
  engine_figures e;
  e.up = true;
  e.restarts = 2;
  e.started = k_now - 24h;
  const std::string text = metrics_text(sample_snapshot(), e, metrics_format::text_004);
  const std::string expected =
    "# HELP mdactor_engine_up 1 when the engine answered this scrape, 0 when it was read from the status file.\n"
    "# TYPE mdactor_engine_up gauge\n"
    "mdactor_engine_up 1\n"
    "# HELP mdactor_engine_restarts_total Engine processes started anew after one ended, since Apache's last (re)start.\n"
    "# TYPE mdactor_engine_restarts_total counter\n"
    "mdactor_engine_restarts_total 2\n"
    "# HELP mdactor_engine_start_time_seconds When the running engine started, in unix seconds.\n"
    "# TYPE mdactor_engine_start_time_seconds gauge\n"
    "mdactor_engine_start_time_seconds 1795867200\n"
    "# HELP mdactor_managed_domains Managed domains (MDs) configured.\n"
    "# TYPE mdactor_managed_domains gauge\n"
    "mdactor_managed_domains 2\n"
    "# HELP mdactor_orders_in_flight Renewal runs in progress right now.\n"
    "# TYPE mdactor_orders_in_flight gauge\n"
    "mdactor_orders_in_flight 1\n"
    "# HELP mdactor_certificate_not_after_timestamp_seconds When the certificate expires (notAfter), in unix seconds.\n"
    "# TYPE mdactor_certificate_not_after_timestamp_seconds gauge\n"
    "mdactor_certificate_not_after_timestamp_seconds{md=\"a.test\",key=\"rsa\"} 1802865600\n"
    "# HELP mdactor_certificate_not_before_timestamp_seconds When the certificate became valid (notBefore), in unix seconds.\n"
    "# TYPE mdactor_certificate_not_before_timestamp_seconds gauge\n"
    "mdactor_certificate_not_before_timestamp_seconds{md=\"a.test\",key=\"rsa\"} 1795089600\n"
    "# HELP mdactor_certificate_info The certificate's serial number, SHA-256 fingerprint and issuer.\n"
    "# TYPE mdactor_certificate_info gauge\n"
    "mdactor_certificate_info{md=\"a.test\",key=\"rsa\",serial=\"0A1B\",sha256_fingerprint=\"" + std::string(64, 'a') +
    "\",issuer=\"/CN=Test CA\"} 1\n"
    "# HELP mdactor_certificate_served 1 when the certificate is the one served for the MD, 0 when it only sits in the store.\n"
    "# TYPE mdactor_certificate_served gauge\n"
    "mdactor_certificate_served{md=\"a.test\",key=\"rsa\"} 1\n"
    "# HELP mdactor_md_renew_at_timestamp_seconds When the renewal of the MD is planned, in unix seconds.\n"
    "# TYPE mdactor_md_renew_at_timestamp_seconds gauge\n"
    "mdactor_md_renew_at_timestamp_seconds{md=\"a.test\"} 1800273600\n"
    "# HELP mdactor_md_renewal_state 1 for the MD's renewal state (ok, due, renewing, error), 0 for the others.\n"
    "# TYPE mdactor_md_renewal_state gauge\n"
    "mdactor_md_renewal_state{md=\"a.test\",state=\"ok\"} 0\n"
    "mdactor_md_renewal_state{md=\"a.test\",state=\"due\"} 0\n"
    "mdactor_md_renewal_state{md=\"a.test\",state=\"renewing\"} 0\n"
    "mdactor_md_renewal_state{md=\"a.test\",state=\"error\"} 1\n"
    "mdactor_md_renewal_state{md=\"evil\\\"\\n\\\\name</td>\",state=\"ok\"} 0\n"
    "mdactor_md_renewal_state{md=\"evil\\\"\\n\\\\name</td>\",state=\"due\"} 0\n"
    "mdactor_md_renewal_state{md=\"evil\\\"\\n\\\\name</td>\",state=\"renewing\"} 1\n"
    "mdactor_md_renewal_state{md=\"evil\\\"\\n\\\\name</td>\",state=\"error\"} 0\n"
    "# HELP mdactor_md_renewal_errors Failed renewal runs of the MD in a row (0 after a success).\n"
    "# TYPE mdactor_md_renewal_errors gauge\n"
    "mdactor_md_renewal_errors{md=\"a.test\"} 2\n"
    "mdactor_md_renewal_errors{md=\"evil\\\"\\n\\\\name</td>\"} 0\n"
    "# HELP mdactor_md_renewal_last_error_timestamp_seconds When the MD's renewal last failed, in unix seconds.\n"
    "# TYPE mdactor_md_renewal_last_error_timestamp_seconds gauge\n"
    "mdactor_md_renewal_last_error_timestamp_seconds{md=\"a.test\"} 1795950000\n"
    "# HELP mdactor_md_last_renewal_duration_seconds How long the MD's last successful renewal run took, from its start to its certificate.\n"
    "# TYPE mdactor_md_last_renewal_duration_seconds gauge\n"
    "mdactor_md_last_renewal_duration_seconds{md=\"evil\\\"\\n\\\\name</td>\"} 240\n"
    "# HELP mdactor_ocsp_staple_this_update_timestamp_seconds The stapled OCSP response's thisUpdate in unix seconds (its age: time() minus this).\n"
    "# TYPE mdactor_ocsp_staple_this_update_timestamp_seconds gauge\n"
    "mdactor_ocsp_staple_this_update_timestamp_seconds{md=\"a.test\",key=\"rsa\"} 1795950000\n"
    "# HELP mdactor_ocsp_staple_next_update_timestamp_seconds The stapled OCSP response's nextUpdate, in unix seconds.\n"
    "# TYPE mdactor_ocsp_staple_next_update_timestamp_seconds gauge\n"
    "mdactor_ocsp_staple_next_update_timestamp_seconds{md=\"a.test\",key=\"rsa\"} 1796058000\n"
    "# HELP mdactor_ocsp_staple_refresh_timestamp_seconds When the OCSP response is to be fetched anew, in unix seconds.\n"
    "# TYPE mdactor_ocsp_staple_refresh_timestamp_seconds gauge\n"
    "mdactor_ocsp_staple_refresh_timestamp_seconds{md=\"a.test\",key=\"rsa\"} 1796022000\n"
    "# HELP mdactor_ocsp_staple_status 1 for the certificate's OCSP status (good, revoked, unknown), 0 for the others.\n"
    "# TYPE mdactor_ocsp_staple_status gauge\n"
    "mdactor_ocsp_staple_status{md=\"a.test\",key=\"rsa\",status=\"good\"} 1\n"
    "mdactor_ocsp_staple_status{md=\"a.test\",key=\"rsa\",status=\"revoked\"} 0\n"
    "mdactor_ocsp_staple_status{md=\"a.test\",key=\"rsa\",status=\"unknown\"} 0\n";
  CHECK(text == expected);
}

TEST_CASE("metrics: OpenMetrics differs in the headers and ends with # EOF", "[metrics]") {
  engine_figures e; // read from the file: engine down, restarts and start unknown
  status_snapshot s;
  md_snapshot m;
  m.md.name = "b.test";
  cert_info c;
  c.valid_from = k_now - 240h;
  c.valid_until = k_now + 1920h;
  c.serial = "01";
  c.sha256_fingerprint = "ff";
  m.certs = {{"rsa", c}};
  s.mds = {m};
  const std::string text = metrics_text(s, e, metrics_format::openmetrics);
  CHECK(text.rfind("# HELP mdactor_engine_up 1 when the engine answered this scrape, 0 when it was read "
                   "from the status file.\n# TYPE mdactor_engine_up gauge\nmdactor_engine_up 0\n"
                   "# HELP mdactor_managed_domains ", 0) == 0);
  CHECK(text.find("mdactor_engine_restarts") == std::string::npos);
  CHECK(text.find("# HELP mdactor_certificate_not_after_timestamp_seconds When the certificate expires "
                  "(notAfter), in unix seconds.\n"
                  "# TYPE mdactor_certificate_not_after_timestamp_seconds gauge\n"
                  "# UNIT mdactor_certificate_not_after_timestamp_seconds seconds\n"
                  "mdactor_certificate_not_after_timestamp_seconds{md=\"b.test\",key=\"rsa\"} 1802865600\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE mdactor_certificate info\n"
                  "mdactor_certificate_info{md=\"b.test\",key=\"rsa\",serial=\"01\",sha256_fingerprint=\"ff\","
                  "issuer=\"\"} 1\n") != std::string::npos);
  CHECK(text.find("mdactor_certificate_served{md=\"b.test\",key=\"rsa\"} 0\n") != std::string::npos);
  CHECK(text.find("mdactor_md_renewal_state{md=\"b.test\",state=\"ok\"} 1\n") != std::string::npos);
  CHECK(text.size() >= 6);
  CHECK(text.substr(text.size() - 6) == "# EOF\n");

  engine_figures up;
  up.up = true;
  up.restarts = 0;
  const std::string om = metrics_text(s, up, metrics_format::openmetrics);
  CHECK(om.find("# TYPE mdactor_engine_restarts counter\nmdactor_engine_restarts_total 0\n") != std::string::npos);
}

TEST_CASE("metrics: the format from Accept, the content types", "[metrics]") {
  CHECK(metrics_format_for("") == metrics_format::text_004);
  CHECK(metrics_format_for("text/plain;version=0.0.4;q=0.5,*/*;q=0.1") == metrics_format::text_004);
  CHECK(metrics_format_for("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                           "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1") ==
        metrics_format::openmetrics);
  CHECK(metrics_format_for("Application/OpenMetrics-Text") == metrics_format::openmetrics);
  CHECK(std::string(metrics_content_type(metrics_format::text_004)) == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(std::string(metrics_content_type(metrics_format::openmetrics)) ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST_CASE("metrics: joined fragments are the text rendered whole; label values escaped", "[metrics]") {
  const status_snapshot s = sample_snapshot();
  const metrics_fragment a = md_metrics_fragment(s, s.mds[1]);
  const metrics_fragment b = md_metrics_fragment(s, s.mds[0]);
  engine_figures e;
  e.up = true;
  CHECK(metrics_join({&a, &b}, e, metrics_format::text_004) == metrics_text(s, e, metrics_format::text_004));
  CHECK(metrics_join({&a, &b}, e, metrics_format::openmetrics) == metrics_text(s, e, metrics_format::openmetrics));
  CHECK(a.lines[static_cast<std::size_t>(md_family::cert_not_after)] == k_samples_a_b);
  CHECK(b.renewing);
  CHECK_FALSE(a.renewing);
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}
