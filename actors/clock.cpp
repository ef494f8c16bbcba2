// Time and randomness for actors (see clock.hpp).
#include "actors/clock.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>

namespace mda {

system_random_source::system_random_source() : gen_(std::random_device{}()) {}

std::uint8_t system_random_source::next_byte() {
  std::lock_guard<std::mutex> guard{mtx_};
  return static_cast<std::uint8_t>(gen_() & 0xffu);
}

sequence_random_source::sequence_random_source(std::vector<std::uint8_t> bytes)
    : bytes_(std::move(bytes)) {}

std::uint8_t sequence_random_source::next_byte() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (bytes_.empty())
    return 128;
  auto b = bytes_[next_];
  next_ = (next_ + 1) % bytes_.size();
  return b;
}

actor_clock_time_source::actor_clock_time_source(caf::actor_system& sys, sys_time wall_at_start)
    : sys_(&sys), wall_start_(wall_at_start), mono_start_(sys.clock().now()) {}

sys_time actor_clock_time_source::now() const {
  auto elapsed = sys_->clock().now() - mono_start_;
  return wall_start_ + std::chrono::duration_cast<sys_clock::duration>(elapsed);
}

mono_time actor_clock_time_source::mono_now() const { return sys_->clock().now(); }

actor_env make_system_env() {
  return actor_env{std::make_shared<system_time_source>(),
                   std::make_shared<system_random_source>()};
}

actor_env make_test_env(caf::actor_system& sys, sys_time wall_at_start,
                        std::vector<std::uint8_t> random_bytes) {
  return actor_env{std::make_shared<actor_clock_time_source>(sys, wall_at_start),
                   std::make_shared<sequence_random_source>(std::move(random_bytes))};
}

} // namespace mda
