#include "core/timefmt.hpp"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace mda {

namespace {

const char* const k_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* const k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static const int k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : k[m - 1];
}

struct fields {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

bool valid(const fields& f) {
  return f.year >= 1 && f.year <= 9999 && f.month >= 1 && f.month <= 12 && f.day >= 1 &&
         f.day <= days_in_month(f.year, f.month) && f.hour >= 0 && f.hour <= 23 &&
         f.minute >= 0 && f.minute <= 59 && f.second >= 0 && f.second <= 59;
}

sys_time to_time(const fields& f) {
  std::int64_t days = days_from_civil(f.year, static_cast<unsigned>(f.month),
                                      static_cast<unsigned>(f.day));
  return from_unix(days * 86400 + f.hour * 3600 + f.minute * 60 + f.second);
}

std::tm to_tm(sys_time t) {
  std::time_t tt = static_cast<std::time_t>(to_unix(t));
  // Floor for times before the epoch with sub-second parts.
  if (t.time_since_epoch().count() < 0 && sys_time(std::chrono::seconds(tt)) > t) --tt;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

// Reads exactly n digits at s[pos]; advances pos.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) { ++pos; return true; }
  return false;
}

error bad_time(std::string_view kind, std::string_view text) {
  return {std::make_error_code(std::errc::invalid_argument),
          "'" + std::string(text) + "' is not a valid " + std::string(kind) + " time"};
}

} // namespace

std::string format_rfc822(sys_time t) {
  std::tm tm = to_tm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", k_days[tm.tm_wday],
                tm.tm_mday, k_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

expected<sys_time> parse_rfc822(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  size_t comma = s.find(',');
  if (comma != std::string_view::npos) {
    s.remove_prefix(comma + 1);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  }
  // "28 Nov 2026 15:36:35 GMT"
  fields f;
  size_t pos = 0;
  size_t day_len = (s.size() > 1 && std::isdigit(static_cast<unsigned char>(s[1]))) ? 2 : 1;
  if (!digits(s, pos, day_len, f.day) || !expect(s, pos, ' ')) return bad_time("RFC 822", text);
  if (pos + 3 > s.size()) return bad_time("RFC 822", text);
  std::string mon(s.substr(pos, 3));
  pos += 3;
  for (int i = 0; i < 12; ++i)
    if (strcasecmp(mon.c_str(), k_months[i]) == 0) f.month = i + 1;
  if (f.month == 0 || !expect(s, pos, ' ') || !digits(s, pos, 4, f.year) || !expect(s, pos, ' ') ||
      !digits(s, pos, 2, f.hour) || !expect(s, pos, ':') || !digits(s, pos, 2, f.minute) ||
      !expect(s, pos, ':') || !digits(s, pos, 2, f.second))
    return bad_time("RFC 822", text);
  std::string_view zone = s.substr(pos);
  if (zone != " GMT" && zone != " UTC" && zone != " +0000" && zone != " Z")
    return bad_time("RFC 822", text);
  if (!valid(f)) return bad_time("RFC 822", text);
  return to_time(f);
}

std::string format_rfc3339(sys_time t) {
  std::tm tm = to_tm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

expected<sys_time> parse_rfc3339(std::string_view text) {
  fields f;
  size_t pos = 0;
  std::string_view s = text;
  if (!digits(s, pos, 4, f.year) || !expect(s, pos, '-') || !digits(s, pos, 2, f.month) ||
      !expect(s, pos, '-') || !digits(s, pos, 2, f.day))
    return bad_time("RFC 3339", text);
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
    return bad_time("RFC 3339", text);
  ++pos;
  if (!digits(s, pos, 2, f.hour) || !expect(s, pos, ':') || !digits(s, pos, 2, f.minute) ||
      !expect(s, pos, ':') || !digits(s, pos, 2, f.second))
    return bad_time("RFC 3339", text);
  std::chrono::milliseconds frac{0};
  if (expect(s, pos, '.')) {
    size_t start = pos;
    int ms = 0, scale = 100;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad_time("RFC 3339", text);
    frac = std::chrono::milliseconds(ms);
  }
  std::int64_t offset = 0;
  if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    int oh = 0, om = 0;
    if (!digits(s, pos, 2, oh) || !expect(s, pos, ':') || !digits(s, pos, 2, om) || oh > 23 ||
        om > 59)
      return bad_time("RFC 3339", text);
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad_time("RFC 3339", text);
  }
  if (pos != s.size() || !valid(f)) return bad_time("RFC 3339", text);
  // Local time = UTC + offset, so UTC = local - offset.
  return to_time(f) - std::chrono::seconds(offset) + frac;
}

} // namespace mda
