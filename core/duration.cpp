// Durations and timeslices (reference §1.2). Internally mod_md counts microseconds
// (apr_time_t); every rule below that rounds or truncates does so as mod_md does, so the
// texts we write and the windows we compute are the ones mod_md would.
#include "core/duration.hpp"

#include <limits>

#include "core/config_values.hpp"

namespace mda {

namespace {

constexpr std::int64_t k_usec_per_sec = 1000000;
constexpr std::int64_t k_secs_per_day = 86400;
constexpr std::int64_t k_secs_per_hour = 3600;

bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char at(std::string_view s, std::size_t i) { return i < s.size() ? s[i] : '\0'; }

/// n units of `factor` microseconds, or false when that does not fit apr_time_t.
bool scale(std::int64_t n, std::int64_t factor, std::int64_t& usec) {
  return !__builtin_mul_overflow(n, factor, &usec);
}

/// md_duration_parse in microseconds; false where mod_md fails (and on overflow, see header).
bool duration_usec(std::string_view text, std::string_view def_unit, std::int64_t& usec) {
  auto scan = detail::scan_int64(text);
  if (scan.overflow) return false;
  std::string_view unit;
  if (scan.end == text.size()) {
    unit = def_unit.empty() ? std::string_view("s") : def_unit;
  } else if (scan.end == 0) {
    return false; // no number at all
  } else {
    unit = text.substr(scan.end);
  }
  const std::int64_t n = scan.value;
  switch (lower(at(unit, 0))) {
    case 'd': return scale(n, k_secs_per_day * k_usec_per_sec, usec);
    case 'h': return scale(n, k_secs_per_hour * k_usec_per_sec, usec);
    case 's': return scale(n, k_usec_per_sec, usec);
    case 'm':
      switch (lower(at(unit, 1))) {
        case 's': return scale(n, 1000, usec);
        case 'i': return scale(n, 60 * k_usec_per_sec, usec);
        default: return false; // "5m": minutes or milliseconds?
      }
    default: return false;
  }
}

std::string print(milliseconds d, bool roughly) {
  const std::int64_t sec = d.count() / 1000;
  const long days = static_cast<long>(sec / k_secs_per_day);
  int rem = static_cast<int>(sec % k_secs_per_day);
  std::string s = roughly ? "~" : "";
  std::string sep;
  auto add = [&](long n, const char* unit) {
    s += sep + std::to_string(n) + unit;
    sep = " ";
    return roughly; // the rough form stops at the first part
  };
  if (days > 0 && add(days, " days")) return s;
  if (rem > 0) {
    const int hours = rem / 3600;
    rem %= 3600;
    if (hours > 0 && add(hours, " hours")) return s;
    const int minutes = rem / 60;
    rem %= 60;
    if (minutes > 0 && add(minutes, " minutes")) return s;
    if (rem > 0) add(rem, " seconds");
  } else if (days == 0) {
    // No whole seconds: mod_md prints only the millisecond part of the second.
    s = d.count() == 0 ? "0 seconds" : std::to_string(static_cast<int>(d.count() % 1000)) + " ms";
  }
  return s;
}

/// A window directive: the timeslice plus mod_md's "100% or more" check when `too_long`.
expected<timeslice> window(std::string_view directive, std::string_view value,
                           milliseconds norm, const char* too_long) {
  // mod_md prefixes with the directive name and a blank, not with ": ".
  const std::string prefix = std::string(directive) + " ";
  auto ts = parse_timeslice(value, norm);
  if (!ts) return error{ts.error().code, prefix + ts.error().message};
  if (too_long && ts->is_percentage() && ts->len >= ts->norm) {
    return error{config_errc::out_of_range, prefix + too_long};
  }
  return ts;
}

} // namespace

namespace detail {

int_scan scan_int64(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && is_c_space(text[i])) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  const std::size_t digits = i;
  const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
  std::uint64_t acc = 0;
  bool overflow = false;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    const auto d = static_cast<std::uint64_t>(text[i] - '0');
    if (!overflow && acc > (limit - d) / 10) overflow = true;
    if (!overflow) acc = acc * 10 + d;
  }
  if (i == digits) return {}; // strtoll: no conversion, end pointer at the start
  int_scan r;
  r.end = i;
  r.overflow = overflow;
  if (overflow) {
    r.value = negative ? std::numeric_limits<std::int64_t>::min()
                       : std::numeric_limits<std::int64_t>::max();
  } else {
    r.value = negative ? static_cast<std::int64_t>(0 - acc) : static_cast<std::int64_t>(acc);
  }
  return r;
}

std::int32_t truncate_to_int(std::int64_t v) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
}

} // namespace detail

expected<milliseconds> parse_duration(std::string_view text, std::string_view default_unit) {
  std::int64_t usec = 0;
  if (!duration_usec(text, default_unit, usec)) {
    return error{config_errc::bad_format, "unrecognized duration format"};
  }
  return milliseconds{usec / 1000}; // exact: ms is the smallest unit
}

std::string format_duration(milliseconds d) {
  // mod_md prints the unit counts through (int) casts; so do we.
  const std::int64_t sec = d.count() / 1000;
  auto text = [](std::int64_t n, const char* unit) {
    return std::to_string(detail::truncate_to_int(n)) + unit;
  };
  if (sec % k_secs_per_day == 0) return text(sec / k_secs_per_day, "d");
  if (sec % k_secs_per_hour == 0) return text(sec / k_secs_per_hour, "h");
  if (sec % 60 == 0) return text(sec / 60, "mi");
  const std::int64_t msec_part = d.count() % 1000;
  if (msec_part == 0) return text(sec, "s");
  return text(msec_part, "ms"); // only the part below the second, as mod_md (apr_time_msec)
}

std::string print_duration(milliseconds d) { return print(d, false); }
std::string print_duration_roughly(milliseconds d) { return print(d, true); }

int timeslice::percent() const {
  const std::int64_t norm_sec = norm.count() / 1000;
  if (norm.count() <= 0 || norm_sec == 0) return 0;
  return detail::truncate_to_int(len.count() / 1000 * 100 / norm_sec);
}

timeslice timeslice::of_percent(int pct, milliseconds norm) {
  const std::int64_t secs = norm.count() / 1000 * pct / 100;
  return {norm, milliseconds{secs * 1000}};
}

timeslice default_renew_window() { return timeslice::of_percent(33); }
timeslice default_warn_window() { return timeslice::of_percent(10); }
timeslice default_stapling_renew_window() { return timeslice::of_percent(33); }
timeslice default_stapling_keep_response() { return timeslice::absolute(k_ocsp_keep_norm); }

expected<timeslice> parse_timeslice(std::string_view text, milliseconds norm) {
  std::int64_t usec = 0;
  if (duration_usec(text, "d", usec)) return timeslice::absolute(milliseconds{usec / 1000});
  auto scan = detail::scan_int64(text);
  if (!scan.overflow && at(text, scan.end) == '%') {
    // Note "%" alone is 0%: strtoll converts nothing and stops at the '%'.
    if (scan.value < 0) return error{config_errc::out_of_range, "percent must be less than 100"};
    const std::int32_t pct = detail::truncate_to_int(scan.value);
    std::int64_t secs = norm.count() / 1000 * pct / 100;
    if (scale(secs, k_usec_per_sec, usec)) return timeslice{norm, milliseconds{secs * 1000}};
  }
  return error{config_errc::bad_format, "has unrecognized format"};
}

std::string format_timeslice(const timeslice& ts) {
  if (ts.is_percentage()) return std::to_string(ts.percent()) + "%";
  return format_duration(ts.len);
}

time_period slice_before_end(const timeslice& ts, const time_period& period) {
  using std::chrono::microseconds;
  std::int64_t usec = ts.len.count() * 1000;
  if (ts.is_percentage()) {
    const std::int64_t pct = ts.percent();
    const std::int64_t plen =
        period.start < period.end
            ? std::chrono::duration_cast<microseconds>(period.end - period.start).count()
            : 0;
    const std::int64_t plen_sec = plen / k_usec_per_sec;
    usec = plen_sec > 100 ? plen_sec * pct / 100 * k_usec_per_sec : plen * pct / 100;
  }
  return {period.end - microseconds{usec}, period.end};
}

expected<timeslice> parse_renew_window(std::string_view value) {
  return window("MDRenewWindow", value, k_life_norm, "a length of 100% or more is not allowed.");
}

expected<timeslice> parse_warn_window(std::string_view value) {
  return window("MDWarnWindow", value, k_life_norm, "a length of 100% or more is not allowed.");
}

expected<timeslice> parse_stapling_renew_window(std::string_view value) {
  return window("MDStaplingRenewWindow", value, k_life_norm,
                "with a length of 100% or more is not allowed.");
}

expected<timeslice> parse_stapling_keep_response(std::string_view value) {
  return window("MDStaplingKeepResponse", value, k_ocsp_keep_norm, nullptr);
}

} // namespace mda
