// Wall-clock time as the store and the ACME wire write it, and the injectable time source.
//
// - RFC 822 / RFC 7231 IMF-fixdate, GMT ("Sat, 28 Nov 2026 15:36:35 GMT"): every timestamp
//   mod_md writes into md.json, job.json and the OCSP files (apr_rfc822_date).
// - RFC 3339 ("2026-11-28T15:36:35.123+01:00"): ACME order expiry, ARI windows. Offsets are
//   applied (mod_md reads every time as UTC, reference §10.8); fractions are kept to the ms.
// Not here: time zones other than numeric offsets, leap seconds (":60" is refused).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace mda {

using sys_clock = std::chrono::system_clock;
using sys_time = sys_clock::time_point;
using mono_clock = std::chrono::steady_clock;
using mono_time = mono_clock::time_point;

/// "Sat, 28 Nov 2026 15:36:35 GMT"; sub-second parts are truncated.
std::string format_rfc822(sys_time t);

/// Parses the format above; also accepts "+0000"/"UTC" instead of "GMT" and a missing weekday.
expected<sys_time> parse_rfc822(std::string_view text);

/// "2026-11-28T15:36:35Z" (UTC, seconds).
std::string format_rfc3339(sys_time t);

/// Parses RFC 3339 date-time with "Z" or a numeric "+hh:mm"/"-hh:mm" offset and optional
/// fraction; 't'/'z' in lowercase are accepted as the RFC allows.
expected<sys_time> parse_rfc3339(std::string_view text);

/// Seconds since the epoch, and back (what a job.json reader compares).
inline std::int64_t to_unix(sys_time t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline sys_time from_unix(std::int64_t secs) { return sys_time(std::chrono::seconds(secs)); }

/// The clock every decision reads, injected so tests control it.
class time_source {
 public:
  virtual ~time_source() = default;
  virtual sys_time now() const = 0;       ///< wall time: validity, job stamps
  virtual mono_time mono_now() const = 0; ///< monotonic time: intervals, timeouts
};

/// The real clocks.
class system_time_source final : public time_source {
 public:
  sys_time now() const override { return sys_clock::now(); }
  mono_time mono_now() const override { return mono_clock::now(); }
};

/// A clock that moves only when told: for tests and for md-replay.
class manual_time_source final : public time_source {
 public:
  explicit manual_time_source(sys_time start) : wall_(start) {}
  sys_time now() const override { return wall_; }
  mono_time mono_now() const override { return mono_; }
  void advance(std::chrono::milliseconds d) { wall_ += d; mono_ += d; }
  void set(sys_time t) { wall_ = t; }

 private:
  sys_time wall_;
  mono_time mono_{};
};

} // namespace mda
