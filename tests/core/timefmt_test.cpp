#include <catch2/catch.hpp>

#include "core/timefmt.hpp"

using namespace mda;
using namespace std::chrono;

TEST_CASE("RFC 822 dates as mod_md writes them", "[core][time]") {
  sys_time t = from_unix(1795880195); // 2026-11-28 15:36:35 UTC
  CHECK(format_rfc822(t) == "Sat, 28 Nov 2026 15:36:35 GMT");
  CHECK(format_rfc822(t + milliseconds(999)) == "Sat, 28 Nov 2026 15:36:35 GMT");
  CHECK(*parse_rfc822("Sat, 28 Nov 2026 15:36:35 GMT") == t);
  CHECK(*parse_rfc822("28 Nov 2026 15:36:35 GMT") == t);
  CHECK(format_rfc822(from_unix(0)) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(*parse_rfc822("Fri, 05 Apr 2030 01:41:24 GMT") == from_unix(1901583684));
}

TEST_CASE("RFC 822 parse errors name the value", "[core][time]") {
  auto r = parse_rfc822("Sat, 31 Feb 2026 15:36:35 GMT");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "'Sat, 31 Feb 2026 15:36:35 GMT' is not a valid RFC 822 time");
  CHECK_FALSE(parse_rfc822("yesterday"));
  CHECK_FALSE(parse_rfc822("Sat, 28 Nov 2026 15:36:35 CET"));
  CHECK_FALSE(parse_rfc822(""));
}

TEST_CASE("RFC 3339 with offsets and fractions", "[core][time]") {
  sys_time t = from_unix(1795880195);
  CHECK(format_rfc3339(t) == "2026-11-28T15:36:35Z");
  CHECK(*parse_rfc3339("2026-11-28T15:36:35Z") == t);
  CHECK(*parse_rfc3339("2026-11-28t15:36:35z") == t);
  CHECK(*parse_rfc3339("2026-11-28T16:36:35+01:00") == t);
  CHECK(*parse_rfc3339("2026-11-28T10:06:35-05:30") == t);
  CHECK(*parse_rfc3339("2026-11-28T15:36:35.250Z") == t + milliseconds(250));
  CHECK(*parse_rfc3339("2026-11-28T15:36:35.123456789Z") == t + milliseconds(123));
  auto bad = parse_rfc3339("2026-11-28T15:36:35");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "'2026-11-28T15:36:35' is not a valid RFC 3339 time");
  CHECK_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T15:36:35+0100"));
  CHECK_FALSE(parse_rfc3339("2026-11-28T15:36:35Zjunk"));
}

TEST_CASE("manual time source moves only when told", "[core][time]") {
  manual_time_source clock(from_unix(1000));
  auto m0 = clock.mono_now();
  clock.advance(seconds(5));
  CHECK(clock.now() == from_unix(1005));
  CHECK(clock.mono_now() - m0 == seconds(5));
}
