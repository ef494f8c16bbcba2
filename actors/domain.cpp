// The domain actor (see domain.hpp): carrying out the effects of the MD's run
// (core/renewal_run.hpp), the check, the decision, timers, the retry policy; the steps of a
// renewal run are in domain_run.cpp.
#include "actors/domain.hpp"

#include <algorithm>
#include <utility>

#include <caf/send.hpp>

#include "actors/domain_detail.hpp"
#include "core/overloaded.hpp"
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
  if (!st.cfg.status || !st.checked) return;
  // coalesced: the snapshot is made when the message comes back, after the steps queued now
  if (st.snapshots.request()) self->send(self, publish_atom_v);
}

void persist_job(domain_pointer self) {
  auto& st = self->state;
  publish(self);
  if (!st.writes.begin()) return;
  auto backend = st.cfg.backend;
  auto name = st.cfg.md.name;
  auto j = st.run.renewal;
  run_job<status>(self, st.cfg.io_pool, "save job.json " + name,
                  [backend, name, j] { return backend->save_job(name, j); },
                  [self](status s) {
                    if (!s) log(self, "writing job.json failed: " + s.error().message);
                    std::vector<std::function<void()>> ready;
                    if (self->state.writes.end(ready)) {
                      persist_job(self);
                      return;
                    }
                    for (auto& fn : ready) fn();
                  });
}

void report(domain_pointer self, md_outcome o, std::string detail) {
  auto& st = self->state;
  md_report r{st.cfg.md.name, o, std::move(detail)};
  st.last_report = r;
  if (st.cfg.observer) st.cfg.observer(r);
}

namespace {


/// With MDRenewViaARI, certificates in place and the fetch time come: renewalInfo first.
bool ari_due(const domain_state& st, sys_time t) {
  bool present = std::any_of(st.leaves.begin(), st.leaves.end(),
                             [](const auto& l) { return l.has_value(); });
  return st.cfg.spec.ari_renewals && present && !ari_ca(st.cfg.spec, st.ca_url).empty() && !st.run.renewal.finished &&
         t >= st.ari_next;
}

/// Answers the renew requests waiting for this decision (or for a check that failed).
void answer_renew(domain_pointer self, const renewal_decision* d, const std::string& failure) {
  auto& st = self->state;
  st.renew_forced = false;
  for (auto& rp : st.renew_waiting) {
    if (d && d->action == renewal_action::renew)
      rp.deliver("renewal started: " + d->reason);
    else
      rp.deliver(make_error(engine_errc::bad_request,
                            "'" + st.cfg.md.name + "' is not renewed: " + (d ? d->reason : failure)));
  }
  st.renew_waiting.clear();
}

/// The SHA-256 fingerprints of the staged leaves ("" for a missing one).
std::vector<std::string> staged_fingerprints(const domain_state& st) {
  std::vector<std::string> out;
  for (const auto& c : st.staged) out.push_back(c ? c->fingerprint_sha256() : std::string());
  return out;
}

void load(domain_pointer self) {
  auto& st = self->state;
  auto backend = st.cfg.backend;
  auto md = st.cfg.md;
  run_job<expected<domain_facts>>(
    self, st.cfg.io_pool, "check " + md.name, [backend, md] { return backend->load(md); },
    [self](expected<domain_facts> f) {
      auto& st = self->state;
      st.checked = true;
      if (!f) {
        if (st.renew_forced) answer_renew(self, nullptr, "its check failed: " + f.error().message);
        drive(self, on_checked(st.run, f.error().message, false, now(self)));
        return;
      }
      for (const auto& p : f->problems) log(self, "starting the job over: " + p);
      st.leaves = std::move(f->leaves);
      st.staged = std::move(f->staged);
      // in a cluster the owner writes the job: a node that does not renew the MD reads it again
      const bool follower = st.cfg.cluster && !is_renewing(st.run.state) &&
                            !st.cfg.cluster->is_owner(st.cfg.md.name);
      if (st.seeded && follower) {
        st.run.renewal = std::move(f->renewal);
        st.run.renewal.name = st.cfg.md.name;
        st.order = std::move(f->order);
        if (!f->staged_ca_url.empty()) st.ca_url = f->staged_ca_url;
      }
      if (follower && st.run.renewal.live_since != sys_time{} &&
          staged_fingerprints(st) != st.cluster_live) {
        // live on the owner, not yet here
        st.run.renewal.live_since = sys_time{};
      }
      if (!st.seeded) {
        // job.json is read once; afterwards the actor's copy is newer than the file (whose
        // writes are coalesced and may still be in flight).
        st.run.renewal = std::move(f->renewal);
        st.run.renewal.name = st.cfg.md.name;
        st.order = std::move(f->order);
        if (st.ca_url.empty()) st.ca_url = f->staged_ca_url;
        st.seeded = true;
        caf::anon_send(st.cfg.policy, caf::put_atom_v,
                       md_policy_state{st.cfg.md.name, st.run.renewal.errors, st.ca_url});
      }
      // a staged set served live is the current one: decisions, ARI and md-status use it
      if (served_live(st)) {
        st.leaves = st.staged;
        st.live_since = st.run.renewal.live_since;
      }
      drive(self, on_checked(st.run, std::nullopt, ari_due(st, now(self)), now(self)));
    });
}

void fetch_ari(domain_pointer self) {
  auto& st = self->state;
  ++st.ari_fetches;
  auto backend = st.cfg.backend;
  auto leaves = st.leaves;
  auto ca = ari_ca(st.cfg.spec, st.ca_url);
  run_job<expected<std::optional<ari_hint>>>(
    self, st.cfg.io_pool, "renewalInfo " + st.cfg.md.name,
    [backend, ca, leaves] { return expected<std::optional<ari_hint>>(backend->fetch_ari(ca, leaves)); },
    [self](expected<std::optional<ari_hint>> h) {
      auto& st = self->state;
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
      drive(self, on_ari_answered(st.run));
    });
}

void decide(domain_pointer self) {
  auto& st = self->state;
  const auto& md = st.cfg.md;
  auto t = now(self);
  auto regular = next_check_time(t, st.cfg.settings.check_interval, st.cfg.env.random->next_byte());
  std::vector<bool> revoked;
  for (const auto& l : st.leaves)
    revoked.push_back(l && std::find(st.revoked.begin(), st.revoked.end(),
                                     l->fingerprint_sha256()) != st.revoked.end());
  auto facts = certificate_facts(md, st.leaves, revoked);
  renewal_input in{md, facts, st.run.renewal, st.cfg.spec.renewal, st.ari};
  in.live = st.run.live;
  in.forced = st.renew_forced;
  auto d = decide_renewal(in, t);
  if (st.renew_forced) answer_renew(self, &d, "");
  // renewalInfo is fetched by the check (fetch_ari), at st.ari_next
  if (st.cfg.spec.ari_renewals && st.ari && st.ari_next > t)
    d.ari_check = st.ari_next;
  else
    d.ari_check.reset();
  const bool driven = st.cfg.spec.watched && st.cfg.spec.will_renew;
  if (st.cfg.cluster && driven && d.action == renewal_action::renew) {
    // one renewer per MD in the cluster: ask for it first (a transaction in etcd)
    auto cluster = st.cfg.cluster;
    auto name = md.name;
    run_job<expected<cluster_grant>>(
      self, st.cfg.io_pool, "cluster acquire " + name,
      [cluster, name] { return expected<cluster_grant>(cluster->acquire(name)); },
      [self, d, regular, driven](expected<cluster_grant> answer) mutable {
        auto& st = self->state;
        cluster_grant g;
        if (answer)
          g = std::move(*answer);
        else
          g.why = answer.error().message;
        st.cluster_owner = g.owner;
        auto t = now(self);
        if (!g.granted) {
          log(self, "not renewed here: " + g.why);
          d.action = renewal_action::wait;
          d.reason = g.why;
          d.expiring = false;
          // the cluster service sends a check when the owner goes or its set arrives
          d.at = t + (g.retry_in.count() > 0 ? g.retry_in
                                             : std::chrono::milliseconds(2000 * st.cfg.cluster->lease_seconds()));
        }
        drive(self, on_decision(st.run, d, regular, driven, t));
      });
    return;
  }
  drive(self, on_decision(st.run, d, regular, driven, t));
}

void activate(domain_pointer self) {
  auto& st = self->state;
  auto backend = st.cfg.backend;
  auto md = st.cfg.md;
  run_job<status>(self, st.cfg.io_pool, "activate " + md.name,
                  [backend, md] { return backend->activate(md); },
                  [self](status s) {
                    auto& cfg = self->state.cfg;
                    if (s && cfg.stapling) self->send(cfg.stapling, staple_atom_v, cfg.md.name);
                    drive(self, on_activated(self->state.run, step_failure(s, "activation"),
                                             now(self)));
                  });
}

/// MDActivation live: the staged set is checked as the workers will check it (keys, names,
/// validity) before the status actor announces it (store/live.hpp); the OCSP stapling
/// follows the new certificates at once.
void go_live(domain_pointer self) {
  auto& st = self->state;
  auto backend = st.cfg.backend;
  live_expectation want{st.cfg.md.name, st.cfg.md.domains, st.cfg.spec.key_specs};
  run_job<expected<std::vector<std::string>>>(
    self, st.cfg.io_pool, "live check " + want.md, [backend, want] { return backend->check_live(want); },
    [self](expected<std::vector<std::string>> fps) {
      auto& st = self->state;
      std::optional<run_failure> f;
      if (!fps) {
        f = plain_failure("serving the renewed certificates without a restart failed: " +
                          fps.error().message + " (the previous certificates stay in use)");
      }
      if (fps) st.cluster_live = staged_fingerprints(st);
      drive(self, on_went_live(st.run, std::move(f), now(self)));
      // the stapling actor reads job.json to see the set is live: once it is written
      if (fps && st.cfg.stapling)
        st.writes.when_saved([self] { self->send(self->state.cfg.stapling, staple_atom_v, self->state.cfg.md.name); });
    });
}

/// A staged set that cannot be served is removed (after the job.json writes in flight).
void discard_staged(domain_pointer self) {
  auto& st = self->state;
  st.staged.clear();
  auto backend = st.cfg.backend;
  auto name = st.cfg.md.name;
  log(self, "discarding the staged set: it cannot be served");
  st.writes.when_saved([self, backend, name] {
    run_job<status>(self, self->state.cfg.io_pool, "discard staging " + name,
                    [backend, name] { return backend->reset_staging(name); },
                    [self](status s) {
                      if (!s) log(self, "removing staging failed: " + s.error().message);
                      persist_job(self);
                    });
  });
}

/// The failure goes to the retry policy; its plan (or its silence) back into the run.
void ask_policy(domain_pointer self, const run::ask_policy& a) {
  auto& st = self->state;
  md_failure f;
  f.md = st.cfg.md.name;
  f.ca_url = st.ca_url;
  if (a.notification) {
    // the staged set stays: no CA switch, the policy is told of the CA in use only
    if (!st.ca_url.empty()) f.ca_urls = {st.ca_url};
  } else {
    f.ca_urls = st.cfg.spec.ca_urls;
    f.input_related = a.failure.input_related;
    if (a.failure.retry_after) f.retry_after = *a.failure.retry_after;
    f.counts = a.counts;
  }
  self->request(st.cfg.policy, caf::infinite, failed_atom_v, f)
    .then(
      [self](retry_plan& p) {
        drive(self, on_plan(self->state.run, {p.errors, p.at, p.ca_url, p.ca_switched}));
      },
      [self](caf::error& e) {
        auto& st = self->state;
        drive(self, on_policy_unavailable(st.run, error_text(e),
                                          now(self) + st.cfg.settings.check_interval));
      });
}

} // namespace

void drive(domain_pointer self, run_effects effects) {
  auto& st = self->state;
  for (auto& e : effects) {
    std::visit(
      overloaded{
        [self](run::load&) { load(self); },
        [self](run::fetch_ari&) { fetch_ari(self); },
        [self](run::decide&) { decide(self); },
        [self](run::deliver& d) {
          deliver_event(self, d.reason, [self, reason = d.reason](bool ok, std::string detail) {
            drive(self, on_delivered(self->state.run, reason, ok, detail, now(self)));
          });
        },
        [self](run::ask_account&) { ask_account(self); },
        [self](run::order& o) { order(self, o.index); },
        [self](run::stage&) { stage(self); },
        [&st, self](run::activate&) { st.writes.when_saved([self] { activate(self); }); },
        [&st, self](run::go_live&) { st.writes.when_saved([self] { go_live(self); }); },
        [self](run::ask_policy& a) { ask_policy(self, a); },
        [&st](run::limit_account& l) {
          auto a = st.cfg.accounts.find(st.ca_url);
          if (a != st.cfg.accounts.end()) caf::anon_send(a->second, limit_atom_v, l.until);
        },
        [self](run::use_ca& u) { use_ca(self, u.url, u.switched); },
        [&st](run::drop_staged&) { st.staged.clear(); },
        [self](run::discard_staged&) { discard_staged(self); },
        [&st](run::keep_staged&) {
          st.staged.clear();
          for (const auto& c : st.certs) st.staged.emplace_back(c.chain.front());
        },
        [&st](run::policy_ok&) { caf::anon_send(st.cfg.policy, caf::ok_atom_v, st.cfg.md.name); },
        [&st](run::release&) {
          st.grant.reset();
          st.certs.clear();
        },
        [&st](run::forget_ari&) {
          st.ari.reset();
          st.ari_next = sys_time{};
        },
        [self](run::save_job&) { persist_job(self); },
        [self](run::report& r) { report(self, r.outcome, std::move(r.detail)); },
        [self](run::arm& a) { arm(self, a.at); },
        [&st, self](run::arm_regular&) {
          arm(self, next_check_time(now(self), st.cfg.settings.check_interval,
                                    st.cfg.env.random->next_byte()));
        },
        [self](run::log& l) { log(self, l.line); },
      },
      e);
  }
}

} // namespace domain_detail

bool job_writes::begin() {
  if (writing_) {
    dirty_ = true;
    return false;
  }
  writing_ = true;
  return true;
}

bool job_writes::end(std::vector<std::function<void()>>& ready) {
  writing_ = false;
  if (std::exchange(dirty_, false)) return true;
  ready = std::move(waiting_);
  waiting_.clear();
  return false;
}

void job_writes::when_saved(std::function<void()> fn) {
  if (writing_)
    waiting_.push_back(std::move(fn));
  else
    fn();
}

namespace {

/// Whether staging/<md>/job.json exists as far as the actor knows: a run started, ended or
/// failed since the last activation (a fresh job is what activation and a clean store leave).
bool has_staging_job(const domain_state& st) {
  const job& j = st.run.renewal;
  return is_renewing(st.run.state) || j.finished || j.errors > 0 || !j.log.empty() ||
         j.last_run != sys_time{} || j.last.has_value();
}

} // namespace

bool served_live(const domain_state& st) {
  const job& j = st.run.renewal;
  return st.run.live && j.finished && j.notified_renewed && j.live_since != sys_time{} &&
         !st.staged.empty() &&
         std::all_of(st.staged.begin(), st.staged.end(), [](const auto& c) { return c.has_value(); });
}

md_snapshot make_snapshot(const domain_state& st) {
  // next_run: the next check; renew-at is where the renew window starts
  // served live: "cert" shows the staged set (now current); the renewal stays shown as mod_md
  // shows it until the restart moves the set into domains/
  // (its staged certificates, also before the check that follows going live has read them)
  const bool live = served_live(st);
  md_snapshot s = describe_md({st.cfg.md, st.cfg.spec.renewal, live ? st.staged : st.leaves, st.staged,
                               has_staging_job(st) ? &st.run.renewal : nullptr,
                               is_renewing(st.run.state), st.ca_url, st.next_run,
                               st.cfg.env.clock ? st.cfg.env.clock->now() : sys_time{}});
  if (live || st.live_since != sys_time{}) {
    // a new run rewrites staging/, the workers keep serving the set that went live
    s.served_from = served_source::staging;
    s.served_since = live ? st.run.renewal.live_since : st.live_since;
  } else if (std::any_of(st.leaves.begin(), st.leaves.end(), [](const auto& l) { return l.has_value(); })) {
    s.served_from = st.cfg.md.cert_files.empty() ? served_source::domains : served_source::files;
    s.served_since = st.cfg.served_since;
  }
  if (st.cfg.cluster) s.cluster = st.cfg.cluster->view_of(st.cfg.md.name);
  return s;
}

domain_actor::behavior_type domain_behavior(domain_pointer self, domain_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.run.md = st.cfg.md.name;
  st.run.activate = st.cfg.activate;
  st.run.live = st.cfg.live && !st.cfg.activate;
  st.run.renewal.name = st.cfg.md.name;
  if (st.cfg.spec.name != st.cfg.md.name || st.cfg.spec.key_specs.empty()) {
    // a programming error (the supervisor makes the spec): say so rather than order nothing
    report(self, md_outcome::failed, "domain actor started without the resolved spec of '" +
                                         st.cfg.md.name + "'");
    self->quit(caf::sec::invalid_argument);
  } else {
    arm(self, initial_check_time(st.cfg.env.clock->now(), st.cfg.settings.initial_delay));
  }
  return {
    [self](check_atom) { drive(self, on_check_due(self->state.run)); },
    [self](revoked_atom, const std::string& fingerprint) {
      auto& rv = self->state.revoked;
      if (std::find(rv.begin(), rv.end(), fingerprint) == rv.end()) rv.push_back(fingerprint);
      log(self, "OCSP: certificate " + fingerprint + " is revoked");
      drive(self, on_check_due(self->state.run));
    },
    [self](renew_atom) {
      auto& st = self->state;
      auto rp = self->make_response_promise<std::string>();
      if (is_renewing(st.run.state)) {
        rp.deliver(std::string("a renewal run is in progress"));
      } else if (!std::holds_alternative<run::idle>(st.run.state) &&
                 !std::holds_alternative<run::checking>(st.run.state)) {
        rp.deliver(make_error(engine_errc::bad_request, "'" + st.cfg.md.name + "' is busy (" +
                                                            st.run.activity + "): try again in a moment"));
      } else {
        // a check in flight decides with the flag set; an idle MD is checked now
        st.renew_waiting.push_back(rp);
        st.renew_forced = true;
        log(self, "a renewal now was asked for");
        drive(self, on_check_due(st.run));
      }
      return rp;
    },
    [self](get_atom) -> md_snapshot { return make_snapshot(self->state); },
    [self](progress_atom, const std::string& type, const std::string& detail) {
      auto& st = self->state;
      if (type == "progress")
        note_progress(st.run, detail, now(self));
      else
        st.run.renewal.log_append(now(self), type, {}, detail);
      persist_job(self);
    },
    [self](progress_atom, const std::string& type, const std::string& status, const std::string& detail) {
      auto& st = self->state;
      st.run.renewal.log_append(now(self), type, status, detail);
      note_failed_message(st.run);
      persist_job(self);
    },
    [self](publish_atom) {
      auto& st = self->state;
      st.snapshots.arrived();
      if (st.cfg.status) caf::anon_send(st.cfg.status, caf::put_atom_v, make_snapshot(st));
    },
    [self](wake_atom, std::uint64_t gen) {
      if (gen == self->state.timer_gen) drive(self, on_check_due(self->state.run));
    },
  };
}

domain_actor spawn_domain(caf::actor_system& sys, domain_config cfg) {
  return sys.spawn(domain_behavior, std::move(cfg));
}

} // namespace mda
