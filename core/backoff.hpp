// The retry and CA failover policy of a renewal job, as data plus pure functions
// (reference §5.4, §5.5; mod_md md_job_delay_on_errors in src/md_status.c, acme_renew in
// src/md_acme_drive.c).
//
// - Delay: MDRetryDelay doubled per error in a row (min_delay * 2^(n-1)), capped at 24 h, the
//   cap also taken when the doubling overflows; an input-related ACME problem (the caller
//   classifies it, see acme::classify) goes straight to the cap. No error, no delay.
// - Jitter as mod_md: delay += whole_seconds(delay) * (c - 128) / 256 seconds for one random
//   byte c (C integer division), so -50 % (c = 0) .. +49.6 % (c = 255); the jittered delay
//   may exceed the cap (a capped 24 h becomes 12 h .. ~35.9 h). Sub-second delays get none.
// - Retry-After (RFC 9110 §10.2.3, RFC 8555 §6.6): never retry before it. Beyond mod_md, which
//   ignores it (reference §10.8).
// - CA failover with more than one MDCertificateAuthority: beyond mod_md, rotate to the next
//   CA once per MDRetryFailover errors (after errors N, 2N, 3N, ...). mod_md rotates on every
//   attempt once errors >= MDRetryFailover (reference §10.11), which hops CAs on each retry
//   and never gives the new CA MDRetryFailover chances; we give each CA its full share.
//
// Not here: classifying problems (acme/problem.hpp), counting errors (the job), running the
// timer (the actors), wiping staging after a switch (the domain actor).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/timefmt.hpp"

namespace mda {

using std::chrono::milliseconds;

/// MDRetryDelay's default (reference §1.3).
inline constexpr milliseconds k_default_retry_delay{30 * 1000};
/// The cap of the delay, fixed in mod_md ("retry daily").
inline constexpr milliseconds k_max_retry_delay{24LL * 3600 * 1000};
/// MDRetryFailover's default.
inline constexpr int k_default_retry_failover = 13;

/// The policy: MDRetryDelay, the cap and MDRetryFailover.
struct retry_policy {
  milliseconds min_delay = k_default_retry_delay;
  milliseconds max_delay = k_max_retry_delay;
  int failover_after = k_default_retry_failover; ///< errors per CA before switching (> 0)
};

/// What is known about the failure that was just counted.
struct failure_info {
  int errors = 0;             ///< failed runs in a row, this one included (job.errors)
  bool input_related = false; ///< the last problem is input related (reference §5.4)
  std::optional<sys_time> retry_after; ///< the server asked us to wait until then
};

/// The delay before jitter: 0 for errors <= 0 (unless input related), else
/// min_delay * 2^(errors-1), capped at max_delay (also on overflow, e.g. errors = 64).
milliseconds base_retry_delay(const retry_policy& policy, int errors, bool input_related);

/// mod_md's jitter with the random byte c: delay + whole_seconds(delay) * (c - 128) / 256 s.
milliseconds jitter_retry_delay(milliseconds delay, std::uint8_t c);

struct retry_decision {
  sys_time at{};            ///< when to try again
  milliseconds delay{0};    ///< the jittered delay from now (before Retry-After)
  bool capped = false;      ///< the base delay is the cap (input related or enough errors)
  bool retry_after = false; ///< Retry-After moved `at` later than the delay did
};

/// When to retry after `failure`: now + jitter(base delay), but not before Retry-After.
retry_decision next_retry(const retry_policy& policy, const failure_info& failure, sys_time now,
                          std::uint8_t c);

struct ca_choice {
  std::size_t index = 0; ///< into the configured URL list
  std::string url;       ///< "" when no CA is configured
  bool switched = false; ///< a failover happened: the staging of the old CA is to be wiped
};

/// The CA for the next attempt. `current` is the effective CA (staging md.json "ca.url"),
/// `errors` the failed runs in a row before this attempt. The first CA is taken when none is
/// chosen yet or the chosen one is no longer configured (no switch then). With more than one
/// CA, the next one (round robin) is taken when errors > 0 and errors % failover_after == 0.
/// Call it once per attempt: the rotation is keyed to the error count reaching a multiple.
ca_choice choose_ca(const std::vector<std::string>& urls, const std::string& current, int errors,
                    const retry_policy& policy);

} // namespace mda
