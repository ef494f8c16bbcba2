// The retry/failover policy actor: remembers per MD the failed runs in a row and the CA in
// use, and answers when and where the next attempt goes (reference §5.4, §5.5).
//
// Who sends what: a domain actor reports each failed run (failed_atom, md_failure) and gets a
// retry_plan (time from now + MDRetryDelay doubled and jittered, capped at 24 h, straight to
// the cap for input-related problems, never before Retry-After; the CA rotated every
// MDRetryFailover errors); it reports success (ok_atom, md) to start the count over; on start
// it seeds the memory from job.json (put_atom, md_policy_state). Status readers ask (get_atom,
// md). The arithmetic is core/backoff.hpp's (next_retry, choose_ca); this actor adds the
// memory, the injected clock and the injected random byte.
// Not here: the timer of the next attempt (the domain actor sets it from retry_plan::at),
// classifying problems (acme::classify), persisting the count (job.json, the domain actor),
// wiping staging after a switch (the domain actor), rate budgets (the account actor).
#pragma once

#include <map>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/clock.hpp"
#include "core/backoff.hpp"

namespace mda {

struct ca_policy_config {
  retry_policy policy; ///< MDRetryDelay, the cap, MDRetryFailover
  actor_env env;       ///< the clock (the plan's `at`) and the jitter byte
};

/// No error, or what is wrong, e.g. "ca policy: MDRetryFailover must be at least 1".
caf::error validate(const ca_policy_config& cfg);

struct ca_policy_state {
  static inline const char* name = "ca-policy";
  ca_policy_config cfg;
  std::map<std::string, md_policy_state> mds; ///< by MD name
};

using ca_policy_pointer = ca_policy_actor::stateful_pointer<ca_policy_state>;

/// The policy's behaviour (spawn with spawn_ca_policy).
ca_policy_actor::behavior_type ca_policy(ca_policy_pointer self, ca_policy_config cfg);

/// Spawns the policy; the config must be valid (see validate).
ca_policy_actor spawn_ca_policy(caf::actor_system& sys, ca_policy_config cfg);

/// The plan after one more failure of `m` (pure: the actor's handler minus the memory).
/// Updates m.errors and m.ca_url.
retry_plan plan_retry(const retry_policy& policy, md_policy_state& m, const md_failure& f,
                      sys_time now, std::uint8_t random_byte);

} // namespace mda
