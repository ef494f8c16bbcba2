// The account actor: one per (CA URL, EAB kid, contacts). It owns the account the domain
// actors of that CA sign with, and the rate budget of that account.
//
// Who sends what: domain actors ask (account_atom) before each run and get an account_grant
// (the shared acme::client, whose nonce pool all orders of the account use, and the signer);
// they report (limit_atom, until) when the CA answered rateLimited or with Retry-After.
// How: the first request starts the selection as ONE job on the worker pool (reuse from the
// store's accounts/ or register, acme/account_store.hpp); requests arriving meanwhile wait for
// that job, so 20 domains asking at once still get one account. A failed selection is not
// kept: it answers the waiting requests and the next request tries again. While a limit is
// set, requests wait until its time (a timer on the injected clock), then are granted.
// Not here: retry delays of a failed run (ca_policy), the key of a certificate.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actors.hpp"
#include "actors/clock.hpp"

namespace mda {

/// Selects or registers the account (blocking; run on the pool).
using account_source = std::function<account_answer()>;

struct account_config {
  std::string ca_url;        ///< for logs
  account_source source;     ///< required
  worker_pool_actor pool;    ///< runs `source`
  actor_env env;             ///< the clock of the rate budget
};

struct account_state {
  static inline const char* name = "account";
  account_config cfg;
  std::optional<account_grant> grant;
  bool selecting = false;
  sys_time limit_until{};    ///< no grant before (the epoch = no limit)
  std::uint64_t timer_gen = 0;
  bool timer_armed = false;
  std::uint64_t selections = 0; ///< selection jobs started (tests)
  std::vector<caf::typed_response_promise<account_answer>> waiting;
};

using account_pointer = account_actor::stateful_pointer<account_state>;

account_actor::behavior_type account_behavior(account_pointer self, account_config cfg);

account_actor spawn_account(caf::actor_system& sys, account_config cfg);

} // namespace mda
