// The steps of a domain actor's renewal run (see domain.hpp, core/renewal_run.hpp): account ->
// one order per key spec on the order pool -> stage; each answer goes into its transition.
#include <algorithm>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/domain_detail.hpp"

namespace mda::domain_detail {

namespace {

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

/// When the obtained set may be used (compute_ready_at over all obtained certificates).
sys_time ready_at(domain_pointer self) {
  auto& st = self->state;
  const auto& md = st.cfg.md;
  auto old = certificate_facts(md, st.leaves);
  activation_input ai;
  for (const auto& c : st.certs) ai.new_not_before.push_back(c.chain.front().not_before());
  ai.was_complete = assess_certificates(md, old).state == md_state::complete;
  ai.old_valid_until = valid_until(old);
  ai.activation_delay = st.cfg.settings.activation_delay;
  return compute_ready_at(ai, now(self));
}

} // namespace

void order(domain_pointer self, std::size_t index) {
  auto& st = self->state;
  const auto& specs = st.cfg.spec.key_specs;
  order_request r;
  r.md = st.cfg.md;
  r.md.ca.url = st.ca_url;
  r.spec = specs.at(index);
  r.account = *st.grant;
  if (index < st.leaves.size()) r.predecessor = st.leaves[index];
  // an order past finalization too: the backend downloads its certificate when it still has
  // the key the CSR was made from (domain_backend.hpp)
  if (index == 0 && st.order && st.order->status != order_status::invalid)
    r.resume = st.order;
  domain_actor me = caf::actor_cast<domain_actor>(self);
  r.progress = [me](const std::string& s) {
    caf::anon_send(me, progress_atom_v, std::string("progress"), s);
  };
  auto backend = st.cfg.backend;
  auto name = st.cfg.md.name;
  r.on_update = [backend, name](const acme_order_file& o) { backend->save_order(name, o); };
  r.before_setup = setup_hook(self);
  st.run.activity = "ordering a " + r.spec.name() + " certificate";
  run_job<acme::acme_result<acme::obtained_cert>>(
    self, st.cfg.order_pool, "order " + name + " " + r.spec.name(),
    [backend, r] { return backend->obtain(r); },
    [self](acme::acme_result<acme::obtained_cert> res) {
      auto& st = self->state;
      const auto specs = st.cfg.spec.key_specs.size();
      if (!res) {
        drive(self, on_ordered(st.run, acme::failure_of(res.error().message, res.prob()), specs,
                               sys_time{}, now(self)));
        return;
      }
      st.certs.push_back(std::move(*res));
      st.order.reset();
      auto ready = st.certs.size() >= specs ? ready_at(self) : sys_time{};
      drive(self, on_ordered(st.run, std::nullopt, specs, ready, now(self)));
    });
}

void stage(domain_pointer self) {
  auto& st = self->state;
  const auto& md = st.cfg.md;
  staged_result sr;
  sr.md = md;
  sr.md.ca.url = st.ca_url;
  sr.md.ca.account = st.grant->id;
  sr.specs = st.cfg.spec.key_specs;
  sr.certs = st.certs;
  sr.renewal = st.run.renewal;
  sr.account_id = st.grant->id;
  auto backend = st.cfg.backend;
  run_job<status>(self, st.cfg.io_pool, "stage " + md.name,
                  [backend, sr] { return backend->stage(sr); },
                  [self](status s) {
                    drive(self, on_staged(self->state.run, step_failure(s, "staging"), now(self)));
                  });
}

void ask_account(domain_pointer self) {
  auto& st = self->state;
  const auto ca = ca_in_use(st.cfg.spec, st.ca_url);
  if (ca.empty()) {
    drive(self, on_failed(st.run, plain_failure("no CA configured"), now(self)));
    return;
  }
  st.ca_url = ca;
  auto a = st.cfg.accounts.find(st.ca_url);
  if (a == st.cfg.accounts.end()) {
    drive(self, on_failed(st.run, plain_failure("no account actor for CA '" + st.ca_url + "'"),
                          now(self)));
    return;
  }
  // mod_md's progress entry on every run, also the activity of a failed contact
  note_progress(st.run, "Contacting ACME server for " + st.cfg.md.name + " at " + st.ca_url,
                now(self));
  publish(self);
  self->request(a->second, caf::infinite, account_atom_v)
    .then(
      [self](account_answer& ans) {
        auto& st = self->state;
        std::optional<run_failure> f;
        if (ans.grant) {
          st.grant = std::move(ans.grant);
          st.certs.clear();
        } else {
          f = ans.failure ? std::move(ans.failure)
                          : plain_failure("account selection returned nothing");
        }
        drive(self, on_account(st.run, std::move(f), now(self)));
      },
      [self](caf::error& e) {
        drive(self, on_account(self->state.run, plain_failure("account: " + error_text(e)),
                               now(self)));
      });
}

void use_ca(domain_pointer self, const std::string& url, bool switched) {
  auto& st = self->state;
  if (switched) {
    st.order.reset();
    auto backend = st.cfg.backend;
    auto name = st.cfg.md.name;
    log(self, "switching to CA " + url);
    run_job<status>(self, st.cfg.io_pool, "reset staging " + name,
                    [backend, name] { return backend->reset_staging(name); },
                    [self](status) { persist_job(self); });
  }
  st.ca_url = url;
}

} // namespace mda::domain_detail
