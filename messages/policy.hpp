// Messages of the retry/failover policy (reference §5.4, §5.5): a failed run reported by a
// domain actor, the plan for the next attempt, and the policy's memory of one MD.
// Times are wall-clock (mda::sys_time, the same type as caf::timestamp on this platform).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include "core/timefmt.hpp"

namespace mda {

/// A run of an MD failed: what the policy needs to plan the next attempt.
struct md_failure {
  std::string md;                   ///< the MD's name
  std::vector<std::string> ca_urls; ///< MDCertificateAuthority URLs in configured order
  std::string ca_url;               ///< the CA the failed run used; "" when none was chosen
  bool input_related = false;       ///< the run_failure's input_related
  sys_time retry_after{};           ///< its Retry-After; the epoch when none
  /// How many errors the failed run counts: 1, plus one per raised event whose command failed
  /// during it (mod_md's md_job_notify counts those too: a vetoed challenge-setup is 2 errors,
  /// so the retry waits twice MDRetryDelay).
  int counts = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, md_failure& x) {
  return f(caf::meta::type_name("md_failure"), x.md, x.ca_urls, x.ca_url, x.input_related,
           x.retry_after, x.counts);
}

/// The plan for the next attempt of an MD after a failure.
struct retry_plan {
  std::string md;
  std::int32_t errors = 0;   ///< failed runs in a row, the reported one included
  sys_time at{};             ///< when to try again
  caf::timespan delay{0};    ///< the jittered delay from the report (before Retry-After)
  bool capped = false;       ///< the delay before jitter is the cap (24 h)
  bool retry_after = false;  ///< Retry-After moved `at` later than the delay did
  std::uint32_t ca_index = 0; ///< index of ca_url in the reported list
  std::string ca_url;        ///< the CA to use for the next attempt ("" when none configured)
  bool ca_switched = false;  ///< a failover happened: wipe the staging of the old CA
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retry_plan& x) {
  return f(caf::meta::type_name("retry_plan"), x.md, x.errors, x.at, x.delay, x.capped,
           x.retry_after, x.ca_index, x.ca_url, x.ca_switched);
}

/// The policy's memory of one MD: seeded from job.json on start, shown in md-status.
struct md_policy_state {
  std::string md;
  std::int32_t errors = 0; ///< failed runs in a row (job.json "errors")
  std::string ca_url;      ///< the CA in use; "" when none was chosen yet
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, md_policy_state& x) {
  return f(caf::meta::type_name("md_policy_state"), x.md, x.errors, x.ca_url);
}

} // namespace mda
