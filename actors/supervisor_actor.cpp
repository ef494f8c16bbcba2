// The supervisor actor (see supervisor_actor.hpp).
#include "actors/supervisor_actor.hpp"

#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "core/redact.hpp"

namespace mda {

caf::error validate(const supervisor_config& cfg) {
  if (!cfg.env.clock) return make_error(engine_errc::bad_request, "supervisor: the clock is missing");
  return caf::none;
}

namespace {

using child = supervisor_state::child;

void log_line(supervisor_pointer self, const std::string& line) {
  if (self->state.cfg.log) self->state.cfg.log("supervisor: " + line);
}

/// "the domain actor of 'a.test'", "the account actor at 'https://ca.test/dir'", "the status actor".
std::string name_of(supervisor_pointer self, const child& c) {
  switch (c.what) {
    case child::kind::domain: return "the domain actor of '" + c.key + "'";
    case child::kind::account: {
      auto i = self->state.cfg.accounts.find(c.key);
      auto url = i == self->state.cfg.accounts.end() ? c.key : i->second.ca_url;
      return "the account actor at '" + redact_url(url) + "'";
    }
    case child::kind::shared: break;
  }
  return "the " + c.key + " actor";
}

bool is_abnormal(const caf::error& reason) {
  return reason && reason != caf::exit_reason::normal && reason != caf::exit_reason::user_shutdown;
}

template <class Handle>
void watch(supervisor_pointer self, const Handle& h, child c) {
  self->monitor(h);
  const auto addr = caf::actor_cast<caf::actor_addr>(h);
  if (c.what != child::kind::shared) (*self->state.leaves)[addr] = caf::actor_cast<caf::actor>(h);
  self->state.children[addr] = std::move(c);
}

/// Forgets an actor (its down message, if any comes, is then ignored).
template <class Handle>
void forget(supervisor_pointer self, const Handle& h) {
  const auto addr = caf::actor_cast<caf::actor_addr>(h);
  self->demonitor(addr);
  self->state.children.erase(addr);
  self->state.leaves->erase(addr);
}

void start_domain(supervisor_pointer self, const supervised_domain& d) {
  auto& st = self->state;
  domain_config dc = d.config;
  for (const auto& [url, key] : d.account_keys) dc.accounts[url] = st.accounts.at(key);
  auto h = spawn_domain(self->system(), std::move(dc));
  watch(self, h, child{child::kind::domain, d.config.md.name});
  st.domains[d.config.md.name] = h;
  if (st.cfg.stapling) self->send(st.cfg.stapling, caf::put_atom_v, d.config.md.name, h);
}

void start_account(supervisor_pointer self, const std::string& key) {
  auto& st = self->state;
  auto h = spawn_account(self->system(), st.cfg.accounts.at(key));
  watch(self, h, child{child::kind::account, key});
  st.accounts[key] = h;
}

/// Stops the engine: logged at error, then this actor quits (run_engine watches it).
void escalate(supervisor_pointer self, const std::string& why) {
  auto& cfg = self->state.cfg;
  const auto line = "supervisor: " + why + "; stopping the engine";
  if (cfg.error) cfg.error(line);
  else if (cfg.log) cfg.log(line);
  self->quit(make_error(engine_errc::unavailable, line));
}

/// Counts a restart of `name`; false when that is one too many within the window.
bool may_restart(supervisor_pointer self, const std::string& name) {
  auto& st = self->state;
  const auto now = st.cfg.env.clock->mono_now();
  auto& times = st.restarted[name];
  while (!times.empty() && now - times.front() >= st.cfg.restart_window) times.pop_front();
  if (times.size() >= st.cfg.max_restarts) return false;
  times.push_back(now);
  ++st.restarts;
  return true;
}

const supervised_domain* find_domain(supervisor_pointer self, const std::string& md) {
  for (const auto& d : self->state.cfg.domains)
    if (d.config.md.name == md) return &d;
  return nullptr;
}

/// A leaf ended abnormally: started again, or the engine stops.
void restart(supervisor_pointer self, const child& c, const caf::error& reason) {
  auto& st = self->state;
  const auto name = name_of(self, c);
  const auto reason_text = error_text(reason);
  if (!may_restart(self, name)) {
    escalate(self, name + " ended " + std::to_string(st.cfg.max_restarts + 1) + " times within " +
                       std::to_string(st.cfg.restart_window.count() / 1000) + " s (last: " +
                       reason_text + ")");
    return;
  }
  log_line(self, "restarting " + name + " (it ended: " + reason_text + ")");
  if (c.what == child::kind::domain) {
    if (const auto* d = find_domain(self, c.key)) start_domain(self, *d);
    return;
  }
  start_account(self, c.key);
  for (const auto& d : st.cfg.domains) {
    bool holds = false;
    for (const auto& [url, key] : d.account_keys) holds = holds || key == c.key;
    if (!holds) continue;
    auto old = st.domains[d.config.md.name];
    forget(self, old);
    self->send_exit(old, caf::exit_reason::user_shutdown);
    log_line(self, "restarting the domain actor of '" + d.config.md.name +
                       "' (it holds the restarted account actor)");
    start_domain(self, d);
  }
}

void on_down(supervisor_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.children.find(dm.source);
  if (i == st.children.end()) return; // replaced meanwhile
  const child c = i->second;
  st.children.erase(i);
  st.leaves->erase(dm.source);
  if (!is_abnormal(dm.reason)) return;
  if (c.what == child::kind::shared) {
    escalate(self, name_of(self, c) + " ended (" + error_text(dm.reason) + ")");
    return;
  }
  restart(self, c, dm.reason);
}

} // namespace

supervisor_actor::behavior_type supervisor(supervisor_pointer self, supervisor_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  // The leaves are not linked (one dying must not take this actor down): they are ended here
  // when this actor ends, however it ends.
  self->attach_functor([leaves = st.leaves](const caf::error&) {
    for (const auto& [addr, h] : *leaves) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  });
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  for (const auto& [name, h] : st.cfg.shared)
    if (h) watch(self, h, child{child::kind::shared, name});
  for (const auto& [key, ac] : st.cfg.accounts) start_account(self, key);
  for (const auto& d : st.cfg.domains) start_domain(self, d);
  if (st.cfg.stapling) self->send(st.cfg.stapling, check_atom_v);
  return {
    [self](get_atom, const std::string& md) -> caf::result<domain_actor> {
      auto i = self->state.domains.find(md);
      if (i == self->state.domains.end())
        return make_error(engine_errc::unknown_md, "no MD named '" + md + "'");
      return i->second;
    },
  };
}

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg) {
  return sys.spawn(supervisor, std::move(cfg));
}

} // namespace mda
