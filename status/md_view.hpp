// One MD's status entry (md_snapshot) from what is known about it: its configuration, the
// certificates in domains/ and in staging/, its staging job. The same rules wherever the
// entry is made: by the engine's domain actors while they run, and by the Apache parent at
// start (from the store), so md-status knows every configured MD from the first request on,
// as mod_md's does (it reads the store per request).
//
// - certs: one place per certificate_slots(md), filled from `leaves` by index.
// - staged_certs: one place per key spec (the default spec when none is configured), filled
//   from `staged` by index; the places are kept even when empty (certificate-status shows
//   "renewal": {"cert": {}} until something is staged).
// - renew-at as md_reg_renew_at: where the earliest renew window starts (the windows as the
//   MD's md_spec resolved them); `now` when a certificate is missing.
// - "renewal" whenever a staging job exists; "renew" then, while a run is going on, or when
//   renew-at has come (md_reg_should_renew) — whatever MDRenewMode says, as mod_md's
//   md-status shows it (a certificate from a file that runs out is "renew": true).
// Not here: reading the store (store/staging.hpp), the actor (actors/domain.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/job.hpp"
#include "core/md.hpp"
#include "core/renewal.hpp"
#include "core/timefmt.hpp"
#include "core/x509.hpp"
#include "status/snapshot.hpp"

namespace mda {

/// What an MD's entry is made of (references: nothing is copied until the entry is made).
struct md_view_facts {
  const managed_domain& md;
  const renewal_settings& windows;                        ///< resolved: md_spec::renewal
  const std::vector<std::optional<certificate>>& leaves;  ///< per certificate_slots(md)
  const std::vector<std::optional<certificate>>& staged;  ///< per key spec; may be shorter
  const job* renewal = nullptr;  ///< the staging job when there is one (a run started or ended)
  bool renewing = false;         ///< a run is going on right now
  std::string ca_in_use;         ///< the CA the current run talks to; "" = none
  sys_time next_run{};           ///< when the engine looks next; epoch = unknown
  sys_time now{};
};

md_snapshot describe_md(const md_view_facts& f);

/// The names of the staged certificate places: the key specs, or the default spec.
std::vector<std::string> staged_slot_names(const managed_domain& md);

/// The staged places of an entry (md_snapshot::staged_certs) from staging/'s leaves per key
/// spec: what a reader of the store sees now (certificate-status reads them per request).
std::vector<cert_slot> staged_cert_slots(const managed_domain& md,
                                         const std::vector<std::optional<certificate>>& staged);

} // namespace mda
