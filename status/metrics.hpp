// Prometheus metrics of the managed domains (MDs) from a status snapshot, as pure functions:
// the text of the md-metrics handler (SetHandler md-metrics; docs/metrics.md lists every
// metric).
//
// - Two formats, one sample syntax: Prometheus' text format 0.0.4 (the default) and
//   OpenMetrics 1.0 (when the scraper's Accept names application/openmetrics-text:
//   metrics_format_for). They differ only in the family headers (# TYPE of counters and info
//   metrics, # UNIT) and in OpenMetrics' closing "# EOF"; the sample lines are the same, so
//   one rendered fragment per MD serves both.
// - Names follow Prometheus' rules: prefix mdactor_, base units (seconds), points in time as
//   unix seconds (_timestamp_seconds), counters _total, string facts in _info metrics valued 1.
//   Label values are escaped (backslash, double quote, line feed), so any MD name is safe.
// - Cheap with 10,000 MDs: an MD's samples are rendered once per change of the MD
//   (md_metrics_fragment, kept by the engine beside its md-status fragment) and a scrape only
//   joins them family by family (metrics_join); no JSON, no X.509 at scrape time.
// - Points in time, not ages: an OCSP staple's age is time() - its this-update timestamp in
//   PromQL; the fragments stay valid until the MD changes.
// Not here: HTTP (the handler in httpd/status_handlers.cpp), where the snapshot comes from,
// ACME request counts (the engine keeps none).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "status/snapshot.hpp"

namespace mda {

enum class metrics_format { text_004, openmetrics };

/// OpenMetrics when `accept` (the request's Accept header) names application/openmetrics-text
/// (any version, any parameters), the text format 0.0.4 otherwise.
metrics_format metrics_format_for(std::string_view accept);

/// The Content-Type of an answer in `f`.
const char* metrics_content_type(metrics_format f);

/// The per-MD metric families, in the order they are written.
enum class md_family : std::size_t {
  cert_not_after,
  cert_not_before,
  cert_info,
  cert_served,
  renew_at,
  renewal_state,
  renewal_errors,
  last_error,
  last_renewal_duration,
  ocsp_this_update,
  ocsp_next_update,
  ocsp_refresh_at,
  ocsp_status,
  count_
};
inline constexpr std::size_t k_md_families = static_cast<std::size_t>(md_family::count_);

/// One MD's sample lines, family by family (each line ends with '\n'; a family the MD has no
/// sample of is ""), and whether a renewal run is in progress (mdactor_orders_in_flight).
struct metrics_fragment {
  std::array<std::string, k_md_families> lines;
  bool renewing = false;
};

/// The samples of MD `m`. Of `s` only the stapling entries of `m` are read (so a caller may
/// pass just those), matched to its certificates by SHA-256 fingerprint.
metrics_fragment md_metrics_fragment(const status_snapshot& s, const md_snapshot& m);

/// The MD's renewal state as metrics and the status page name it: "renewing" (a run in
/// progress), "error" (its last run failed), "due" (md-status' "renew"), else "ok".
const char* md_renewal_state(const md_snapshot& m);

/// What is known of the engine beside its MDs.
struct engine_figures {
  bool up = false;                    ///< the engine answered (false: read from the status file)
  std::optional<std::int64_t> restarts; ///< engine processes re-forked since Apache's last start
  sys_time started{};                 ///< when the running engine started; the epoch = unknown
};

/// The whole answer: every family's header (when it has samples, and always for the engine's
/// families), then its samples from every fragment in the given order; "# EOF" last for
/// OpenMetrics.
std::string metrics_join(const std::vector<const metrics_fragment*>& mds, const engine_figures& e,
                         metrics_format f);

/// metrics_join of md_metrics_fragment for every MD of `s`, in name order.
std::string metrics_text(const status_snapshot& s, const engine_figures& e, metrics_format f);

/// A label value as the text formats write it between double quotes.
std::string escape_label_value(std::string_view v);

} // namespace mda
