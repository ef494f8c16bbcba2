// Durations and timeslices as mod_md writes them in its configuration and in md.json
// (reference §1.2; mod_md src/md_time.c), bug for bug where the output is visible.
//
// - Duration: "<int>[unit]", units d, h, mi, s, ms (first letter case-insensitive, the rest of
//   the text after the unit letter(s) is ignored: "12hours" is 12h). Leading white space and a
//   sign are accepted ("-5d", " 12h"), fractions are not; "5m" is an error. An empty text is 0
//   in the default unit, as in mod_md (httpd never passes an empty argument).
// - Timeslice: a duration (default unit d) or "N%" of a norm (100 days for certificate
//   windows, 7 days for MDStaplingKeepResponse). Applied to a real period, a percentage is
//   taken of that period's length.
// - Formatting back is mod_md's: the largest unit that divides the whole seconds; below a
//   second only the millisecond part of the second is printed (1500ms -> "500ms", 500ms -> "0d").
//   That is what mod_md writes into md.json, so we write the same.
// Not here: what the directive handlers add on top (the MDRenewWindow prefix, the 100% check):
// see the parse_*_window functions at the end and config_values.hpp for the other directives.
//
// Deviation: values whose microsecond count overflows 64 bits (e.g. "9999999999999d") are
// rejected as unrecognized; mod_md silently wraps them around.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/timefmt.hpp"

namespace mda {

using std::chrono::milliseconds;

/// Parses a duration; `default_unit` ("d", "h", "mi", "s", "ms") applies to a bare number,
/// an empty one means "s". Errors carry config_errc::bad_format and the message
/// "unrecognized duration format" (what the plain duration directives return).
expected<milliseconds> parse_duration(std::string_view text, std::string_view default_unit = "s");

/// md_duration_format: "14d", "12h", "30mi", "30s", "1500ms" -> "500ms" (see above), 0 -> "0d".
std::string format_duration(milliseconds d);

/// md_duration_print, for humans: "2 days 3 hours 5 seconds", "0 seconds", "500 ms".
std::string print_duration(milliseconds d);
/// md_duration_roughly: only the largest non-zero part, "~2 days", "~3 hours".
std::string print_duration_roughly(milliseconds d);

/// The norm of certificate lifetime windows (MD_TIME_LIFE_NORM) and of MDStaplingKeepResponse.
inline constexpr milliseconds k_life_norm{100LL * 86400 * 1000};
inline constexpr milliseconds k_ocsp_keep_norm{7LL * 86400 * 1000};

/// md_timeslice_t: with norm > 0 the slice is len/norm of a period ("N%"), else len as is.
struct timeslice {
  milliseconds norm{0};
  milliseconds len{0};

  bool is_percentage() const { return norm.count() > 0; }
  /// The percentage as mod_md computes it from whole seconds; 0 when not a percentage.
  int percent() const;
  bool operator==(const timeslice& o) const { return norm == o.norm && len == o.len; }
  bool operator!=(const timeslice& o) const { return !(*this == o); }

  static timeslice of_percent(int pct, milliseconds norm = k_life_norm);
  static timeslice absolute(milliseconds len) { return {milliseconds{0}, len}; }
};

/// The defaults of mod_md: MDRenewWindow 33%, MDWarnWindow 10%, MDStaplingRenewWindow 33%,
/// MDStaplingKeepResponse 7d (absolute).
timeslice default_renew_window();
timeslice default_warn_window();
timeslice default_stapling_renew_window();
timeslice default_stapling_keep_response();

/// md_timeslice_parse: errors "has unrecognized format" (bad_format) and, for a negative
/// percentage, mod_md's "percent must be less than 100" (out_of_range). No directive prefix.
expected<timeslice> parse_timeslice(std::string_view text, milliseconds norm = k_life_norm);

/// md_timeslice_format: "33%" for a percentage, else format_duration(len).
std::string format_timeslice(const timeslice& ts);

/// A span of wall time; an end before the start counts as length 0.
struct time_period {
  sys_time start;
  sys_time end;
};

/// md_timeperiod_slice_before_end: the part of `period` that the slice covers, ending with
/// it. A percentage is taken of the period length in whole seconds (periods over 100 s) or in
/// microseconds (shorter ones), exactly as mod_md rounds.
time_period slice_before_end(const timeslice& ts, const time_period& period);

/// The directive handlers: parse_timeslice plus the check that a percentage is below 100
/// (not for MDStaplingKeepResponse), every message prefixed with the directive name, e.g.
/// "MDRenewWindow has unrecognized format", "MDRenewWindow a length of 100% or more is not
/// allowed.", "MDStaplingRenewWindow with a length of 100% or more is not allowed.".
expected<timeslice> parse_renew_window(std::string_view value);
expected<timeslice> parse_warn_window(std::string_view value);
expected<timeslice> parse_stapling_renew_window(std::string_view value);
expected<timeslice> parse_stapling_keep_response(std::string_view value);

namespace detail {

/// What strtoll(3) with base 10 sees at the start of `text` (leading white space and a sign
/// allowed). `end` is the index after the digits, 0 when there were none; on overflow the
/// value saturates and `overflow` is set (errno ERANGE in C).
struct int_scan {
  std::int64_t value = 0;
  std::size_t end = 0;
  bool overflow = false;
};
int_scan scan_int64(std::string_view text);

/// The C conversion (int)v of a 64-bit value: keeps the low 32 bits, as mod_md's casts do.
std::int32_t truncate_to_int(std::int64_t v);

} // namespace detail

} // namespace mda
