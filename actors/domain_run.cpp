// The renewal run of a domain actor (see domain.hpp): "renewing" event -> account -> one order
// per key spec on the order pool -> stage -> finished job.
#include <algorithm>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/domain_detail.hpp"

namespace mda::domain_detail {

namespace {

std::vector<key_spec> specs_of(const managed_domain& md) {
  if (md.key_specs.empty()) return {key_spec::default_spec()};
  return md.key_specs;
}

std::vector<std::string> ca_urls_of(const managed_domain& md) {
  if (!md.ca.urls.empty()) return md.ca.urls;
  if (!md.ca.url.empty()) return {md.ca.url};
  return {};
}

/// The challenge-setup:<type>:<dns> event, run on the worker that sets the challenge up.
std::function<status(const acme::challenge_data&)> setup_hook(domain_pointer self) {
  const auto& st = self->state;
  auto cmds = st.cfg.settings.commands;
  auto name = st.cfg.md.name;
  auto timeout = st.cfg.settings.command_timeout;
  auto backend = st.cfg.backend;
  domain_actor me = caf::actor_cast<domain_actor>(self);
  return [cmds, name, timeout, backend, me](const acme::challenge_data& c) -> status {
    auto reason = challenge_setup_reason(acme::to_string(c.type), c.identifier);
    if (!cmds.message_cmd.empty()) {
      auto res = backend->run_command(message_argv(cmds.message_cmd, reason, name), timeout);
      const auto failed = !res || !res->success();
      if (failed) {
        // recorded and counted by the actor before it sees the order fail (this message is
        // queued first): mod_md's md_job_notify logs "message-error" and counts an error
        caf::anon_send(me, progress_atom_v, std::string("message-error"), reason,
                       message_failure(cmds.message_cmd, res ? res->exit_code : -1).detail);
      }
      if (!res) return res.error();
      if (!res->success())
        return error(process_errc::failed, "MDMessageCmd for '" + reason + "' " +
                                               res->describe(timeout));
    }
    caf::anon_send(me, progress_atom_v, message_entry_type(reason), std::string());
    return {};
  };
}

void stage(domain_pointer self);

void order_next(domain_pointer self) {
  auto& st = self->state;
  const auto specs = specs_of(st.cfg.md);
  const size_t i = st.certs.size();
  if (i >= specs.size()) {
    stage(self);
    return;
  }
  order_request r;
  r.md = st.cfg.md;
  r.md.ca.url = st.ca_url;
  r.spec = specs[i];
  r.account = *st.grant;
  if (i < st.leaves.size()) r.predecessor = st.leaves[i];
  if (i == 0 && st.order &&
      (st.order->status == order_status::pending || st.order->status == order_status::ready))
    r.resume = st.order;
  domain_actor me = caf::actor_cast<domain_actor>(self);
  r.progress = [me](const std::string& s) {
    caf::anon_send(me, progress_atom_v, std::string("progress"), s);
  };
  auto backend = st.cfg.backend;
  auto name = st.cfg.md.name;
  r.on_update = [backend, name](const acme_order_file& o) { backend->save_order(name, o); };
  r.before_setup = setup_hook(self);
  st.activity = "ordering a " + r.spec.name() + " certificate";
  run_job<acme::acme_result<acme::obtained_cert>>(
    self, st.cfg.order_pool, "order " + name + " " + r.spec.name(),
    [backend, r] { return backend->obtain(r); },
    [self](acme::acme_result<acme::obtained_cert> res) {
      auto& st = self->state;
      if (!res) {
        fail_run(self, res.error().message, res.prob());
        return;
      }
      st.certs.push_back(std::move(*res));
      st.order.reset();
      order_next(self);
    });
}

void stage(domain_pointer self) {
  auto& st = self->state;
  const auto& md = st.cfg.md;
  auto t = now(self);
  auto old = certificate_facts(md, st.leaves);
  activation_input ai;
  for (const auto& c : st.certs) ai.new_not_before.push_back(c.chain.front().not_before());
  ai.was_complete = assess_certificates(md, old).state == md_state::complete;
  ai.old_valid_until = valid_until(old);
  ai.activation_delay = st.cfg.settings.activation_delay;
  auto ready_at = compute_ready_at(ai, t);
  st.renewal.finished = true;
  st.renewal.notified = false;
  st.renewal.notified_renewed = false;
  st.renewal.valid_from = ready_at;
  st.renewal.errors = 0;
  st.renewal.next_run = sys_time{};
  result r;
  r.detail = renewed_detail(ready_at, t);
  r.valid_from = ready_at;
  st.renewal.last = r;
  st.renewal.log_finished(t);
  staged_result sr;
  sr.md = md;
  sr.md.ca.url = st.ca_url;
  sr.md.ca.account = st.grant->id;
  sr.specs = specs_of(md);
  sr.certs = st.certs;
  sr.renewal = st.renewal;
  sr.account_id = st.grant->id;
  st.activity = "staging";
  auto backend = st.cfg.backend;
  run_job<status>(self, st.cfg.io_pool, "stage " + md.name,
                  [backend, sr] { return backend->stage(sr); },
                  [self](status s) {
                    auto& st = self->state;
                    if (!s) {
                      st.renewal.finished = false;
                      fail_run(self, "staging failed: " + s.error().message, std::nullopt);
                      return;
                    }
                    caf::anon_send(st.cfg.policy, caf::ok_atom_v, st.cfg.md.name);
                    st.staged.clear();
                    for (const auto& c : st.certs) st.staged.emplace_back(c.chain.front());
                    finish_run(self);
                  });
}

void get_account(domain_pointer self) {
  auto& st = self->state;
  auto urls = ca_urls_of(st.cfg.md);
  if (urls.empty()) {
    fail_run(self, "no CA configured", std::nullopt);
    return;
  }
  if (std::find(urls.begin(), urls.end(), st.ca_url) == urls.end()) st.ca_url = urls.front();
  auto a = st.cfg.accounts.find(st.ca_url);
  if (a == st.cfg.accounts.end()) {
    fail_run(self, "no account actor for CA '" + st.ca_url + "'", std::nullopt);
    return;
  }
  {
    // mod_md's progress entry on every run, also the activity of a failed contact
    result r;
    r.activity = "Contacting ACME server for " + st.cfg.md.name + " at " + st.ca_url;
    st.activity = r.activity;
    st.renewal.log_progress(now(self), r);
  }
  publish(self);
  self->request(a->second, caf::infinite, account_atom_v)
    .then(
      [self](account_answer& ans) {
        auto& st = self->state;
        if (!ans.grant && ans.problem) {
          // as mod_md keeps it: the CA's problem type and its own detail
          auto detail = ans.problem->detail.empty() ? ans.error : ans.problem->detail;
          fail_run(self, detail, ans.problem);
          return;
        }
        if (!ans.grant) {
          acme::problem p;
          p.detail = ans.error;
          p.retry_after = ans.retry_after == sys_time{} ? std::nullopt
                                                        : std::optional<sys_time>(ans.retry_after);
          fail_run(self, ans.error, ans.input_related || p.retry_after
                                        ? std::optional<acme::problem>(p)
                                        : std::nullopt);
          return;
        }
        st.grant = std::move(ans.grant);
        st.certs.clear();
        order_next(self);
      },
      [self](caf::error& e) { fail_run(self, "account: " + error_text(e), std::nullopt); });
}

} // namespace

void start_renewal(domain_pointer self) {
  auto& st = self->state;
  st.phase = domain_phase::renewing;
  ++st.runs;
  auto t = now(self);
  if (st.renewal.finished) { // a renewal of an older staged set: start a new job
    st.staged.clear();
    st.renewal.finished = false;
    st.renewal.notified = false;
    st.renewal.notified_renewed = false;
    st.renewal.valid_from = sys_time{};
  }
  st.renewal.last_run = t;
  st.failed_events = 0;
  st.renewal.log_starting(t);
  st.activity = "renewing";
  persist_job(self);
  deliver_event(self, event_reason::renewing, [self](bool ok, std::string) {
    auto& st = self->state;
    if (!ok) {
      // the handler's failure (record_event made it "last") stays the job's last result, as
      // mod_md saves the result its handler wrote; the veto itself is the log's renewal-error
      const std::optional<result> vetoed = st.renewal.last;
      int code = vetoed ? vetoed->status : k_apr_egeneral;
      fail_run(self, renewing_vetoed_text(st.cfg.md.name, code), std::nullopt);
      if (vetoed) st.renewal.last = vetoed;
      return;
    }
    get_account(self);
  });
}

void finish_run(domain_pointer self) {
  auto& st = self->state;
  st.phase = domain_phase::idle;
  st.grant.reset();
  st.certs.clear();
  persist_job(self);
  // decide() again: ready-at not reached -> a timer; reached -> "renewed".
  arm(self, now(self));
}

} // namespace mda::domain_detail
