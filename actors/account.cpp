// The account actor (see account.hpp).
#include "actors/account.hpp"

#include <chrono>
#include <utility>

#include "actors/worker_pool.hpp"

namespace mda {

namespace {

/// Answers what can be answered now; arms the budget timer when a limit holds requests back.
void flush(account_pointer self) {
  auto& st = self->state;
  if (st.waiting.empty() || !st.grant) return;
  auto now = st.cfg.env.clock->now();
  if (now < st.limit_until) {
    if (!st.timer_armed) {
      st.timer_armed = true;
      auto d = std::chrono::duration_cast<caf::timespan>(st.limit_until - now);
      self->delayed_send(self, d, wake_atom_v, ++st.timer_gen);
    }
    return;
  }
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& p : waiting) p.deliver(account_answer{st.grant, std::nullopt});
}

void select(account_pointer self) {
  auto& st = self->state;
  if (st.selecting) return;
  st.selecting = true;
  ++st.selections;
  auto source = st.cfg.source;
  run_blocking(
      self, st.cfg.pool, "account " + st.cfg.ca_url, [source] { return source(); },
      [self](account_answer a) {
        auto& st = self->state;
        st.selecting = false;
        if (a.grant) {
          st.grant = a.grant;
          flush(self);
          return;
        }
        account_answer fail = std::move(a);
        if (!fail.failure) fail.failure = plain_failure("account selection returned nothing");
        auto waiting = std::move(st.waiting);
        st.waiting.clear();
        for (auto& p : waiting) p.deliver(fail);
      },
      [self](const caf::error& e) {
        auto& st = self->state;
        st.selecting = false;
        auto waiting = std::move(st.waiting);
        st.waiting.clear();
        for (auto& p : waiting) p.deliver(account_answer{std::nullopt, plain_failure(error_text(e))});
      });
}

} // namespace

account_actor::behavior_type account_behavior(account_pointer self, account_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](account_atom) -> caf::typed_response_promise<account_answer> {
      auto p = self->make_response_promise<account_answer>();
      self->state.waiting.push_back(p);
      if (self->state.grant)
        flush(self);
      else
        select(self);
      return p;
    },
    [self](limit_atom, sys_time until) {
      auto& st = self->state;
      if (until > st.limit_until) {
        st.limit_until = until;
        st.timer_armed = false; // a new timer for the later time
        ++st.timer_gen;
        flush(self);
      }
    },
    [self](wake_atom, std::uint64_t gen) {
      auto& st = self->state;
      if (gen != st.timer_gen) return;
      st.timer_armed = false;
      flush(self);
    },
  };
}

account_actor spawn_account(caf::actor_system& sys, account_config cfg) {
  return sys.spawn(account_behavior, std::move(cfg));
}

} // namespace mda
