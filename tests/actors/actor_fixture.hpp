// A CAF 0.17.6 actor system on the deterministic test_coordinator, for Catch2 tests (CAF's own
// caf/test/dsl.hpp needs CAF's test runner, so this is the small part of it we need).
//
// - Every actor runs on the test's thread, only when the test says: sched.run() runs until no
//   actor has a message; delayed messages fire only with sched.advance_time(d) (then run()).
// - A blocking request from `self` (a scoped_actor) must not wait before sched.run(): use
//   ask<T>(), which sends, runs, then takes the answer that is already in the mailbox.
// - The system waits in its destructor for every actor still alive, and under this scheduler
//   nobody runs them: stop(...) each actor a test spawned (exit + run) before the fixture goes.
// - Detached actors still get a thread of their own here: keep them out of these tests.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "messages/type_ids.hpp"

namespace mda::test {

struct actor_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;

  static caf::actor_system_config& init(caf::actor_system_config& c) {
    register_message_types(c);
    c.set("scheduler.policy", caf::atom("testing"));
    c.set("logger.file-verbosity", caf::atom("quiet"));
    c.set("logger.console-verbosity", caf::atom("quiet"));
    return c;
  }

  actor_fixture()
      : sys(init(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        self(sys, true) {}

  ~actor_fixture() { sched.run(); }

  /// Sends `xs` to `h` as a request, runs every actor, returns the answer; a missing answer
  /// or an error fails the test (an error also lands in *err when given).
  template <class T, class Handle, class... Ts>
  T ask(const Handle& h, Ts&&... xs) {
    auto rh = self->request(h, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    T out{};
    REQUIRE(self->has_next_message());
    rh.receive([&](T& x) { out = std::move(x); },
               [&](caf::error& e) { FAIL("unexpected error: " << error_text(e)); });
    return out;
  }

  /// Like ask(), for a request that must fail (T: the type of a good answer): the error.
  template <class T, class Handle, class... Ts>
  caf::error ask_error(const Handle& h, Ts&&... xs) {
    auto rh = self->request(h, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    caf::error out;
    REQUIRE(self->has_next_message());
    rh.receive([&](T&) { FAIL("unexpected answer"); },
               [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  /// Advances simulated time by `d` in steps of `step`, running all actors after each step
  /// (a re-armed delayed_send counts from when it is processed).
  void advance(caf::timespan d, caf::timespan step = std::chrono::milliseconds(100)) {
    while (d > caf::timespan{0}) {
      auto s = d < step ? d : step;
      sched.advance_time(s);
      sched.run();
      d -= s;
    }
  }

  /// Ends actors and runs them so they really terminate.
  template <class... Handles>
  void stop(const Handles&... hs) {
    (caf::anon_send_exit(hs, caf::exit_reason::user_shutdown), ...);
    sched.run();
  }

  /// The state of a stateful actor (for checks between steps).
  template <class State, class Handle>
  State& state_of(const Handle& h) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(h);
    auto* sa = dynamic_cast<caf::stateful_actor<State, typename Handle::base>*>(ptr);
    REQUIRE(sa != nullptr);
    return sa->state;
  }
};

} // namespace mda::test
