// Durations and timeslices: expected values are mod_md's, several checked against the
// deployed mod_md (md.json "renew-window"/"warn-window" written for the same settings).
#include <catch2/catch.hpp>

#include "core/config_values.hpp"
#include "core/duration.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

constexpr milliseconds k_day = 24h;

milliseconds dur(std::string_view text, std::string_view unit = "s") {
  auto d = parse_duration(text, unit);
  REQUIRE(d);
  return *d;
}

void dur_fails(std::string_view text) {
  INFO("duration '" << text << "'");
  auto d = parse_duration(text);
  REQUIRE_FALSE(d);
  CHECK(d.error().message == "unrecognized duration format");
  CHECK(d.error().code == config_errc::bad_format);
}

timeslice slice(std::string_view text, milliseconds norm = k_life_norm) {
  auto ts = parse_timeslice(text, norm);
  REQUIRE(ts);
  return *ts;
}

} // namespace

TEST_CASE("durations parse with units and a default unit", "[core][config][duration]") {
  CHECK(dur("14d") == 14 * k_day);
  CHECK(dur("12h") == 12h);
  CHECK(dur("30mi") == 30min);
  CHECK(dur("30s") == 30s);
  CHECK(dur("500ms") == 500ms);
  CHECK(dur("5D") == 5 * k_day);
  CHECK(dur("12H") == 12h);
  CHECK(dur("30MI") == 30min);
  CHECK(dur("30mI") == 30min);
  CHECK(dur("500MS") == 500ms);
  SECTION("a bare number takes the default unit") {
    CHECK(dur("5") == 5s);
    CHECK(dur("5", "d") == 5 * k_day);
    CHECK(dur("5", "h") == 5h);
    CHECK(dur("5", "mi") == 5min);
    CHECK(dur("5", "ms") == 5ms);
    CHECK(dur("5", "") == 5s);
  }
  SECTION("what strtoll and the unit switch let through") {
    CHECK(dur("-5d") == -5 * k_day);
    CHECK(dur("+5d") == 5 * k_day);
    CHECK(dur(" 12h") == 12h);
    CHECK(dur("12hours") == 12h);
    CHECK(dur("5msec") == 5ms);
    CHECK(dur("0") == 0ms);
    CHECK(dur("", "d") == 0ms); // mod_md: no digits and no rest -> 0 in the default unit
  }
}

TEST_CASE("durations that mod_md refuses", "[core][config][duration]") {
  dur_fails("5m");
  dur_fails("5M");
  dur_fails("5mx");
  dur_fails("5x");
  dur_fails("1.5d");
  dur_fails("5 h");
  dur_fails("d");
  dur_fails(" ");
  dur_fails("-");
  dur_fails("99999999999999999999d"); // ERANGE in strtoll
  dur_fails("9999999999999d");        // overflows microseconds (mod_md wraps; we refuse)
}

TEST_CASE("durations format as mod_md writes them", "[core][config][duration]") {
  CHECK(format_duration(14 * k_day) == "14d");
  CHECK(format_duration(24h) == "1d");
  CHECK(format_duration(12h) == "12h");
  CHECK(format_duration(36h) == "36h");
  CHECK(format_duration(30min) == "30mi");
  CHECK(format_duration(90min) == "90mi");
  CHECK(format_duration(30s) == "30s");
  CHECK(format_duration(61s) == "61s");
  CHECK(format_duration(86401s) == "86401s");
  CHECK(format_duration(0ms) == "0d");
  CHECK(format_duration(-5 * k_day) == "-5d");
  CHECK(format_duration(-90min) == "-90mi");
  CHECK(format_duration(-61s) == "-61s");
  SECTION("below the second only the millisecond part is printed") {
    CHECK(format_duration(1500ms) == "500ms");
    CHECK(format_duration(-1500ms) == "-500ms");
    CHECK(format_duration(500ms) == "0d");
  }
  SECTION("round trips") {
    for (auto text : {"14d", "12h", "30mi", "30s", "-5d", "-90mi", "61s", "500ms"}) {
      INFO(text);
      std::string expected = std::string(text) == "500ms" ? "0d" : text;
      CHECK(format_duration(dur(text)) == expected);
    }
  }
}

TEST_CASE("durations print for humans as mod_md does", "[core][config][duration]") {
  CHECK(print_duration(2 * k_day + 3h + 5s) == "2 days 3 hours 5 seconds");
  CHECK(print_duration(90min) == "1 hours 30 minutes");
  CHECK(print_duration(k_day) == "1 days");
  CHECK(print_duration(0ms) == "0 seconds");
  CHECK(print_duration(500ms) == "500 ms");
  CHECK(print_duration(1500ms) == "1 seconds");
  CHECK(print_duration(-5s) == "0 ms");
  CHECK(print_duration(-2 * k_day) == "");
  CHECK(print_duration_roughly(2 * k_day + 3h) == "~2 days");
  CHECK(print_duration_roughly(3h + 5min) == "~3 hours");
  CHECK(print_duration_roughly(45s) == "~45 seconds");
  CHECK(print_duration_roughly(0ms) == "0 seconds");
}

TEST_CASE("timeslices parse as duration or percentage", "[core][config][timeslice]") {
  CHECK(slice("33%") == timeslice{k_life_norm, 33 * k_day});
  CHECK(slice("10%") == timeslice{k_life_norm, 10 * k_day});
  CHECK(slice("0%") == timeslice{k_life_norm, 0ms});
  CHECK(slice("%") == timeslice{k_life_norm, 0ms}); // strtoll converts nothing, then '%'
  CHECK(slice("33%x") == timeslice{k_life_norm, 33 * k_day});
  CHECK(slice("14") == timeslice::absolute(14 * k_day));
  CHECK(slice("12h") == timeslice::absolute(12h));
  CHECK(slice("-5d") == timeslice::absolute(-5 * k_day));
  CHECK(slice("") == timeslice::absolute(0ms));
  CHECK(slice("50%", k_ocsp_keep_norm) == timeslice{k_ocsp_keep_norm, 302400s});
  CHECK(slice("4294967329%") == slice("33%")); // (int) keeps the low 32 bits
  CHECK(slice("4294967295%") == timeslice{k_life_norm, -k_day});
  SECTION("errors") {
    auto neg = parse_timeslice("-5%");
    REQUIRE_FALSE(neg);
    CHECK(neg.error().message == "percent must be less than 100");
    CHECK(neg.error().code == config_errc::out_of_range);
    for (auto bad : {"5m", "x", "1.5d", "99999999999999999999d", "99999999999999999999%",
                     "9999999999999d", "1000000000%"}) {
      INFO(bad);
      auto ts = parse_timeslice(bad);
      REQUIRE_FALSE(ts);
      CHECK(ts.error().message == "has unrecognized format");
      CHECK(ts.error().code == config_errc::bad_format);
    }
  }
}

TEST_CASE("timeslices format back", "[core][config][timeslice]") {
  for (auto text : {"33%", "10%", "0%", "99%", "14d", "12h", "30mi", "30s", "-5d", "1500ms"}) {
    INFO(text);
    std::string expected = std::string(text) == "1500ms" ? "500ms" : text;
    CHECK(format_timeslice(slice(text)) == expected);
  }
  CHECK(format_timeslice(slice("%")) == "0%");
  CHECK(format_timeslice(slice("50%", k_ocsp_keep_norm)) == "50%");
  CHECK(format_timeslice(slice("4294967295%")) == "-1%");
  CHECK(format_timeslice(default_renew_window()) == "33%");
  CHECK(format_timeslice(default_warn_window()) == "10%");
  CHECK(format_timeslice(default_stapling_renew_window()) == "33%");
  CHECK(format_timeslice(default_stapling_keep_response()) == "7d");
  CHECK(slice("33%").percent() == 33);
  CHECK(timeslice::absolute(5s).percent() == 0);
}

TEST_CASE("timeslices apply to real periods", "[core][config][timeslice]") {
  const sys_time t0 = from_unix(1704067200); // 2024-01-01T00:00:00Z
  auto window = [](const timeslice& ts, sys_time start, sys_time end) {
    auto p = slice_before_end(ts, {start, end});
    CHECK(p.end == end);
    return end - p.start;
  };
  SECTION("33% of 90 days") {
    CHECK(window(slice("33%"), t0, t0 + 90 * k_day) == std::chrono::seconds(2566080));
  }
  SECTION("33% of 5 years (2024..2029, two leap days)") {
    CHECK(window(slice("33%"), t0, from_unix(1861920000)) == std::chrono::seconds(52091424));
  }
  SECTION("percentages of long periods are whole seconds, truncated") {
    CHECK(window(slice("33%"), t0, t0 + 90 * k_day + 7500ms) == std::chrono::seconds(2566082));
  }
  SECTION("periods of 100 s or less are taken in microseconds") {
    CHECK(window(slice("33%"), t0, t0 + 100s) == 33s);
    CHECK(window(slice("33%"), t0, t0 + 10500ms) == std::chrono::microseconds(3465000));
  }
  SECTION("a reversed period has length 0") {
    CHECK(window(slice("33%"), t0 + 10s, t0) == 0s);
  }
  SECTION("absolute slices ignore the period") {
    CHECK(window(slice("14d"), t0, t0 + 90 * k_day) == 14 * k_day);
    CHECK(window(default_stapling_keep_response(), t0, t0 + 1s) == 7 * k_day);
  }
  SECTION("MDStaplingKeepResponse 50% of mod_md's 7 day keep period") {
    CHECK(window(slice("50%", k_ocsp_keep_norm), t0 - 7 * k_day, t0) == 302400s);
  }
}

TEST_CASE("window directives check and prefix as mod_md", "[core][config][timeslice]") {
  auto fails = [](const expected<timeslice>& ts, const std::string& msg, config_errc code) {
    REQUIRE_FALSE(ts);
    CHECK(ts.error().message == msg);
    CHECK(ts.error().code == code);
  };
  CHECK(*parse_renew_window("99%") == slice("99%"));
  CHECK(*parse_renew_window("200d") == slice("200d"));
  fails(parse_renew_window("100%"), "MDRenewWindow a length of 100% or more is not allowed.",
        config_errc::out_of_range);
  fails(parse_renew_window("101%"), "MDRenewWindow a length of 100% or more is not allowed.",
        config_errc::out_of_range);
  fails(parse_renew_window("5m"), "MDRenewWindow has unrecognized format", config_errc::bad_format);
  fails(parse_renew_window("-3%"), "MDRenewWindow percent must be less than 100",
        config_errc::out_of_range);
  fails(parse_warn_window("100%"), "MDWarnWindow a length of 100% or more is not allowed.",
        config_errc::out_of_range);
  fails(parse_warn_window("x"), "MDWarnWindow has unrecognized format", config_errc::bad_format);
  fails(parse_stapling_renew_window("100%"),
        "MDStaplingRenewWindow with a length of 100% or more is not allowed.",
        config_errc::out_of_range);
  CHECK(*parse_stapling_keep_response("500%") == timeslice{k_ocsp_keep_norm, 35 * k_day});
  fails(parse_stapling_keep_response("x"), "MDStaplingKeepResponse has unrecognized format",
        config_errc::bad_format);
  fails(parse_stapling_keep_response("-3%"), "MDStaplingKeepResponse percent must be less than 100",
        config_errc::out_of_range);
}

TEST_CASE("strtoll-like scanning", "[core][config][duration]") {
  auto s = detail::scan_int64("  -12abc");
  CHECK(s.value == -12);
  CHECK(s.end == 5);
  CHECK_FALSE(s.overflow);
  CHECK(detail::scan_int64("abc").end == 0);
  CHECK(detail::scan_int64("").end == 0);
  CHECK(detail::scan_int64("+").end == 0);
  CHECK(detail::scan_int64("9223372036854775807").value == INT64_MAX);
  CHECK_FALSE(detail::scan_int64("9223372036854775807").overflow);
  CHECK(detail::scan_int64("9223372036854775808").overflow);
  CHECK(detail::scan_int64("-9223372036854775808").value == INT64_MIN);
  CHECK_FALSE(detail::scan_int64("-9223372036854775808").overflow);
  CHECK(detail::truncate_to_int(4294967376LL) == 80);
  CHECK(detail::truncate_to_int(99999999999LL) == 1215752191);
  CHECK(detail::truncate_to_int(INT64_MAX) == -1);
}
