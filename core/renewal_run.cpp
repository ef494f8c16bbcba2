#include "core/renewal_run.hpp"

#include <chrono>
#include <type_traits>
#include <utility>

#include "core/events.hpp"
#include "core/overloaded.hpp"

namespace mda {

namespace {

const char* outcome_text(md_outcome o) {
  switch (o) {
    case md_outcome::complete: return "complete";
    case md_outcome::staged: return "staged";
    case md_outcome::failed: return "failed";
    case md_outcome::skipped: return "skipped";
  }
  return "?";
}

/// A step failed: "last" and a renewal-error entry, the account limited when the CA gave a
/// Retry-After, the policy asked for the plan.
run_effects fail(renewal_run& r, run_failure f, sys_time now, bool keep_last = false) {
  run::failing next;
  int counts = 1;
  if (auto* s = std::get_if<run::renewing>(&r.state)) {
    counts += s->failed_messages;
    next.expiring = s->expiring;
  } else {
    next.in_run = false;
  }
  f.last.activity = r.activity;
  r.renewal.fail_run(f.last, now, keep_last);
  run_effects out;
  if (f.retry_after) out.push_back(run::limit_account{*f.retry_after});
  out.push_back(run::log{"renewal failed: " + f.detail});
  out.push_back(run::ask_policy{f, counts, false});
  next.failure = std::move(f);
  r.state = std::move(next);
  return out;
}

run::renewing* renewing_at(renewal_run& r, run::renewing::step at) {
  auto* s = std::get_if<run::renewing>(&r.state);
  return s && s->at == at ? s : nullptr;
}

} // namespace

const char* state_name(const run_state& s) noexcept {
  static const char* const names[] = {"idle", "checking", "renewing", "notifying", "activating",
                                      "failing"};
  return names[s.index()];
}

std::string describe(const run_effect& e) {
  return std::visit(
    overloaded{
      [](const run::load&) -> std::string { return "load"; },
      [](const run::fetch_ari&) -> std::string { return "fetch_ari"; },
      [](const run::decide&) -> std::string { return "decide"; },
      [](const run::deliver& d) { return "deliver " + d.reason; },
      [](const run::ask_account&) -> std::string { return "ask_account"; },
      [](const run::order& o) { return "order " + std::to_string(o.index); },
      [](const run::stage&) -> std::string { return "stage"; },
      [](const run::activate&) -> std::string { return "activate"; },
      [](const run::go_live&) -> std::string { return "go_live"; },
      [](const run::ask_policy& p) {
        return std::string(p.notification ? "ask_policy notification" : "ask_policy") +
               " counts " + std::to_string(p.counts) + ": " + p.failure.detail;
      },
      [](const run::limit_account& l) { return "limit_account " + format_rfc822(l.until); },
      [](const run::use_ca& u) { return "use_ca " + u.url + (u.switched ? " switched" : ""); },
      [](const run::drop_staged&) -> std::string { return "drop_staged"; },
      [](const run::keep_staged&) -> std::string { return "keep_staged"; },
      [](const run::discard_staged&) -> std::string { return "discard_staged"; },
      [](const run::policy_ok&) -> std::string { return "policy_ok"; },
      [](const run::release&) -> std::string { return "release"; },
      [](const run::forget_ari&) -> std::string { return "forget_ari"; },
      [](const run::save_job&) -> std::string { return "save_job"; },
      [](const run::report& p) {
        return std::string("report ") + outcome_text(p.outcome) +
               (p.detail.empty() ? "" : ": " + p.detail);
      },
      [](const run::arm& a) { return "arm " + format_rfc822(a.at); },
      [](const run::arm_regular&) -> std::string { return "arm_regular"; },
      [](const run::log& l) { return "log " + l.line; },
    },
    e);
}

std::vector<std::string> describe(const run_effects& es) {
  std::vector<std::string> out;
  for (const auto& e : es) out.push_back(describe(e));
  return out;
}

bool is_renewing(const run_state& s) {
  if (std::holds_alternative<run::renewing>(s)) return true;
  const auto* f = std::get_if<run::failing>(&s);
  return f && f->in_run && f->at == run::failing::step::planning;
}

run_effects on_check_due(renewal_run& r) {
  if (!std::holds_alternative<run::idle>(r.state)) return {};
  r.state = run::checking{};
  return {run::load{}};
}

run_effects on_checked(renewal_run& r, const std::optional<std::string>& error, bool ari_due,
                       sys_time now) {
  if (!std::holds_alternative<run::checking>(r.state)) return {};
  if (error) {
    r.state = run::idle{};
    return {run::log{"check failed: " + *error}, run::report{md_outcome::failed, *error},
            run::arm{now + std::chrono::minutes(1)}};
  }
  if (ari_due) return {run::fetch_ari{}};
  return {run::decide{}};
}

run_effects on_ari_answered(renewal_run& r) {
  if (!std::holds_alternative<run::checking>(r.state)) return {};
  return {run::decide{}};
}

run_effects on_decision(renewal_run& r, const renewal_decision& d, sys_time regular,
                        bool driven, sys_time now) {
  if (!std::holds_alternative<run::checking>(r.state)) return {};
  run_effects out{run::log{std::string("decision: ") + to_string(d.action) + ", " + d.reason}};
  // "expiring" as mod_md's drive job raises it: after a renewal attempt that failed, never
  // before one that then succeeds; at once when no attempt is due.
  const bool after_run = d.expiring && d.action == renewal_action::renew;
  if (d.expiring && !after_run) out.push_back(run::deliver{event_reason::expiring});
  job& j = r.renewal;
  // a staged set waits for activation, unless it is served live already
  const bool staged = j.finished && j.live_since == sys_time{};
  switch (d.action) {
    case renewal_action::renew:
      r.state = run::renewing{run::renewing::step::vetting, 0, 0, after_run};
      ++r.runs;
      if (j.start_run(now)) out.push_back(run::drop_staged{});
      r.activity = "renewing";
      out.push_back(run::save_job{});
      out.push_back(run::deliver{event_reason::renewing});
      break;
    case renewal_action::notify_renewed:
      r.state = run::notifying{};
      r.activity = "notifying";
      out.push_back(run::deliver{event_reason::renewed});
      break;
    case renewal_action::activate_live:
      r.state = run::activating{};
      r.activity = "activating";
      out.push_back(run::go_live{});
      break;
    case renewal_action::wait:
      r.state = run::idle{};
      out.push_back(run::arm{next_look(d, regular)});
      if (j.errors > 0)
        out.push_back(run::report{md_outcome::failed, j.last ? j.last->detail : ""});
      else if (!staged)
        out.push_back(run::report{md_outcome::complete, ""});
      break;
    case renewal_action::none:
      r.state = run::idle{};
      out.push_back(run::arm{regular});
      if (!driven)
        out.push_back(run::report{md_outcome::skipped, d.reason});
      else
        out.push_back(run::report{staged ? md_outcome::staged : md_outcome::complete, ""});
      break;
  }
  return out;
}

run_effects on_delivered(renewal_run& r, const std::string& reason, bool ok,
                         const std::string& detail, sys_time now) {
  if (auto* s = renewing_at(r, run::renewing::step::vetting); s && reason == event_reason::renewing) {
    if (ok) {
      s->at = run::renewing::step::account;
      return {run::ask_account{}};
    }
    // the handler's failure (record_event made it "last") stays the job's last result, as
    // mod_md saves the result its handler wrote; the veto itself is the log's renewal-error
    const int code = r.renewal.last ? r.renewal.last->status : k_apr_egeneral;
    return fail(r, plain_failure(renewing_vetoed_text(r.md, code)), now, true);
  }
  if (auto* s = std::get_if<run::notifying>(&r.state);
      s && !s->retrying && reason == event_reason::renewed) {
    if (!ok) {
      // mod_md's md_job_notify: the job keeps the command's result as "last" and counts an
      // error; the staged set stays (no renewal-error, no "errored", no CA switch)
      s->retrying = true;
      s->detail = detail;
      return {run::log{"renewed: notification failed: " + detail},
              run::ask_policy{plain_failure(detail), 1, true}};
    }
    mark_notified(r.renewal, event_reason::renewed);
    run_effects out{run::save_job{}, run::log{renewed_notice_text(r.md)}};
    if (r.activate) {
      r.state = run::activating{};
      r.activity = "activating";
      out.push_back(run::activate{}); // after the job.json writes: activation purges staging
    } else if (r.live) {
      r.state = run::activating{};
      r.activity = "activating";
      out.push_back(run::go_live{});
    } else {
      r.state = run::idle{};
      out.push_back(run::report{md_outcome::staged, ""});
      out.push_back(run::arm_regular{});
    }
    return out;
  }
  if (auto* s = std::get_if<run::failing>(&r.state);
      s && s->at == run::failing::step::erroring && reason == event_reason::errored) {
    run::failing f = std::move(*s);
    r.state = run::idle{};
    r.renewal.plan_retry(f.errors, f.retry_at);
    run_effects out{run::save_job{}};
    if (f.expiring) out.push_back(run::deliver{event_reason::expiring});
    out.push_back(run::report{md_outcome::failed, f.failure.detail});
    out.push_back(run::arm{f.retry_at});
    return out;
  }
  return {};
}

run_effects on_account(renewal_run& r, std::optional<run_failure> failure, sys_time now) {
  auto* s = renewing_at(r, run::renewing::step::account);
  if (!s) return {};
  if (failure) return fail(r, std::move(*failure), now);
  s->at = run::renewing::step::ordering;
  s->order = 0;
  return {run::order{0}};
}

run_effects on_ordered(renewal_run& r, std::optional<run_failure> failure, std::size_t specs,
                       sys_time ready_at, sys_time now) {
  auto* s = renewing_at(r, run::renewing::step::ordering);
  if (!s) return {};
  if (failure) return fail(r, std::move(*failure), now);
  if (++s->order < specs) return {run::order{s->order}};
  s->at = run::renewing::step::staging;
  r.renewal.finish_run(ready_at, now);
  r.activity = "staging";
  return {run::stage{}};
}

run_effects on_staged(renewal_run& r, std::optional<run_failure> failure, sys_time now) {
  if (!renewing_at(r, run::renewing::step::staging)) return {};
  if (failure) {
    r.renewal.staging_failed();
    return fail(r, std::move(*failure), now);
  }
  r.state = run::idle{};
  // look again at once: ready-at not reached -> a timer; reached -> "renewed"
  return {run::policy_ok{}, run::keep_staged{}, run::release{}, run::save_job{}, run::arm{now}};
}

run_effects on_activated(renewal_run& r, std::optional<run_failure> failure, sys_time now) {
  if (!std::holds_alternative<run::activating>(r.state)) return {};
  if (failure) return fail(r, std::move(*failure), now);
  r.renewal.reset_after_activation();
  r.state = run::checking{};
  return {run::log{"activated the staged certificates"}, run::forget_ari{}, run::load{}};
}

run_effects on_went_live(renewal_run& r, std::optional<run_failure> failure, sys_time now) {
  if (!std::holds_alternative<run::activating>(r.state)) return {};
  if (failure) {
    r.renewal.discard_staged();
    run_effects out{run::discard_staged{}};
    for (auto& e : fail(r, std::move(*failure), now)) out.push_back(std::move(e));
    return out;
  }
  r.renewal.went_live(now);
  r.state = run::checking{};
  return {run::save_job{}, run::log{"serving the renewed certificates without a restart"},
          run::forget_ari{}, run::load{}};
}

run_effects on_failed(renewal_run& r, run_failure f, sys_time now) {
  if (!std::holds_alternative<run::renewing>(r.state)) return {};
  return fail(r, std::move(f), now);
}

run_effects on_plan(renewal_run& r, const planned_retry& p) {
  if (auto* s = std::get_if<run::failing>(&r.state); s && s->at == run::failing::step::planning) {
    // mod_md hollers "errored" before it saves the job: the error count shows (md-status,
    // job.json) with the event's outcome, a failed MDMessageCmd being the last result (its
    // suite, 901_002). Meanwhile no other run starts.
    s->at = run::failing::step::erroring;
    s->errors = p.errors;
    s->retry_at = p.at;
    return {run::release{}, run::use_ca{p.ca_url, p.ca_switched},
            run::deliver{event_reason::errored}};
  }
  if (auto* s = std::get_if<run::notifying>(&r.state); s && s->retrying) {
    std::string detail = std::move(s->detail);
    r.state = run::idle{};
    r.renewal.plan_retry(p.errors, p.at);
    return {run::save_job{}, run::report{md_outcome::failed, detail}, run::arm{p.at}};
  }
  return {};
}

run_effects on_policy_unavailable(renewal_run& r, const std::string& error, sys_time at) {
  std::string detail;
  if (auto* s = std::get_if<run::failing>(&r.state); s && s->at == run::failing::step::planning)
    detail = s->failure.detail;
  else if (auto* n = std::get_if<run::notifying>(&r.state); n && n->retrying)
    detail = n->detail;
  else
    return {};
  r.state = run::idle{};
  return {run::log{"retry policy unavailable: " + error}, run::report{md_outcome::failed, detail},
          run::arm{at}};
}

void note_progress(renewal_run& r, const std::string& activity, sys_time now) {
  r.activity = activity;
  result p;
  p.activity = activity;
  r.renewal.log_progress(now, p);
}

void note_failed_message(renewal_run& r) {
  if (auto* s = std::get_if<run::renewing>(&r.state)) ++s->failed_messages;
}

} // namespace mda
