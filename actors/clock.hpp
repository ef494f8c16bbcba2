// Time and randomness for actors, injected so tests control both.
//
// - `actor_clock_time_source`: a time_source that reads CAF's actor clock. In production that
//   is the steady clock; under the test_coordinator it is the simulated clock, so
//   `sched.advance_time(d)` moves timers (delayed_send) and the wall time actors read by
//   exactly the same amount.
// - `random_source`: bytes for jitter (mod_md's backoff jitter takes one byte). The system one
//   is a seeded mt19937 (jitter needs spread, not secrecy); tests use a fixed sequence.
// - `actor_env`: the pair every actor config carries.
// Not here: crypto randomness (core/digest.hpp random_bytes), timers (CAF's delayed_send).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include <caf/fwd.hpp>

#include "core/timefmt.hpp"

namespace mda {

/// Random bytes for jitter. Thread-safe: shared by actors on any scheduler thread.
class random_source {
 public:
  virtual ~random_source() = default;
  virtual std::uint8_t next_byte() = 0;
};

/// mt19937 seeded from std::random_device.
class system_random_source final : public random_source {
 public:
  system_random_source();
  std::uint8_t next_byte() override;

 private:
  std::mutex mtx_;
  std::mt19937 gen_;
};

/// The given bytes in turn, starting over after the last (128 when constructed empty: the
/// byte that makes mod_md's jitter zero).
class sequence_random_source final : public random_source {
 public:
  explicit sequence_random_source(std::vector<std::uint8_t> bytes);
  std::uint8_t next_byte() override;

 private:
  std::mutex mtx_;
  std::vector<std::uint8_t> bytes_;
  std::size_t next_ = 0;
};

/// Wall time = `wall_at_start` + time elapsed on the actor clock since construction;
/// monotonic time = the actor clock. Keep the actor_system alive longer than this object.
class actor_clock_time_source final : public time_source {
 public:
  actor_clock_time_source(caf::actor_system& sys, sys_time wall_at_start);
  sys_time now() const override;
  mono_time mono_now() const override;

 private:
  caf::actor_system* sys_;
  sys_time wall_start_;
  mono_time mono_start_;
};

/// The clock and the random source an actor reads; both required.
struct actor_env {
  std::shared_ptr<const time_source> clock;
  std::shared_ptr<random_source> random;
};

/// The real clocks and a system_random_source.
actor_env make_system_env();

/// For tests under the test_coordinator: the actor clock of `sys` starting at `wall_at_start`,
/// and the bytes in turn.
actor_env make_test_env(caf::actor_system& sys, sys_time wall_at_start,
                        std::vector<std::uint8_t> random_bytes = {});

} // namespace mda
