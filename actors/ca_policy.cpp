// The retry/failover policy actor (see ca_policy.hpp).
#include "actors/ca_policy.hpp"

#include <optional>
#include <utility>

namespace mda {

caf::error validate(const ca_policy_config& cfg) {
  const auto& p = cfg.policy;
  if (p.failover_after < 1)
    return make_error(engine_errc::bad_request, "ca policy: MDRetryFailover must be at least 1");
  if (p.min_delay.count() < 0)
    return make_error(engine_errc::bad_request, "ca policy: MDRetryDelay must not be negative");
  if (p.max_delay < p.min_delay)
    return make_error(engine_errc::bad_request,
                      "ca policy: the maximum delay is shorter than MDRetryDelay");
  if (!cfg.env.clock || !cfg.env.random)
    return make_error(engine_errc::bad_request, "ca policy: no clock or random source");
  return caf::none;
}

retry_plan plan_retry(const retry_policy& policy, md_policy_state& m, const md_failure& f,
                      sys_time now, std::uint8_t random_byte) {
  m.md = f.md;
  m.errors += std::max(1, f.counts);
  if (!f.ca_url.empty())
    m.ca_url = f.ca_url;
  failure_info info;
  info.errors = m.errors;
  info.input_related = f.input_related;
  if (f.retry_after != sys_time{})
    info.retry_after = f.retry_after;
  auto when = next_retry(policy, info, now, random_byte);
  auto ca = choose_ca(f.ca_urls, m.ca_url, m.errors, policy);
  m.ca_url = ca.url;
  retry_plan plan;
  plan.md = f.md;
  plan.errors = m.errors;
  plan.at = when.at;
  plan.delay = std::chrono::duration_cast<caf::timespan>(when.delay);
  plan.capped = when.capped;
  plan.retry_after = when.retry_after;
  plan.ca_index = static_cast<std::uint32_t>(ca.index);
  plan.ca_url = ca.url;
  plan.ca_switched = ca.switched;
  return plan;
}

ca_policy_actor::behavior_type ca_policy(ca_policy_pointer self, ca_policy_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](failed_atom, const md_failure& f) -> retry_plan {
      auto& st = self->state;
      auto now = st.cfg.env.clock->now();
      return plan_retry(st.cfg.policy, st.mds[f.md], f, now, st.cfg.env.random->next_byte());
    },
    [self](ok_atom, const std::string& md) {
      auto i = self->state.mds.find(md);
      if (i != self->state.mds.end())
        i->second.errors = 0;
    },
    [self](put_atom, const md_policy_state& m) { self->state.mds[m.md] = m; },
    [self](get_atom, const std::string& md) -> md_policy_state {
      auto i = self->state.mds.find(md);
      if (i == self->state.mds.end())
        return md_policy_state{md, 0, ""};
      return i->second;
    },
    [self](delete_atom, const std::string& md) { self->state.mds.erase(md); },
  };
}

ca_policy_actor spawn_ca_policy(caf::actor_system& sys, ca_policy_config cfg) {
  return sys.spawn(ca_policy, std::move(cfg));
}

} // namespace mda
