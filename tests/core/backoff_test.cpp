#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include "core/backoff.hpp"

using namespace mda;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const sys_time k_now = from_unix(1767225600); // Thu, 01 Jan 2026 00:00:00 GMT

struct delay_row {
  int errors;
  bool input_related;
  std::int64_t expected_s;
};

} // namespace

TEST_CASE("the base delay doubles per error up to the 24 h cap (md_job_delay_on_errors)",
          "[core][backoff]") {
  const retry_policy policy; // MDRetryDelay 30s
  const std::vector<delay_row> rows = {
      {-1, false, 0},       {0, false, 0},         {1, false, 30},
      {2, false, 60},       {3, false, 120},       {4, false, 240},
      {10, false, 15360},   {12, false, 61440},    {13, false, 86400}, // 122880 s capped
      {40, false, 86400},   {62, false, 86400},    {63, false, 86400},
      {64, false, 86400},   {1000, false, 86400},  // shifts past 64 bits: the cap, no overflow
      {0, true, 86400},     {1, true, 86400},      {5, true, 86400},
  };
  for (const auto& r : rows) {
    INFO("errors " << r.errors << ", input related " << r.input_related);
    CHECK(base_retry_delay(policy, r.errors, r.input_related) == seconds{r.expected_s});
  }
}

TEST_CASE("the base delay follows MDRetryDelay and guards odd values", "[core][backoff]") {
  retry_policy p;
  p.min_delay = milliseconds{500};
  CHECK(base_retry_delay(p, 1, false) == milliseconds{500});
  CHECK(base_retry_delay(p, 4, false) == milliseconds{4000});
  CHECK(base_retry_delay(p, 62, false) == k_max_retry_delay);
  p.min_delay = hours{30}; // above the cap from the first error on
  CHECK(base_retry_delay(p, 1, false) == k_max_retry_delay);
  p.min_delay = milliseconds{0};
  CHECK(base_retry_delay(p, 3, false) == milliseconds{0});
  p.min_delay = milliseconds{-5};
  CHECK(base_retry_delay(p, 3, false) == milliseconds{0});
}

TEST_CASE("the jitter is mod_md's: whole seconds * (c - 128) / 256", "[core][backoff]") {
  struct row {
    std::int64_t delay_ms;
    int c;
    std::int64_t expected_ms;
  };
  const std::vector<row> rows = {
      {30000, 0, 15000},        // -50 %
      {30000, 1, 16000},        // 30 * -127 / 256 = -14.88 -> -14
      {30000, 127, 30000},      // -30 / 256 truncates to 0
      {30000, 128, 30000},
      {30000, 255, 44000},      // 30 * 127 / 256 = 14.88 -> 14
      {86400000, 0, 43200000},
      {86400000, 255, 129262000}, // 86400 * 127 / 256 = 42862.5 -> 42862
      {2500, 0, 1500},          // whole seconds only: 2 * -128 / 256 = -1
      {1500, 0, 1500},          // 1 * -128 / 256 = -0.5 -> 0
      {500, 0, 500},            // below a second: no jitter
      {0, 0, 0},
  };
  for (const auto& r : rows) {
    INFO("delay " << r.delay_ms << " ms, c " << r.c);
    CHECK(jitter_retry_delay(milliseconds{r.delay_ms}, static_cast<std::uint8_t>(r.c)) ==
          milliseconds{r.expected_ms});
  }
}

TEST_CASE("every error count stays within 50 % to 150 % (exclusive) of its base delay", "[core][backoff]") {
  const retry_policy policy;
  for (int n = 1; n <= 14; ++n) {
    const milliseconds base = base_retry_delay(policy, n, false);
    const auto low = jitter_retry_delay(base, 0);
    const auto high = jitter_retry_delay(base, 255);
    INFO("errors " << n);
    CHECK(low == base / 2);
    CHECK(high < base + base / 2);
    for (int c = 0; c < 256; ++c) {
      const auto d = jitter_retry_delay(base, static_cast<std::uint8_t>(c));
      CHECK((d >= low && d <= high));
    }
  }
}

TEST_CASE("next_retry: now plus the jittered delay, never before Retry-After", "[core][backoff]") {
  const retry_policy policy;
  SECTION("plain doubling") {
    const auto d = next_retry(policy, {3, false, std::nullopt}, k_now, 128);
    CHECK(d.delay == seconds{120});
    CHECK(d.at == k_now + seconds{120});
    CHECK_FALSE(d.capped);
    CHECK_FALSE(d.retry_after);
  }
  SECTION("input related: the cap, jittered") {
    const auto d = next_retry(policy, {1, true, std::nullopt}, k_now, 0);
    CHECK(d.delay == hours{12});
    CHECK(d.at == k_now + hours{12});
    CHECK(d.capped);
  }
  SECTION("overflow at n = 64 is the cap") {
    const auto d = next_retry(policy, {64, false, std::nullopt}, k_now, 255);
    CHECK(d.delay == seconds{129262});
    CHECK(d.capped);
  }
  SECTION("a later Retry-After wins") {
    const auto d = next_retry(policy, {1, false, k_now + minutes{10}}, k_now, 255);
    CHECK(d.delay == seconds{44});
    CHECK(d.at == k_now + minutes{10});
    CHECK(d.retry_after);
  }
  SECTION("an earlier Retry-After does not shorten the delay") {
    const auto d = next_retry(policy, {2, false, k_now + seconds{10}}, k_now, 0);
    CHECK(d.at == k_now + seconds{30});
    CHECK_FALSE(d.retry_after);
  }
  SECTION("no error, no delay, but Retry-After still holds") {
    CHECK(next_retry(policy, {0, false, std::nullopt}, k_now, 0).at == k_now);
    CHECK(next_retry(policy, {0, false, k_now + seconds{5}}, k_now, 0).at == k_now + seconds{5});
  }
}

TEST_CASE("CA failover rotates once per MDRetryFailover errors", "[core][backoff]") {
  const std::vector<std::string> two = {"https://a/dir", "https://b/dir"};
  const std::vector<std::string> three = {"https://a/dir", "https://b/dir", "https://c/dir"};
  const retry_policy policy; // failover after 13
  struct row {
    const std::vector<std::string>* urls;
    std::string current;
    int errors;
    std::string expected;
    bool switched;
  };
  const std::vector<row> rows = {
      {&two, "", 0, "https://a/dir", false},              // none chosen yet: the first
      {&two, "https://gone/dir", 13, "https://a/dir", false}, // no longer configured: the first
      {&two, "https://a/dir", 0, "https://a/dir", false},
      {&two, "https://a/dir", 12, "https://a/dir", false},
      {&two, "https://a/dir", 13, "https://b/dir", true},
      {&two, "https://b/dir", 14, "https://b/dir", false}, // mod_md would hop again here
      {&two, "https://b/dir", 25, "https://b/dir", false},
      {&two, "https://b/dir", 26, "https://a/dir", true},
      {&three, "https://c/dir", 13, "https://a/dir", true}, // round robin
      {&three, "https://b/dir", 39, "https://c/dir", true},
  };
  for (const auto& r : rows) {
    INFO("current '" << r.current << "', errors " << r.errors);
    const auto c = choose_ca(*r.urls, r.current, r.errors, policy);
    CHECK(c.url == r.expected);
    CHECK(c.switched == r.switched);
    CHECK((*r.urls)[c.index] == c.url);
  }
}

TEST_CASE("CA failover needs more than one CA", "[core][backoff]") {
  retry_policy policy;
  CHECK(choose_ca({}, "", 13, policy).url.empty());
  const auto one = choose_ca({"https://a/dir"}, "https://a/dir", 13, policy);
  CHECK(one.url == "https://a/dir");
  CHECK_FALSE(one.switched);
  policy.failover_after = 1; // every error switches
  CHECK(choose_ca({"https://a/dir", "https://b/dir"}, "https://a/dir", 1, policy).url == "https://b/dir");
  CHECK(choose_ca({"https://a/dir", "https://b/dir"}, "https://b/dir", 2, policy).url == "https://a/dir");
  policy.failover_after = 0; // invalid: treated as 1, no division by zero
  CHECK(choose_ca({"https://a/dir", "https://b/dir"}, "https://a/dir", 3, policy).switched);
}
