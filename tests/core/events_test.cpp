#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "core/events.hpp"

using namespace mda;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using strings = std::vector<std::string>;

namespace {

const sys_time k_now = from_unix(1767225600); // Thu, 01 Jan 2026 00:00:00 GMT

} // namespace

TEST_CASE("event reasons: raise or holler, and their rate limits (notify_rates)", "[core][events]") {
  struct row {
    std::string reason;
    event_delivery delivery;
    std::chrono::milliseconds limit;
  };
  const std::vector<row> rows = {
      {"renewing", event_delivery::raise, hours{1}},
      {"renewed", event_delivery::raise, hours{24}},
      {"expiring", event_delivery::raise, hours{24}},
      {"challenge-setup:http-01:a.example", event_delivery::raise, hours{0}},
      {"installed", event_delivery::holler, hours{24}},
      {"errored", event_delivery::holler, hours{1}},
      {"ocsp-renewed", event_delivery::holler, hours{24}},
      {"ocsp-errored", event_delivery::holler, hours{1}},
      {"something-else", event_delivery::holler, hours{0}},
  };
  for (const auto& r : rows) {
    INFO(r.reason);
    CHECK(delivery_of(r.reason) == r.delivery);
    CHECK(can_veto(r.reason) == (r.delivery == event_delivery::raise));
    CHECK(rate_limit_of(r.reason) == r.limit);
  }
  CHECK(challenge_setup_reason("tls-alpn-01", "c.example.test") == "challenge-setup:tls-alpn-01:c.example.test");
  CHECK(message_entry_type("renewed") == "message-renewed");
}

TEST_CASE("rate limits look at the newest message-<reason> entry", "[core][events]") {
  job j;
  CHECK_FALSE(rate_limited(j, "renewing", k_now));
  j.log_message(k_now - hours{2}, "renewing");
  j.log_message(k_now - minutes{59}, "errored");
  j.log_message(k_now - minutes{30}, "renewing"); // newest entry first
  CHECK(rate_limited(j, "renewing", k_now));
  CHECK(rate_limited(j, "renewing", k_now + minutes{29} + seconds{59}));
  CHECK_FALSE(rate_limited(j, "renewing", k_now + minutes{30}));
  CHECK(rate_limited(j, "errored", k_now));
  CHECK_FALSE(rate_limited(j, "errored", k_now + minutes{1}));
  CHECK_FALSE(rate_limited(j, "expiring", k_now)); // never sent
  j.log_message(k_now + hours{5}, "expiring");     // a clock that went back: counts as just now
  CHECK(rate_limited(j, "expiring", k_now));
  j.log_message(k_now, "challenge-setup:http-01:a.example");
  CHECK_FALSE(rate_limited(j, "challenge-setup:http-01:a.example", k_now));
}

TEST_CASE("command lines split as apr_tokenize_to_argv does", "[core][events]") {
  struct row {
    std::string line;
    strings argv;
  };
  const std::vector<row> rows = {
      {"", {}},
      {"   \t ", {}},
      {"/bin/msg.sh", {"/bin/msg.sh"}},
      {"  /bin/msg.sh   extra-arg\tmore  ", {"/bin/msg.sh", "extra-arg", "more"}},
      {R"(/bin/x "two words" 'single quoted' end)", {"/bin/x", "two words", "single quoted", "end"}},
      {R"(/bin/x "it's" 'say "hi"')", {"/bin/x", "it's", "say \"hi\""}},
      {R"(/bin/x a\ b c\"d)", {"/bin/x", "a b", "c\"d"}},
      {R"(/bin/x "a \" b")", {"/bin/x", "a \" b"}},
      {R"(/bin/x a\\b a\b)", {"/bin/x", "a\\b", "ab"}},
      {R"(/bin/x a\\ b)", {"/bin/x", "a\\ b"}}, // APR's quirk: "\\ " keeps the blank
      {R"(/bin/x "" '')", {"/bin/x", "", ""}},
      {R"(/bin/x "unclosed rest)", {"/bin/x", "unclosed rest"}},
      {R"("/opt/my dir/run" x)", {"/opt/my dir/run", "x"}},
      {R"(/bin/x "ab"cd)", {"/bin/x", "ab", "cd"}},
  };
  for (const auto& r : rows) {
    INFO(r.line);
    CHECK(tokenize_command_line(r.line) == r.argv);
  }
}

TEST_CASE("MDNotifyCmd and MDMessageCmd argument lists", "[core][events]") {
  CHECK(notify_argv("/usr/bin/notify --flag", "a.example") == strings{"/usr/bin/notify", "--flag", "a.example"});
  CHECK(message_argv("/srv/msg.sh extra-arg", "renewed", "c.example.test") ==
        strings{"/srv/msg.sh", "extra-arg", "renewed", "c.example.test"});
  CHECK(message_argv("/srv/msg.sh", "challenge-setup:tls-alpn-01:c.example.test", "c.example.test") ==
        strings{"/srv/msg.sh", "challenge-setup:tls-alpn-01:c.example.test", "c.example.test"});

  const event_commands both{"/usr/bin/notify", "/srv/msg.sh extra-arg"};
  job j;
  auto plan = plan_event(both, "renewed", "a.example", j, k_now);
  CHECK_FALSE(plan.rate_limited);
  CHECK(plan.notify_argv == strings{"/usr/bin/notify", "a.example"});
  CHECK(plan.message_argv == strings{"/srv/msg.sh", "extra-arg", "renewed", "a.example"});
  plan = plan_event(both, "expiring", "a.example", j, k_now);
  CHECK(plan.notify_argv.empty()); // MDNotifyCmd is for "renewed" only
  CHECK(plan.message_argv == strings{"/srv/msg.sh", "extra-arg", "expiring", "a.example"});
  plan = plan_event({}, "renewed", "a.example", j, k_now);
  CHECK(plan.notify_argv.empty());
  CHECK(plan.message_argv.empty());
  j.log_message(k_now - hours{23}, "renewed");
  plan = plan_event(both, "renewed", "a.example", j, k_now);
  CHECK(plan.rate_limited);
  CHECK(plan.notify_argv.empty());
  CHECK(plan.message_argv.empty());
}

TEST_CASE("failed commands give mod_md's results and job entries", "[core][events]") {
  const result n = notify_failure("/usr/bin/notify --flag", 3);
  CHECK(n.status == 20014);
  CHECK(n.problem == "urn:org:apache:httpd:log:AH10108:");
  CHECK(n.detail == "MDNotifyCmd /usr/bin/notify --flag failed with exit code 3.");
  const result m = message_failure("/srv/msg.sh", 1, 2);
  CHECK(m.status == 2);
  CHECK(m.problem == "urn:org:apache:httpd:log:AH10109:");
  CHECK(m.detail == "MDMessageCmd /srv/msg.sh failed with exit code 1.");

  job j;
  j.log_notify_error(k_now, n);
  REQUIRE(j.last_entry_of("notify-error"));
  CHECK(j.last_entry_of("notify-error")->status == "urn:org:apache:httpd:log:AH10108:");
  mark_notified(j, "expiring");
  CHECK(j.notified);
  CHECK_FALSE(j.notified_renewed);
  mark_notified(j, "renewed");
  CHECK(j.notified_renewed);

  CHECK(renewing_vetoed_text("a.example", 20014) ==
        "a.example: event-handler for 'renewing' returned 20014, preventing renewal to proceed.");
  CHECK(renewed_notice_text("a.example") ==
        "The Managed Domain a.example has been setup and changes will be activated on next (graceful) "
        "server restart.");
}
