// Renewal decisions as pure functions of (MD, its certificates, its job, now, settings):
// whether and when a managed domain renews, why, and whether it is expiring (reference §5.3,
// §7 "Revocation -> renewal"; mod_md src/md_reg.c state_init, md_reg_renew_at,
// md_reg_should_warn, md_reg_has_revoked_certs; src/mod_md_drive.c process_drive_job,
// md_will_renew_cert, next_run_default; src/acme/md_acme_drive.c for the activation delay).
//
// - State: per key spec (or per MDCertificateFile) a certificate is missing, does not cover
//   every domain, or mismatches MDMustStaple -> incomplete, with mod_md's state-descr texts.
// - MDRenewMode: manual never renews; auto does not renew MDs with static certificate files
//   nor MDs no virtual host uses (those are not even watched); always renews them all.
// - When: now for an incomplete MD or a revoked certificate (OCSP), else the earliest over the
//   certificates of notAfter minus MDRenewWindow applied to that certificate's lifetime.
//   With MDRenewViaARI and a known renewalInfo answer (RFC 9773) the earlier of that and the
//   ARI time, which is never taken before the suggested window's start (beyond mod_md, §10.8);
//   the next ARI fetch is when the CA's Retry-After allows (beyond mod_md).
// - A job with errors waits for its retry time (backoff.hpp computes it); a finished job waits
//   for its ready-at time, then the "renewed" event, then activation.
// - MDWarnWindow applied the same way -> expiring; MDCheckInterval with mod_md's jitter;
//   MDInitialDelay; MDActivationDelay -> ready-at.
// - The state is recomputed from the certificates (as mod_md's state_init does on load); only
//   md.json's error / missing-information states are taken from the MD.
// Deviation: "expiring" is also reported while a retry is pending (mod_md looks only when the
// job runs; the event's 1-day rate limit makes the difference invisible).
// Not here: reading certificates or OCSP files (store/, ocsp), fetching ARI (acme/ari.hpp
// picks the time in the window), timers (actors), the events themselves (events.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/job.hpp"
#include "core/md.hpp"
#include "core/timefmt.hpp"
#include "core/x509.hpp"

namespace mda {

/// What the decisions need to know of one certificate slot: the leaf certificate of one key
/// spec (or of one MDCertificateFile), in the MD's order.
struct cert_facts {
  std::string spec;          ///< md_pkey_spec_name: "rsa", "P-256", ...
  bool present = false;      ///< false: there is no certificate for this slot
  sys_time not_before{};
  sys_time not_after{};
  bool covers_domains = false; ///< its subjectAltNames cover every domain of the MD
  bool must_staple = false;    ///< it carries the TLS feature status_request (RFC 7633)
  bool revoked = false;        ///< OCSP answered "revoked" for it
};

/// The slot names: one per MDCertificateFile when there are any, else one per key spec
/// ("rsa" for Default and when no spec is configured).
std::vector<std::string> certificate_slots(const managed_domain& md);

/// The facts of the leaves, one per slot (`leaves` in slot order; a missing or invalid entry
/// is a missing certificate). `revoked[i]`, when given, marks slot i as revoked.
std::vector<cert_facts> certificate_facts(const managed_domain& md,
                                          const std::vector<std::optional<certificate>>& leaves,
                                          const std::vector<bool>& revoked = {});

/// state_init: complete, or incomplete with the first problem in slot order:
/// "certificate(rsa) is missing", "certificate(rsa) does not cover all domains.",
/// "'must-staple' is requested, but certificate(rsa) has it not enabled." (and the "is not
/// requested ... has it enabled." form). Slots beyond `certs` count as missing.
struct md_assessment {
  md_state state = md_state::complete;
  std::string descr; ///< "" when complete
};
md_assessment assess_certificates(const managed_domain& md, const std::vector<cert_facts>& certs);

/// state_init's renew mode: MDRenewMode auto of an MD with MDCertificateFile is manual (its
/// certificates come from files); the configured mode otherwise.
md_renew_mode effective_renew_mode(const managed_domain& md);
/// md_will_renew_cert: the effective renew mode is not manual.
bool will_renew(const managed_domain& md);
/// Whether the MD gets a renewal job at all (mod_md "watched"): not in error, and used by a
/// virtual host unless the renew mode is not auto.
bool is_watched(const managed_domain& md, bool used);

/// The earliest renew-window start over the present certificates, and whose it is.
struct window_start {
  sys_time at{};
  std::string spec;
};
/// nullopt when no certificate is present (the caller renews now in that case).
std::optional<window_start> earliest_window_start(const std::vector<cert_facts>& certs,
                                                  const timeslice& window);

/// md_reg_should_warn for a complete MD: the warn window of any certificate has started.
bool warn_window_started(const std::vector<cert_facts>& certs, const timeslice& warn_window,
                         sys_time now);

/// What a renewalInfo answer said (RFC 9773 §4.2), as acme/ari.hpp computed it.
struct ari_hint {
  sys_time window_start{};
  sys_time window_end{};
  sys_time at{};           ///< the point chosen in the window
  sys_time next_check{};   ///< when to fetch again (Retry-After, §4.3)
  std::string explanation_url;
};

/// Settings of one MD that md.json does not carry as values: md_spec::renewal.
struct renewal_settings {
  timeslice renew_window = default_renew_window(); ///< MDRenewWindow, resolved
  timeslice warn_window = default_warn_window();   ///< MDWarnWindow, resolved
  bool used = true;                                ///< a virtual host uses the MD
};

/// Everything one decision looks at (references: the caller keeps the objects alive).
struct renewal_input {
  const managed_domain& md;
  const std::vector<cert_facts>& certs; ///< certificate_facts of the current certificates
  const mda::job& job;                  ///< the renewal job (staging/<md>/job.json)
  renewal_settings settings;            ///< resolved: the MD's md_spec::renewal
  std::optional<ari_hint> ari;          ///< the last renewalInfo answer (the earliest over
                                        ///< the certificates), when known
  /// MDActivation live: a staged set that was announced ("renewed" delivered) is served at
  /// once (activate_live); once served (job.live_since) it is the MD's current set and
  /// `certs` are its certificates: decided on like a complete MD's.
  bool live = false;
  /// An administrator asked for a renewal now (mdctl renew): renew whatever the renew window
  /// and a planned retry say. What keeps an MD from being renewed at all (MDRenewMode,
  /// static files, an unused MD, a staged set awaiting activation) still does.
  bool forced = false;
};

enum class renewal_action {
  none,           ///< nothing to do (not renewed here, or a renewed certificate awaits activation)
  wait,           ///< look again at `at`
  renew,          ///< run (or continue) the renewal now
  notify_renewed, ///< the staged certificate is ready: raise "renewed"
  activate_live,  ///< the announced staged set is to be served without a restart
};
const char* to_string(renewal_action a) noexcept;

struct renewal_decision {
  renewal_action action = renewal_action::none;
  sys_time at{};          ///< renew / notify_renewed: now; wait: when; none: the epoch
  std::string reason;     ///< for the log and md-replay --explain
  bool expiring = false;  ///< raise "expiring" (warn window started, job not finished)
  std::optional<sys_time> ari_check; ///< when to fetch renewalInfo (MDRenewViaARI, complete MD)
};

renewal_decision decide_renewal(const renewal_input& in, sys_time now);

/// When to look at the MD again: the earliest of the decision's time (unless none), its ARI
/// check, and `regular` (next_check_time).
sys_time next_look(const renewal_decision& d, sys_time regular);

/// The watchdog's next regular run: now + interval + interval * (c - 128) / 256 for a random
/// byte c (microsecond arithmetic as mod_md, so -50 % .. +49.6 %).
sys_time next_check_time(sys_time now, milliseconds check_interval, std::uint8_t c);
/// The first run: MDInitialDelay after start.
inline sys_time initial_check_time(sys_time start, milliseconds initial_delay) {
  return start + initial_delay;
}

/// MDRenewWindow / MDWarnWindow of md.json resolved against the server default ("" = unset).
/// A bad text is an error "<md name>: MDRenewWindow has unrecognized format" (and the like).
/// Called once per MD, by make_md_spec (core/md_spec.hpp); runtime code reads md_spec::renewal.
expected<renewal_settings> resolve_windows(const managed_domain& md, const renewal_settings& defaults);

/// md_reg_valid_until: the earliest notAfter of the present certificates.
std::optional<sys_time> valid_until(const std::vector<cert_facts>& certs);

/// The inputs of the ready-at computation at the end of a successful renewal.
struct activation_input {
  std::vector<sys_time> new_not_before;   ///< of each new leaf
  bool was_complete = false;              ///< the MD was complete before (old certificates)
  std::optional<sys_time> old_valid_until; ///< valid_until() of the old certificates
  milliseconds activation_delay{0};       ///< MDActivationDelay
  bool first_run = true;                  ///< this run obtained the certificates
};

/// ready_at = max(now, notBefore of the new certificates); when the MD was complete and the
/// old certificates are still valid, plus min(MDActivationDelay, their remaining validity).
/// A negative delay is mod_md's test hook: now + 1 s on the first run, else no delay.
sys_time compute_ready_at(const activation_input& in, sys_time now);

/// The result detail of a successful renewal (md_acme_drive.c): "The certificate for the
/// managed domain has been renewed successfully and can be used from <date> on." or "... can
/// be used (valid since <date>). A graceful server restart now is recommended."
std::string renewed_detail(sys_time ready_at, sys_time now);

} // namespace mda
