// The OCSP responder actor (see ocsp_responder.hpp).
#include "actors/ocsp_responder.hpp"

#include <algorithm>
#include <utility>

#include <caf/send.hpp>

#include "actors/worker_pool.hpp"
#include "core/events.hpp"
#include "ocsp/fetch.hpp"

namespace mda {

namespace {

sys_time now_of(ocsp_responder_pointer self) { return self->state.cfg.env.clock->now(); }

void log_line(ocsp_responder_pointer self, const std::string& line) {
  if (self->state.cfg.log) self->state.cfg.log("ocsp " + self->state.cfg.url + ": " + line);
}

/// The status entry of `e` with its owner's job.
stapling_info entry_info(ocsp_responder_pointer self, const ocsp_entry& e) {
  auto& st = self->state;
  auto info = stapling_of(e, st.cfg.url, st.cfg.renew_window);
  auto j = st.jobs.find(e.owner);
  if (j != st.jobs.end()) info.renewal = j->second;
  return info;
}

void publish(ocsp_responder_pointer self, const ocsp_entry& e) {
  if (self->state.cfg.status)
    caf::anon_send(self->state.cfg.status, caf::put_atom_v, entry_info(self, e));
}

/// Re-sends every entry of `owner` (its job changed).
void publish_owner(ocsp_responder_pointer self, const std::string& owner) {
  for (const auto& [k, e] : self->state.entries)
    if (e.owner == owner) publish(self, e);
}

/// Writes ocsp/<owner>/job.json; writes of one owner never overlap, the last state wins.
void save_job(ocsp_responder_pointer self, const std::string& owner) {
  auto& st = self->state;
  if (st.job_writing.count(owner)) {
    st.job_dirty.insert(owner);
    return;
  }
  st.job_writing.insert(owner);
  auto store = st.cfg.st;
  auto j = st.jobs[owner];
  auto done = [self, owner](const std::string& failure) {
    auto& s = self->state;
    s.job_writing.erase(owner);
    if (!failure.empty()) log_line(self, "saving the OCSP job of " + owner + ": " + failure);
    if (s.job_dirty.erase(owner) > 0) save_job(self, owner);
  };
  run_blocking(
    self, st.cfg.io_pool, "save ocsp job " + owner,
    [store, owner, j] { return ocsp::save_ocsp_job(*store, owner, j); },
    [done](const mda::status& s) { done(s.ok() ? std::string() : s.error().message); },
    [done](const caf::error& err) { done(error_text(err)); });
}

/// The outcome of an event's commands: logged in the owner's job, which is saved and re-sent.
void event_done(ocsp_responder_pointer self, const std::string& owner, const std::string& reason,
                const expected<event_outcome>& o) {
  auto rec = record_event(self->state.jobs[owner], reason, o, now_of(self));
  if (!rec.ok) log_line(self, "event " + reason + " " + owner + ": " + rec.log);
  save_job(self, owner);
  publish_owner(self, owner);
}

/// Delivers "ocsp-renewed" / "ocsp-errored" of `owner` (see the header).
void deliver_event(ocsp_responder_pointer self, const std::string& owner, const std::string& reason) {
  auto& st = self->state;
  if (st.cfg.listener) self->send(st.cfg.listener, ocsp_event_atom_v, owner, reason);
  auto plan = plan_event(st.cfg.commands, reason, owner, st.jobs[owner], now_of(self));
  if (plan.rate_limited) return;
  if (plan.notify_argv.empty() && plan.message_argv.empty()) {
    record_event(st.jobs[owner], reason, event_outcome{}, now_of(self)); // saved by the caller
    return;
  }
  auto run = st.cfg.run_command ? st.cfg.run_command : process_command_runner();
  auto cmds = st.cfg.commands;
  auto timeout = st.cfg.command_timeout;
  run_blocking(
    self, st.cfg.io_pool, "event " + reason + " " + owner,
    [run, cmds, plan, timeout] { return run_event_commands(run, cmds, plan, timeout); },
    [self, owner, reason](const event_outcome& o) { event_done(self, owner, reason, o); },
    [self, owner, reason](const caf::error& err) {
      event_done(self, owner, reason,
                 error(std::make_error_code(std::errc::io_error), error_text(err)));
    });
}

void arm(ocsp_responder_pointer self) {
  auto& st = self->state;
  std::optional<sys_time> next;
  for (const auto& [k, e] : st.entries)
    if (!e.in_flight && (!next || e.next_run < *next)) next = e.next_run;
  if (!next) return;
  auto d = std::chrono::duration_cast<caf::timespan>(*next - now_of(self));
  if (d < caf::timespan{0}) d = caf::timespan{0};
  self->delayed_send(self, d, wake_atom_v, ++st.timer_gen);
}

/// What one blocking fetch job returns.
struct fetch_result {
  std::optional<ocsp::stored_response> previous; ///< read from the store first
  ocsp::refresh_outcome outcome;
};

void finish(ocsp_responder_pointer self, const std::string& key, fetch_result r);

void start_fetch(ocsp_responder_pointer self, ocsp_entry& e, bool reread = false) {
  auto& st = self->state;
  e.in_flight = true;
  ++st.in_flight;
  ++st.fetches;
  auto store = st.cfg.st;
  auto http = st.cfg.transport;
  auto clock = st.cfg.env.clock;
  ocsp::fetch_params p{st.cfg.url, e.id, e.cert.issuer, "", {}};
  auto owner = e.owner;
  auto key = e.key;
  auto loaded = e.loaded;
  auto previous = e.current;
  auto window = st.cfg.renew_window;
  auto job = [=]() mutable {
    fetch_result r;
    if (!loaded || reread) {
      auto s = ocsp::load_stored(*store, owner, key);
      if (s && *s) previous = **s;
    }
    r.previous = previous;
    p.now = clock->now();
    if (reread && previous && !ocsp::needs_refresh(previous->valid, window, p.now)) {
      // another server of the cluster fetched it meanwhile: nothing to ask
      r.outcome.current = previous;
      return r;
    }
    auto fetched = ocsp::fetch(*http, p);
    r.outcome = ocsp::apply_fetch(*store, owner, key, fetched, p.responder_url, previous, p.now);
    return r;
  };
  run_blocking(
    self, st.cfg.io_pool, "ocsp " + key, std::move(job),
    [self, key](fetch_result&& r) { finish(self, key, std::move(r)); },
    [self, key](const caf::error& err) {
      fetch_result r;
      r.outcome.failure = error(std::make_error_code(std::errc::io_error), error_text(err));
      finish(self, key, std::move(r));
    });
}

void run_due(ocsp_responder_pointer self) {
  auto& st = self->state;
  auto t = now_of(self);
  for (auto& [k, e] : st.entries) {
    if (st.in_flight >= std::max<std::size_t>(1, st.cfg.max_parallel)) break;
    if (e.in_flight || e.next_run > t) continue;
    if (st.cfg.defer && st.cfg.defer(e.owner)) {
      if (!e.deferred) {
        // the cluster's fetcher goes first; look again (in the store) a little later
        e.deferred = true;
        e.next_run = t + st.cfg.defer_delay;
        continue;
      }
      start_fetch(self, e, true);
      continue;
    }
    start_fetch(self, e);
  }
  arm(self);
}

void finish(ocsp_responder_pointer self, const std::string& key, fetch_result r) {
  auto& st = self->state;
  if (st.in_flight > 0) --st.in_flight;
  auto i = st.entries.find(key);
  if (i == st.entries.end()) { // unregistered meanwhile
    run_due(self);
    return;
  }
  auto& e = i->second;
  auto t = now_of(self);
  e.in_flight = false;
  e.loaded = true;
  e.deferred = false;
  auto& j = st.jobs[e.owner];
  j.name = e.owner;
  j.last_run = t;
  e.current = r.outcome.current ? r.outcome.current : r.previous;
  if (r.outcome.failure && !r.outcome.saved) {
    ++e.errors;
    j.errors = e.errors;
    result res;
    res.status = k_apr_egeneral;
    res.problem = "ocsp-error";
    res.detail = r.outcome.failure->message;
    j.last = res;
    j.log_ocsp_error(t, res);
    auto plan = next_retry(st.cfg.retry, failure_info{e.errors, false, std::nullopt}, t,
                           st.cfg.env.random->next_byte());
    e.next_run = plan.at;
    log_line(self, "fetch failed: " + res.detail);
  } else {
    e.errors = 0;
    j.errors = 0;
    j.last = result{};
    e.next_run = ocsp::refresh_at(e.current->valid, st.cfg.renew_window);
    if (e.next_run <= t) e.next_run = t + std::chrono::minutes(1); // never spin on a short one
    if (e.current->status == ocsp::cert_status::revoked && st.cfg.listener)
      self->send(st.cfg.listener, revoked_atom_v, e.owner, e.cert.leaf.fingerprint_sha256());
  }
  j.next_run = e.next_run;
  auto owner = e.owner; // `e` and `j` may not outlive the calls below
  bool failed = r.outcome.failure && !r.outcome.saved;
  deliver_event(self, owner, failed ? event_reason::ocsp_errored : event_reason::ocsp_renewed);
  publish_owner(self, owner);
  save_job(self, owner);
  run_due(self);
}

void add(ocsp_responder_pointer self, const std::string& owner, const ocsp_cert& c) {
  auto& st = self->state;
  auto key = ocsp::cert_key(c.leaf);
  auto id = ocsp::cert_id::make(c.leaf, c.issuer);
  if (!key || !id) {
    log_line(self, "cannot register a certificate of " + owner + ": " +
                       (!key ? key.error().message : id.error().message));
    return;
  }
  auto& e = st.entries[*key];
  if (!e.key.empty() && e.owner == owner) return; // already known
  e = ocsp_entry{};
  e.owner = owner;
  e.cert = c;
  e.id = *id;
  e.key = *key;
  e.next_run = now_of(self);
  // a stored response that needs no refresh is kept without asking (read here: small file)
  auto s = ocsp::load_stored(*st.cfg.st, owner, *key);
  e.loaded = true;
  if (s && *s) {
    e.current = **s;
    if (!ocsp::needs_refresh(e.current->valid, st.cfg.renew_window, now_of(self)))
      e.next_run = ocsp::refresh_at(e.current->valid, st.cfg.renew_window);
  }
  publish(self, e);
}

} // namespace

stapling_info stapling_of(const ocsp_entry& e, const std::string& url, const timeslice& window) {
  stapling_info s;
  s.domain = e.owner;
  s.id = e.key;
  s.sha256_fingerprint = e.cert.leaf.fingerprint_sha256();
  s.responder_url = url;
  if (e.current) {
    s.status = e.current->status == ocsp::cert_status::good      ? ocsp_cert_status::good
               : e.current->status == ocsp::cert_status::revoked ? ocsp_cert_status::revoked
                                                                 : ocsp_cert_status::unknown;
    s.valid_from = e.current->valid.start;
    s.valid_until = e.current->valid.end;
    s.renew_at = ocsp::refresh_at(e.current->valid, window);
  }
  return s;
}

ocsp_responder_actor::behavior_type ocsp_responder_behavior(ocsp_responder_pointer self,
                                                            ocsp_responder_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](staple_atom, ocsp_registration& r) {
      auto& st = self->state;
      if (r.replace) {
        for (auto i = st.entries.begin(); i != st.entries.end();) {
          if (i->second.owner == r.owner) i = st.entries.erase(i);
          else ++i;
        }
      }
      if (!st.jobs.count(r.owner)) {
        auto j = ocsp::load_ocsp_job(*st.cfg.st, r.owner);
        st.jobs[r.owner] = j ? *j : job{};
        st.jobs[r.owner].name = r.owner;
      }
      for (const auto& c : r.certs) add(self, r.owner, c);
      run_due(self);
    },
    [self](check_atom) { run_due(self); },
    [self](get_atom) -> std::vector<stapling_info> {
      std::vector<stapling_info> out;
      for (const auto& [k, e] : self->state.entries) out.push_back(entry_info(self, e));
      return out;
    },
    [self](wake_atom, std::uint64_t gen) {
      if (gen == self->state.timer_gen) run_due(self);
    },
  };
}

ocsp_responder_actor spawn_ocsp_responder(caf::actor_system& sys, ocsp_responder_config cfg) {
  return sys.spawn(ocsp_responder_behavior, std::move(cfg));
}

} // namespace mda
