// The renewal state machine (core/renewal_run.hpp): each transition's resulting state, job and
// effects. Tag [core][renewal_run].
#include <catch2/catch.hpp>

#include "core/renewal_run.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

const sys_time k_now = from_unix(1767225600); // Thu, 01 Jan 2026 00:00:00 GMT
const char* const k_renewed_text =
  "The certificate for the managed domain has been renewed successfully and can be used from "
  "Thu, 01 Jan 2026 01:00:00 GMT on.";

renewal_run fresh(bool activate = false) {
  renewal_run r;
  r.md = "a.test";
  r.activate = activate;
  r.renewal.name = "a.test";
  return r;
}

renewal_decision decision(renewal_action a, bool expiring = false) {
  renewal_decision d;
  d.action = a;
  d.reason = "why";
  d.expiring = expiring;
  if (a == renewal_action::wait) d.at = k_now + 2h;
  return d;
}

using lines = std::vector<std::string>;

/// A run checked and decided to renew: renewing, vetting.
renewal_run renewing_run(bool expiring = false) {
  auto r = fresh();
  on_check_due(r);
  on_checked(r, std::nullopt, false, k_now);
  on_decision(r, decision(renewal_action::renew, expiring), k_now + 12h, true, k_now);
  return r;
}

/// A run whose account was granted: ordering the first of its certificates.
renewal_run ordering_run(bool expiring = false) {
  auto r = renewing_run(expiring);
  on_delivered(r, "renewing", true, "", k_now);
  on_account(r, std::nullopt, k_now);
  return r;
}

run_failure rate_limited() {
  run_failure f;
  f.detail = "acme problem urn:ietf:params:acme:error:rateLimited: too many";
  f.last.status = 20013;
  f.last.problem = "urn:ietf:params:acme:error:rateLimited";
  f.last.detail = "too many";
  f.rate_limited = true;
  f.retry_after = k_now + 1h;
  return f;
}

} // namespace

TEST_CASE("renewal run: a check loads, then decides or fetches renewalInfo", "[core][renewal_run]") {
  auto r = fresh();
  CHECK(describe(on_check_due(r)) == lines{"load"});
  CHECK(state_name(r.state) == std::string("checking"));
  CHECK(on_check_due(r).empty()); // one check at a time
  SECTION("decide") {
    CHECK(describe(on_checked(r, std::nullopt, false, k_now)) == lines{"decide"});
    CHECK(state_name(r.state) == std::string("checking"));
  }
  SECTION("renewalInfo first") {
    CHECK(describe(on_checked(r, std::nullopt, true, k_now)) == lines{"fetch_ari"});
    CHECK(describe(on_ari_answered(r)) == lines{"decide"});
  }
  SECTION("a failed load is looked at again in a minute") {
    CHECK(describe(on_checked(r, std::string("disk on fire"), false, k_now)) ==
          lines{"log check failed: disk on fire", "report failed: disk on fire",
                "arm Thu, 01 Jan 2026 00:01:00 GMT"});
    CHECK(state_name(r.state) == std::string("idle"));
  }
}

TEST_CASE("renewal run: decisions to wait or do nothing", "[core][renewal_run]") {
  auto r = fresh();
  on_check_due(r);
  SECTION("wait, after failed runs") {
    r.renewal.errors = 2;
    result last;
    last.detail = "it failed";
    r.renewal.last = last;
    CHECK(describe(on_decision(r, decision(renewal_action::wait, true), k_now + 12h, true, k_now)) ==
          lines{"log decision: wait, why", "deliver expiring", "arm Thu, 01 Jan 2026 02:00:00 GMT",
                "report failed: it failed"});
  }
  SECTION("wait for ready-at of a finished job: no report") {
    r.renewal.finished = true;
    CHECK(describe(on_decision(r, decision(renewal_action::wait), k_now + 1h, true, k_now)) ==
          lines{"log decision: wait, why", "arm Thu, 01 Jan 2026 01:00:00 GMT"});
  }
  SECTION("none, not driven here") {
    CHECK(describe(on_decision(r, decision(renewal_action::none), k_now + 12h, false, k_now)) ==
          lines{"log decision: none, why", "arm Thu, 01 Jan 2026 12:00:00 GMT", "report skipped: why"});
  }
  SECTION("none, staged") {
    r.renewal.finished = true;
    CHECK(describe(on_decision(r, decision(renewal_action::none), k_now + 12h, true, k_now)) ==
          lines{"log decision: none, why", "arm Thu, 01 Jan 2026 12:00:00 GMT", "report staged"});
  }
  CHECK(state_name(r.state) == std::string("idle"));
  CHECK(r.runs == 0);
}

TEST_CASE("renewal run: a run from the decision to the staged set", "[core][renewal_run]") {
  auto r = fresh();
  r.renewal.finished = true; // an older staged set: a new job
  r.renewal.valid_from = k_now - 1h;
  on_check_due(r);
  CHECK(describe(on_decision(r, decision(renewal_action::renew), k_now + 12h, true, k_now)) ==
        lines{"log decision: renew, why", "drop_staged", "save_job", "deliver renewing"});
  CHECK(r.runs == 1);
  CHECK(r.activity == "renewing");
  CHECK_FALSE(r.renewal.finished);
  CHECK(r.renewal.valid_from == sys_time{});
  CHECK(r.renewal.last_run == k_now);
  REQUIRE(r.renewal.log.size() == 1);
  CHECK(r.renewal.log[0].type == "starting");
  CHECK(is_renewing(r.state));

  CHECK(on_delivered(r, "expiring", true, "", k_now).empty()); // not awaited
  CHECK(describe(on_delivered(r, "renewing", true, "", k_now)) == lines{"ask_account"});
  note_progress(r, "Contacting ACME server for a.test at https://ca.test/dir", k_now);
  CHECK(r.activity == "Contacting ACME server for a.test at https://ca.test/dir");
  CHECK(r.renewal.log[0].detail == "Contacting ACME server for a.test at https://ca.test/dir");
  CHECK(describe(on_account(r, std::nullopt, k_now)) == lines{"order 0"});
  CHECK(describe(on_ordered(r, std::nullopt, 2, sys_time{}, k_now)) == lines{"order 1"});
  CHECK(std::get<run::renewing>(r.state).order == 1);
  CHECK(describe(on_ordered(r, std::nullopt, 2, k_now + 1h, k_now)) == lines{"stage"});
  CHECK(std::get<run::renewing>(r.state).at == run::renewing::step::staging);
  CHECK(r.activity == "staging");
  CHECK(r.renewal.finished);
  CHECK(r.renewal.valid_from == k_now + 1h);
  REQUIRE(r.renewal.last);
  CHECK(r.renewal.last->detail == k_renewed_text);
  CHECK(r.renewal.log[0].type == "finished");
  CHECK(describe(on_staged(r, std::nullopt, k_now)) ==
        lines{"policy_ok", "keep_staged", "release", "save_job", "arm Thu, 01 Jan 2026 00:00:00 GMT"});
  CHECK(state_name(r.state) == std::string("idle"));
  CHECK_FALSE(is_renewing(r.state));
}

TEST_CASE("renewal run: a failed order is planned, hollered, then retried", "[core][renewal_run]") {
  auto r = ordering_run(true);
  r.renewal.errors = 1;
  note_failed_message(r); // a challenge-setup command failed first
  CHECK(describe(on_ordered(r, rate_limited(), 1, sys_time{}, k_now)) ==
        lines{"limit_account Thu, 01 Jan 2026 01:00:00 GMT",
              "log renewal failed: acme problem urn:ietf:params:acme:error:rateLimited: too many",
              "ask_policy counts 2: acme problem urn:ietf:params:acme:error:rateLimited: too many"});
  REQUIRE(r.renewal.last);
  CHECK(r.renewal.last->status == 20013);
  CHECK(r.renewal.last->problem == "urn:ietf:params:acme:error:rateLimited");
  CHECK(r.renewal.last->detail == "too many");
  CHECK(r.renewal.last->activity == "renewing");
  CHECK(r.renewal.log[0].type == "renewal-error");
  CHECK(r.renewal.log[0].status == "urn:ietf:params:acme:error:rateLimited");
  CHECK(r.renewal.log[0].detail == "too many");
  CHECK(r.renewal.errors == 1); // counted when the plan is there
  CHECK(is_renewing(r.state));
  CHECK(on_check_due(r).empty());

  CHECK(describe(on_plan(r, {2, k_now + 2h, "https://two.test/dir", true})) ==
        lines{"release", "use_ca https://two.test/dir switched", "deliver errored"});
  CHECK_FALSE(is_renewing(r.state));
  CHECK(describe(on_delivered(r, "errored", false, "message failed", k_now)) ==
        lines{"save_job", "deliver expiring",
              "report failed: acme problem urn:ietf:params:acme:error:rateLimited: too many",
              "arm Thu, 01 Jan 2026 02:00:00 GMT"});
  CHECK(state_name(r.state) == std::string("idle"));
  CHECK(r.renewal.errors == 2);
  CHECK(r.renewal.next_run == k_now + 2h);
}

TEST_CASE("renewal run: the renewing veto keeps the handler's result as last", "[core][renewal_run]") {
  auto r = renewing_run();
  result handler;
  handler.status = 1;
  handler.detail = "MDMessageCmd /bin/msg failed with exit code 1.";
  r.renewal.last = handler;
  CHECK(describe(on_delivered(r, "renewing", false, "vetoed", k_now)) ==
        lines{"log renewal failed: a.test: event-handler for 'renewing' returned 1, preventing "
              "renewal to proceed.",
              "ask_policy counts 1: a.test: event-handler for 'renewing' returned 1, preventing "
              "renewal to proceed."});
  CHECK(r.renewal.last == handler);
  CHECK(r.renewal.log[0].type == "renewal-error");
  CHECK(r.renewal.log[0].detail ==
        "a.test: event-handler for 'renewing' returned 1, preventing renewal to proceed.");
}

TEST_CASE("renewal run: failures of the account and of staging", "[core][renewal_run]") {
  auto r = renewing_run();
  on_delivered(r, "renewing", true, "", k_now);
  SECTION("account, and the policy does not answer") {
    CHECK(describe(on_account(r, plain_failure("CA down"), k_now)) ==
          lines{"log renewal failed: CA down", "ask_policy counts 1: CA down"});
    CHECK(r.renewal.last->status == 20014);
    CHECK(r.renewal.last->detail == "CA down");
    CHECK(describe(on_policy_unavailable(r, "down", k_now + 12h)) ==
          lines{"log retry policy unavailable: down", "report failed: CA down",
                "arm Thu, 01 Jan 2026 12:00:00 GMT"});
    CHECK(state_name(r.state) == std::string("idle"));
    return;
  }
  SECTION("no CA") {
    CHECK(describe(on_failed(r, plain_failure("no CA configured"), k_now)) ==
          lines{"log renewal failed: no CA configured", "ask_policy counts 1: no CA configured"});
  }
  SECTION("staging") {
    on_account(r, std::nullopt, k_now);
    on_ordered(r, std::nullopt, 1, k_now, k_now);
    CHECK(r.renewal.finished);
    CHECK(describe(on_staged(r, plain_failure("staging failed: disk full"), k_now)) ==
          lines{"log renewal failed: staging failed: disk full",
                "ask_policy counts 1: staging failed: disk full"});
    CHECK_FALSE(r.renewal.finished);
    CHECK(r.renewal.last->activity == "staging");
  }
  CHECK(state_name(r.state) == std::string("failing"));
}

TEST_CASE("renewal run: the renewed notification and activation", "[core][renewal_run]") {
  auto r = fresh(true);
  r.renewal.finished = true;
  on_check_due(r);
  CHECK(describe(on_decision(r, decision(renewal_action::notify_renewed), k_now + 12h, true, k_now)) ==
        lines{"log decision: notify-renewed, why", "deliver renewed"});
  CHECK(r.activity == "notifying");
  SECTION("activated") {
    CHECK(describe(on_delivered(r, "renewed", true, "", k_now)) ==
          lines{"save_job",
                "log The Managed Domain a.test has been setup and changes will be activated on "
                "next (graceful) server restart.",
                "activate"});
    CHECK(r.renewal.notified);
    CHECK(r.renewal.notified_renewed);
    CHECK(r.activity == "activating");
    CHECK(describe(on_activated(r, std::nullopt, k_now)) ==
          lines{"log activated the staged certificates", "forget_ari", "load"});
    CHECK(state_name(r.state) == std::string("checking"));
    job fresh_job;
    fresh_job.name = "a.test";
    CHECK(r.renewal == fresh_job);
  }
  SECTION("activation failed") {
    on_delivered(r, "renewed", true, "", k_now);
    CHECK(describe(on_activated(r, plain_failure("activation failed: busy"), k_now)) ==
          lines{"log renewal failed: activation failed: busy",
                "ask_policy counts 1: activation failed: busy"});
    CHECK(r.renewal.last->activity == "activating");
    CHECK_FALSE(is_renewing(r.state));
  }
  SECTION("a failed notification is retried without failing the run") {
    CHECK(describe(on_delivered(r, "renewed", false, "exit code 3", k_now)) ==
          lines{"log renewed: notification failed: exit code 3",
                "ask_policy notification counts 1: exit code 3"});
    CHECK(r.renewal.log.empty());
    CHECK(describe(on_plan(r, {1, k_now + 30s, "", false})) ==
          lines{"save_job", "report failed: exit code 3", "arm Thu, 01 Jan 2026 00:00:30 GMT"});
    CHECK(r.renewal.errors == 1);
    CHECK(r.renewal.next_run == k_now + 30s);
    CHECK(r.renewal.finished);
    CHECK(state_name(r.state) == std::string("idle"));
  }
}

TEST_CASE("renewal run: MDActivation live checks the staged set, then serves it", "[core][renewal_run]") {
  auto r = fresh(false);
  r.live = true;
  r.renewal.finished = true;
  on_check_due(r);
  on_decision(r, decision(renewal_action::notify_renewed), k_now + 12h, true, k_now);
  CHECK(describe(on_delivered(r, "renewed", true, "", k_now)) ==
        lines{"save_job",
              "log The Managed Domain a.test has been setup and changes will be activated on "
              "next (graceful) server restart.",
              "go_live"});
  CHECK(state_name(r.state) == std::string("activating"));
  CHECK(r.activity == "activating");
  SECTION("served") {
    CHECK(describe(on_went_live(r, std::nullopt, k_now + 1s)) ==
          lines{"save_job", "log serving the renewed certificates without a restart", "forget_ari", "load"});
    CHECK(r.renewal.live_since == k_now + 1s);
    CHECK(r.renewal.finished);
    CHECK(r.renewal.notified_renewed);
    CHECK(state_name(r.state) == std::string("checking"));
  }
  SECTION("refused: the set is discarded, the old certificates stay, the policy plans the next run") {
    CHECK(describe(on_went_live(r, plain_failure("key mismatch"), k_now)) ==
          lines{"discard_staged", "log renewal failed: key mismatch", "ask_policy counts 1: key mismatch"});
    CHECK(r.renewal.live_since == sys_time{});
    CHECK_FALSE(r.renewal.finished);
    CHECK_FALSE(r.renewal.notified_renewed);
    CHECK(r.renewal.errors == 0);
    CHECK(r.renewal.last->activity == "activating");
    CHECK(describe(on_plan(r, {1, k_now + 30s, "", false})) == lines{"release", "use_ca ", "deliver errored"});
  }
  SECTION("an announced set not served yet is activated by the decision") {
    r = fresh(false);
    r.live = true;
    on_check_due(r);
    CHECK(describe(on_decision(r, decision(renewal_action::activate_live), k_now + 12h, true, k_now)) ==
          lines{"log decision: activate-live, why", "go_live"});
    CHECK(state_name(r.state) == std::string("activating"));
  }
  SECTION("an answer outside activating is ignored") {
    r = fresh(false);
    CHECK(on_went_live(r, std::nullopt, k_now).empty());
  }
}

TEST_CASE("renewal run: not activating here, the staged set is reported", "[core][renewal_run]") {
  auto r = fresh(false);
  on_check_due(r);
  on_decision(r, decision(renewal_action::notify_renewed), k_now + 12h, true, k_now);
  auto out = describe(on_delivered(r, "renewed", true, "", k_now));
  REQUIRE(out.size() == 4);
  CHECK(out[2] == "report staged");
  CHECK(out[3] == "arm_regular");
  CHECK(state_name(r.state) == std::string("idle"));
}

TEST_CASE("renewal run: answers a state does not wait for are ignored", "[core][renewal_run]") {
  auto r = fresh();
  CHECK(on_account(r, std::nullopt, k_now).empty());
  CHECK(on_ordered(r, std::nullopt, 1, k_now, k_now).empty());
  CHECK(on_staged(r, std::nullopt, k_now).empty());
  CHECK(on_activated(r, std::nullopt, k_now).empty());
  CHECK(on_plan(r, {1, k_now, "", false}).empty());
  CHECK(on_delivered(r, "renewed", true, "", k_now).empty());
  CHECK(on_policy_unavailable(r, "x", k_now).empty());
  CHECK(state_name(r.state) == std::string("idle"));
  CHECK(r.renewal.log.empty());
}
