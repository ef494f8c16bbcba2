// The domain actor: check, decide, timers, failures, events (see domain.hpp); the renewal
// run itself is in domain_run.cpp.
#include "actors/domain.hpp"

#include <algorithm>
#include <utility>

#include <caf/send.hpp>

#include "actors/domain_detail.hpp"
#include "status/md_view.hpp"
#include "status/snapshot.hpp"

namespace mda {

using namespace domain_detail;

namespace domain_detail {

sys_time now(domain_pointer self) { return self->state.cfg.env.clock->now(); }

void log(domain_pointer self, const std::string& line) {
  if (self->state.cfg.log) self->state.cfg.log(self->state.cfg.md.name + ": " + line);
}

void arm(domain_pointer self, sys_time at) {
  auto& st = self->state;
  st.next_run = at;
  auto d = std::chrono::duration_cast<caf::timespan>(at - now(self));
  if (d <= caf::timespan{0})
    self->send(self, wake_atom_v, ++st.timer_gen);
  else
    self->delayed_send(self, d, wake_atom_v, ++st.timer_gen);
  publish(self);
}

void publish(domain_pointer self) {
  auto& st = self->state;
  if (!st.cfg.status || st.publish_pending || !st.checked) return;
  // coalesced: the snapshot is made when the message comes back, after the steps queued now
  st.publish_pending = true;
  self->send(self, publish_atom_v);
}

void persist_job(domain_pointer self) {
  auto& st = self->state;
  publish(self);
  if (st.job_writing) {
    st.job_dirty = true;
    return;
  }
  st.job_writing = true;
  auto backend = st.cfg.backend;
  auto name = st.cfg.md.name;
  auto j = st.renewal;
  run_job<status>(self, st.cfg.io_pool, "save job.json " + name,
                  [backend, name, j] { return backend->save_job(name, j); },
                  [self](status s) {
                    auto& st = self->state;
                    st.job_writing = false;
                    if (!s) log(self, "writing job.json failed: " + s.error().message);
                    if (st.job_dirty) {
                      st.job_dirty = false;
                      persist_job(self);
                      return;
                    }
                    auto waiting = std::move(st.on_job_saved);
                    st.on_job_saved.clear();
                    for (auto& fn : waiting) fn();
                  });
}

void when_job_saved(domain_pointer self, std::function<void()> fn) {
  if (self->state.job_writing)
    self->state.on_job_saved.push_back(std::move(fn));
  else
    fn();
}

void report(domain_pointer self, md_outcome o, std::string detail) {
  auto& st = self->state;
  md_report r{st.cfg.md.name, o, std::move(detail)};
  st.last_report = r;
  if (st.cfg.observer) st.cfg.observer(r);
}

namespace {

/// The retry policy did not answer: failed, looked at again after the check interval.
void policy_unavailable(domain_pointer self, const caf::error& e, const std::string& detail) {
  auto& st = self->state;
  st.phase = domain_phase::idle;
  log(self, "retry policy unavailable: " + error_text(e));
  report(self, md_outcome::failed, detail);
  arm(self, now(self) + st.cfg.settings.check_interval);
}

} // namespace

void fail_run(domain_pointer self, std::string detail, std::optional<acme::problem> prob) {
  auto& st = self->state;
  auto t = now(self);
  // job.json's "last" as mod_md's result: the CA's problem type and its own detail, the APR
  // status mod_md gives that failure (so "status-description" reads e.g. "Connection refused")
  result r;
  r.status = prob ? acme::result_status(*prob) : k_apr_egeneral;
  r.problem = prob ? prob->type : "";
  r.detail = prob && !prob->type.empty() && !prob->detail.empty() ? prob->detail : detail;
  r.activity = st.activity;
  st.renewal.last = r;
  st.renewal.log_renewal_error(t, r);
  acme::classification c;
  if (prob) c = acme::classify(*prob);
  md_failure f;
  f.md = st.cfg.md.name;
  f.ca_urls = st.cfg.md.ca.urls;
  f.ca_url = st.ca_url;
  f.input_related = c.input_related;
  f.counts = 1 + std::exchange(st.failed_events, 0);
  if (c.retry_after) f.retry_after = *c.retry_after;
  if ((c.rate_limited || c.retry_after) && c.retry_after) {
    auto a = st.cfg.accounts.find(st.ca_url);
    if (a != st.cfg.accounts.end()) caf::anon_send(a->second, limit_atom_v, *c.retry_after);
  }
  log(self, "renewal failed: " + detail);
  self->request(st.cfg.policy, caf::infinite, failed_atom_v, f)
    .then(
      [self, detail](retry_plan& p) {
        auto& st = self->state;
        st.grant.reset();
        st.certs.clear();
        if (p.ca_switched) {
          st.order.reset();
          auto backend = st.cfg.backend;
          auto name = st.cfg.md.name;
          log(self, "switching to CA " + p.ca_url);
          run_job<status>(self, st.cfg.io_pool, "reset staging " + name,
                          [backend, name] { return backend->reset_staging(name); },
                          [self](status) { persist_job(self); });
        }
        st.ca_url = p.ca_url;
        // mod_md hollers "errored" before it saves the job: the error count shows (md-status,
        // job.json) with the event's outcome, a failed MDMessageCmd being the last result (its
        // suite, 901_002). Meanwhile no other run starts (phase notifying).
        st.phase = domain_phase::notifying;
        deliver_event(self, event_reason::errored, [self, detail, p](bool, std::string) {
          auto& st = self->state;
          st.renewal.errors = p.errors;
          st.renewal.next_run = p.at;
          st.phase = domain_phase::idle;
          persist_job(self);
          if (std::exchange(st.expiring_after_run, false))
            deliver_event(self, event_reason::expiring, [](bool, std::string) {});
          report(self, md_outcome::failed, detail);
          arm(self, p.at);
        });
      },
      [self, detail](caf::error& e) { policy_unavailable(self, e, detail); });
}

namespace {

void activate(domain_pointer self) {
  auto& st = self->state;
  st.phase = domain_phase::activating;
  st.activity = "activating";
  auto backend = st.cfg.backend;
  auto md = st.cfg.md;
  run_job<status>(self, st.cfg.io_pool, "activate " + md.name,
                  [backend, md] { return backend->activate(md); },
                  [self](status s) {
                    auto& st = self->state;
                    st.phase = domain_phase::idle;
                    if (!s) {
                      fail_run(self, "activation failed: " + s.error().message, std::nullopt);
                      return;
                    }
                    log(self, "activated the staged certificates");
                    if (st.cfg.stapling) self->send(st.cfg.stapling, staple_atom_v, st.cfg.md.name);
                    st.ari.reset(); // it was about the certificates just replaced
                    st.ari_next = sys_time{};
                    st.renewal = job{};
                    st.renewal.name = st.cfg.md.name;
                    start_check(self);
                  });
}

/// A "renewed" notification that failed (mod_md's md_job_notify): the job keeps the command's
/// result as "last" (record_event), counts an error and tries again after the retry delay.
/// The staged set stays: no renewal-error entry, no "errored" event, no CA switch (the policy
/// is told of the CA in use only).
void retry_notification(domain_pointer self, const std::string& detail) {
  auto& st = self->state;
  md_failure f;
  f.md = st.cfg.md.name;
  f.ca_url = st.ca_url;
  if (!st.ca_url.empty()) f.ca_urls = {st.ca_url};
  log(self, "renewed: notification failed: " + detail);
  self->request(st.cfg.policy, caf::infinite, failed_atom_v, f)
    .then(
      [self, detail](retry_plan& p) {
        auto& st = self->state;
        st.phase = domain_phase::idle;
        st.renewal.errors = p.errors;
        st.renewal.next_run = p.at;
        persist_job(self);
        report(self, md_outcome::failed, detail);
        arm(self, p.at);
      },
      [self, detail](caf::error& e) { policy_unavailable(self, e, detail); });
}

void notify_renewed(domain_pointer self) {
  auto& st = self->state;
  st.phase = domain_phase::notifying;
  st.activity = "notifying";
  deliver_event(self, event_reason::renewed, [self](bool ok, std::string detail) {
    auto& st = self->state;
    if (!ok) {
      retry_notification(self, detail);
      return;
    }
    mark_notified(st.renewal, event_reason::renewed);
    persist_job(self);
    log(self, renewed_notice_text(st.cfg.md.name));
    if (st.cfg.activate) {
      // activation purges staging: no job.json write may land after it
      when_job_saved(self, [self] { activate(self); });
      return;
    }
    st.phase = domain_phase::idle;
    report(self, md_outcome::staged);
    arm(self, next_check_time(now(self), st.cfg.settings.check_interval,
                              st.cfg.env.random->next_byte()));
  });
}

void decide(domain_pointer self) {
  auto& st = self->state;
  const auto& md = st.cfg.md;
  auto t = now(self);
  auto regular = next_check_time(t, st.cfg.settings.check_interval, st.cfg.env.random->next_byte());
  auto windows = resolve_windows(md, st.cfg.settings.windows);
  if (!windows) {
    log(self, windows.error().message);
    report(self, md_outcome::failed, windows.error().message);
    arm(self, regular);
    return;
  }
  std::vector<bool> revoked;
  for (const auto& l : st.leaves)
    revoked.push_back(l && std::find(st.revoked.begin(), st.revoked.end(),
                                     l->fingerprint_sha256()) != st.revoked.end());
  auto facts = certificate_facts(md, st.leaves, revoked);
  renewal_input in{md, facts, st.renewal, *windows, st.ari};
  auto d = decide_renewal(in, t);
  // renewalInfo is fetched by the check (fetch_ari_then_decide), at st.ari_next
  if (md.ari_renewals && st.ari && st.ari_next > t)
    d.ari_check = st.ari_next;
  else
    d.ari_check.reset();
  log(self, std::string("decision: ") + to_string(d.action) + ", " + d.reason);
  // "expiring" as mod_md's drive job raises it: after a renewal attempt that failed, never
  // before one that then succeeds; at once when no attempt is due.
  st.expiring_after_run = d.expiring && d.action == renewal_action::renew;
  if (d.expiring && !st.expiring_after_run) deliver_event(self, event_reason::expiring, [](bool, std::string) {});
  switch (d.action) {
    case renewal_action::renew: start_renewal(self); return;
    case renewal_action::notify_renewed: notify_renewed(self); return;
    case renewal_action::wait:
      arm(self, next_look(d, regular));
      if (st.renewal.errors > 0)
        report(self, md_outcome::failed, st.renewal.last ? st.renewal.last->detail : "");
      else if (!st.renewal.finished)
        report(self, md_outcome::complete);
      return;
    case renewal_action::none:
      arm(self, regular);
      if (!is_watched(md, windows->used) || !will_renew(md))
        report(self, md_outcome::skipped, d.reason);
      else if (st.renewal.finished)
        report(self, md_outcome::staged);
      else
        report(self, md_outcome::complete);
      return;
  }
}

/// With MDRenewViaARI, certificates in place and the fetch time come: renewalInfo first.
void fetch_ari_then_decide(domain_pointer self) {
  auto& st = self->state;
  const auto& md = st.cfg.md;
  auto t = now(self);
  bool present = std::any_of(st.leaves.begin(), st.leaves.end(), [](const auto& l) { return l.has_value(); });
  std::string ca = !st.ca_url.empty() ? st.ca_url : !md.ca.url.empty() ? md.ca.url
                   : md.ca.urls.empty() ? std::string() : md.ca.urls.front();
  if (!md.ari_renewals || !present || ca.empty() || st.renewal.finished || t < st.ari_next) {
    decide(self);
    return;
  }
  st.phase = domain_phase::checking;
  ++st.ari_fetches;
  auto backend = st.cfg.backend;
  auto leaves = st.leaves;
  run_job<expected<std::optional<ari_hint>>>(
    self, st.cfg.io_pool, "renewalInfo " + md.name,
    [backend, ca, leaves] { return expected<std::optional<ari_hint>>(backend->fetch_ari(ca, leaves)); },
    [self](expected<std::optional<ari_hint>> h) {
      auto& st = self->state;
      st.phase = domain_phase::idle;
      auto t = now(self);
      sys_time newest{};
      for (const auto& l : st.leaves)
        if (l) newest = std::max(newest, l->not_before());
      if (h && *h && (*h)->at <= newest) {
        // A window that ended before the certificate began is about an older one: renewing
        // on it would renew again and again.
        log(self, "renewalInfo: ignoring a renewal time before the certificate's notBefore");
        *h = std::nullopt;
      }
      if (h && *h) {
        st.ari = **h;
        st.ari_next = std::max((*h)->next_check, t + std::chrono::minutes(1));
        log(self, "renewalInfo: renew at " + format_rfc822((*h)->at));
      } else {
        st.ari_next = t + std::chrono::hours(6);
      }
      decide(self);
    });
}

} // namespace

void start_check(domain_pointer self) {
  auto& st = self->state;
  if (st.phase != domain_phase::idle) return;
  st.phase = domain_phase::checking;
  auto backend = st.cfg.backend;
  auto md = st.cfg.md;
  run_job<expected<domain_facts>>(
    self, st.cfg.io_pool, "check " + md.name, [backend, md] { return backend->load(md); },
    [self](expected<domain_facts> f) {
      auto& st = self->state;
      st.phase = domain_phase::idle;
      st.checked = true;
      if (!f) {
        log(self, "check failed: " + f.error().message);
        report(self, md_outcome::failed, f.error().message);
        arm(self, now(self) + std::chrono::minutes(1));
        return;
      }
      for (const auto& p : f->problems) log(self, "starting the job over: " + p);
      st.leaves = std::move(f->leaves);
      st.staged = std::move(f->staged);
      if (!st.seeded) {
        // job.json is read once; afterwards the actor's copy is newer than the file (whose
        // writes are coalesced and may still be in flight).
        st.renewal = std::move(f->renewal);
        st.renewal.name = st.cfg.md.name;
        st.order = std::move(f->order);
        if (st.ca_url.empty()) st.ca_url = f->staged_ca_url;
        st.seeded = true;
        caf::anon_send(st.cfg.policy, caf::put_atom_v,
                       md_policy_state{st.cfg.md.name, st.renewal.errors, st.ca_url});
      }
      fetch_ari_then_decide(self);
    });
}

} // namespace domain_detail

namespace {

/// Whether staging/<md>/job.json exists as far as the actor knows: a run started, ended or
/// failed since the last activation (a fresh job is what activation and a clean store leave).
bool has_staging_job(const domain_state& st) {
  const job& j = st.renewal;
  return st.phase == domain_phase::renewing || j.finished || j.errors > 0 || !j.log.empty() ||
         j.last_run != sys_time{} || j.last.has_value();
}

} // namespace

md_snapshot make_snapshot(const domain_state& st) {
  // next_run: the next check; renew-at is where the renew window starts
  return describe_md({st.cfg.md, st.cfg.settings.windows, st.leaves, st.staged,
                      has_staging_job(st) ? &st.renewal : nullptr,
                      st.phase == domain_phase::renewing, st.ca_url, st.next_run,
                      st.cfg.env.clock ? st.cfg.env.clock->now() : sys_time{}});
}

domain_actor::behavior_type domain_behavior(domain_pointer self, domain_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.renewal.name = self->state.cfg.md.name;
  auto start = self->state.cfg.env.clock->now();
  arm(self, initial_check_time(start, self->state.cfg.settings.initial_delay));
  return {
    [self](check_atom) { start_check(self); },
    [self](revoked_atom, const std::string& fingerprint) {
      auto& rv = self->state.revoked;
      if (std::find(rv.begin(), rv.end(), fingerprint) == rv.end()) rv.push_back(fingerprint);
      log(self, "OCSP: certificate " + fingerprint + " is revoked");
      start_check(self);
    },
    [self](get_atom) -> md_snapshot { return make_snapshot(self->state); },
    [self](progress_atom, const std::string& type, const std::string& detail) {
      auto& st = self->state;
      auto t = now(self);
      if (type == "progress") {
        result r;
        r.activity = detail;
        st.activity = detail;
        st.renewal.log_progress(t, r);
      } else {
        st.renewal.log_append(t, type, {}, detail);
      }
      persist_job(self);
    },
    [self](progress_atom, const std::string& type, const std::string& status, const std::string& detail) {
      auto& st = self->state;
      st.renewal.log_append(now(self), type, status, detail);
      ++st.failed_events;
      persist_job(self);
    },
    [self](publish_atom) {
      auto& st = self->state;
      st.publish_pending = false;
      if (st.cfg.status) caf::anon_send(st.cfg.status, caf::put_atom_v, make_snapshot(st));
    },
    [self](wake_atom, std::uint64_t gen) {
      if (gen == self->state.timer_gen) start_check(self);
    },
  };
}

domain_actor spawn_domain(caf::actor_system& sys, domain_config cfg) {
  return sys.spawn(domain_behavior, std::move(cfg));
}

} // namespace mda
