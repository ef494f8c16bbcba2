// Retry delays and CA failover (reference §5.4, §5.5). Arithmetic is done in milliseconds
// with the rounding mod_md applies in microseconds: the jitter is computed on whole seconds.
#include "core/backoff.hpp"

#include <algorithm>
#include <limits>

namespace mda {

milliseconds base_retry_delay(const retry_policy& policy, int errors, bool input_related) {
  const milliseconds cap = std::max(policy.max_delay, milliseconds{0});
  if (input_related) return cap;
  if (errors <= 0 || policy.min_delay.count() <= 0) return milliseconds{0};
  const int shift = errors - 1;
  const std::int64_t base = policy.min_delay.count();
  // Doubling past 62 bits cannot fit; below that, compare before shifting.
  if (shift >= 62 || base > (std::numeric_limits<std::int64_t>::max() >> shift)) return cap;
  return std::min(milliseconds{base << shift}, cap);
}

milliseconds jitter_retry_delay(milliseconds delay, std::uint8_t c) {
  if (delay.count() <= 0) return delay;
  const std::int64_t secs = delay.count() / 1000;
  const std::int64_t offset = secs * (static_cast<int>(c) - 128) / 256; // truncates toward 0
  return delay + milliseconds{offset * 1000};
}

retry_decision next_retry(const retry_policy& policy, const failure_info& failure, sys_time now,
                          std::uint8_t c) {
  retry_decision d;
  const milliseconds base = base_retry_delay(policy, failure.errors, failure.input_related);
  d.capped = base.count() > 0 && base == policy.max_delay;
  d.delay = jitter_retry_delay(base, c);
  d.at = now + d.delay;
  if (failure.retry_after && *failure.retry_after > d.at) {
    d.at = *failure.retry_after;
    d.retry_after = true;
  }
  return d;
}

ca_choice choose_ca(const std::vector<std::string>& urls, const std::string& current, int errors,
                    const retry_policy& policy) {
  ca_choice choice;
  if (urls.empty()) return choice;
  const auto it = std::find(urls.begin(), urls.end(), current);
  if (it == urls.end()) {
    choice.url = urls.front();
    return choice;
  }
  choice.index = static_cast<std::size_t>(it - urls.begin());
  const int every = std::max(policy.failover_after, 1);
  if (urls.size() > 1 && errors > 0 && errors % every == 0) {
    choice.index = (choice.index + 1) % urls.size();
    choice.switched = true;
  }
  choice.url = urls[choice.index];
  return choice;
}

} // namespace mda
