// Renewal decisions (reference §5.3). Each helper mirrors one mod_md function; decide_renewal
// strings them together in the order process_drive_job does.
#include "core/renewal.hpp"

#include <algorithm>

#include "core/md_spec.hpp"

namespace mda {

namespace {

using std::chrono::microseconds;

/// An interval longer than this is taken as this, so that time arithmetic cannot overflow.
constexpr microseconds k_max_check_interval{3650LL * 86400 * 1000000};

renewal_decision decided(renewal_action a, sys_time at, std::string reason) {
  renewal_decision d;
  d.action = a;
  d.at = at;
  d.reason = std::move(reason);
  return d;
}

std::string cert_name(const std::string& spec) { return "certificate(" + spec + ")"; }

std::string with_url(std::string text, const std::string& url) {
  if (!url.empty()) text += " (" + url + ")";
  return text;
}

/// Why a watched MD is not renewed by us, or "" when it is.
std::string not_renewed_reason(const managed_domain& md) {
  if (md.renew_mode == md_renew_mode::manual) return "MDRenewMode is manual: certificates are not renewed";
  if (!will_renew(md)) {
    return "MDCertificateFile is configured and MDRenewMode is auto: static certificates are not renewed";
  }
  return {};
}

/// A finished job: wait until the certificate is ready and any retry time has passed, then
/// notify; after that only activation (a server restart) is left.
renewal_decision finished_job(const job& j, sys_time now) {
  if (j.notified_renewed) {
    return decided(renewal_action::none, {},
                   "a renewed certificate is staged and waits for activation (graceful server restart)");
  }
  const sys_time until = std::max(j.next_run, j.valid_from);
  if (until > now) {
    if (j.errors > 0 && j.next_run == until) {
      return decided(renewal_action::wait, until, "retry notifying 'renewed' at " + format_rfc822(until));
    }
    return decided(renewal_action::wait, until,
                   "the renewed certificate can be used from " + format_rfc822(until) + " on");
  }
  return decided(renewal_action::notify_renewed, now, "the renewed certificate is ready: notify 'renewed'");
}

renewal_decision scheduled_job(const job& j) {
  if (j.errors > 0) {
    return decided(renewal_action::wait, j.next_run,
                   "retry after " + std::to_string(j.errors) + (j.errors == 1 ? " error" : " errors") +
                       " at " + format_rfc822(j.next_run));
  }
  return decided(renewal_action::wait, j.next_run, "the job is scheduled for " + format_rfc822(j.next_run));
}

/// A complete MD whose certificates are not revoked: the renew window, or ARI when earlier.
renewal_decision by_time(const renewal_input& in, sys_time now) {
  const timeslice& window = in.settings.renew_window;
  const auto start = earliest_window_start(in.certs, window);
  if (!start) return decided(renewal_action::renew, now, "no certificate is present");
  sys_time at = start->at;
  std::string why = cert_name(start->spec) + " renew window (" + format_timeslice(window) + ")";
  bool by_ari = false;
  std::optional<sys_time> ari_check;
  if (in.md.ari_renewals) {
    ari_check = now; // no answer known yet: ask now
    if (in.ari) {
      ari_check = in.ari->next_check;
      const sys_time ari_at = std::max(in.ari->at, in.ari->window_start);
      if (ari_at < at) {
        at = ari_at;
        by_ari = true;
      }
    }
  }
  renewal_decision d;
  if (at <= now) {
    d = decided(renewal_action::renew, now,
                by_ari ? with_url("ARI suggests renewal since " + format_rfc822(at), in.ari->explanation_url)
                       : why + " started " + format_rfc822(at));
  } else {
    d = decided(renewal_action::wait, at,
                by_ari ? with_url("ARI suggests renewal at " + format_rfc822(at), in.ari->explanation_url)
                       : why + " starts " + format_rfc822(at));
    d.ari_check = ari_check;
  }
  return d;
}

} // namespace

std::vector<std::string> certificate_slots(const managed_domain& md) {
  std::vector<std::string> slots;
  if (!md.cert_files.empty()) {
    for (std::size_t i = 0; i < md.cert_files.size(); ++i) {
      slots.push_back(i < md.key_specs.size() ? md.key_specs[i].name() : key_spec::default_spec().name());
    }
  } else {
    for (const auto& spec : effective_key_specs(md)) slots.push_back(spec.name());
  }
  return slots;
}

std::vector<cert_facts> certificate_facts(const managed_domain& md,
                                          const std::vector<std::optional<certificate>>& leaves,
                                          const std::vector<bool>& revoked) {
  std::vector<cert_facts> facts;
  const auto slots = certificate_slots(md);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    cert_facts f;
    f.spec = slots[i];
    if (i < leaves.size() && leaves[i] && leaves[i]->valid()) {
      const certificate& c = *leaves[i];
      f.present = true;
      f.not_before = c.not_before();
      f.not_after = c.not_after();
      f.covers_domains = c.covers(md.domains);
      f.must_staple = c.must_staple();
      f.revoked = i < revoked.size() && revoked[i];
    }
    facts.push_back(std::move(f));
  }
  return facts;
}

md_assessment assess_certificates(const managed_domain& md, const std::vector<cert_facts>& certs) {
  const auto slots = certificate_slots(md);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const std::string name = cert_name(slots[i]);
    if (i >= certs.size() || !certs[i].present) {
      return {md_state::incomplete, name + " is missing"};
    }
    if (!certs[i].covers_domains) {
      return {md_state::incomplete, name + " does not cover all domains."};
    }
    if (md.must_staple != certs[i].must_staple) {
      return {md_state::incomplete, std::string("'must-staple' is") + (md.must_staple ? "" : " not") +
                                        " requested, but " + name + " has it" +
                                        (md.must_staple ? " not" : "") + " enabled."};
    }
  }
  return {};
}

md_renew_mode effective_renew_mode(const managed_domain& md) {
  if (md.renew_mode == md_renew_mode::automatic && !md.cert_files.empty()) return md_renew_mode::manual;
  return md.renew_mode;
}

bool will_renew(const managed_domain& md) { return effective_renew_mode(md) != md_renew_mode::manual; }

bool is_watched(const managed_domain& md, bool used) {
  return md.state != md_state::error && (md.renew_mode != md_renew_mode::automatic || used);
}

std::optional<window_start> earliest_window_start(const std::vector<cert_facts>& certs,
                                                  const timeslice& window) {
  std::optional<window_start> first;
  for (const auto& c : certs) {
    if (!c.present) continue;
    const sys_time start = slice_before_end(window, {c.not_before, c.not_after}).start;
    if (!first || start < first->at) first = window_start{start, c.spec};
  }
  return first;
}

bool warn_window_started(const std::vector<cert_facts>& certs, const timeslice& warn_window,
                         sys_time now) {
  return std::any_of(certs.begin(), certs.end(), [&](const cert_facts& c) {
    return c.present && now >= slice_before_end(warn_window, {c.not_before, c.not_after}).start;
  });
}

const char* to_string(renewal_action a) noexcept {
  switch (a) {
    case renewal_action::none: return "none";
    case renewal_action::wait: return "wait";
    case renewal_action::renew: return "renew";
    case renewal_action::notify_renewed: return "notify-renewed";
    case renewal_action::activate_live: return "activate-live";
  }
  return "none";
}

renewal_decision decide_renewal(const renewal_input& in, sys_time now) {
  const managed_domain& md = in.md;
  if (md.state == md_state::error) {
    return decided(renewal_action::none, {},
                   md.state_descr.empty() ? "the managed domain is in error"
                                          : "the managed domain is in error: " + md.state_descr);
  }
  if (md.state == md_state::missing_information) {
    return decided(renewal_action::none, {}, "information is missing: the configuration needs to change");
  }
  if (!is_watched(md, in.settings.used)) {
    return decided(renewal_action::none, {}, "MDRenewMode is auto and no virtual host uses the managed domain");
  }
  if (in.job.finished) {
    if (!in.live || !in.job.notified_renewed) return finished_job(in.job, now);
    if (in.job.live_since == sys_time{}) {
      return decided(renewal_action::activate_live, now,
                     "the renewed certificate is announced: serve it without a restart (MDActivation live)");
    }
    // served from staging since live_since: the current certificates, looked at as any
  }

  const md_assessment state = assess_certificates(md, in.certs);
  const bool complete = state.state == md_state::complete;
  const bool expiring = complete && warn_window_started(in.certs, in.settings.warn_window, now);
  renewal_decision d;
  if (const std::string why = not_renewed_reason(md); !why.empty()) {
    d = decided(renewal_action::none, {}, why);
  } else if (in.forced) {
    d = decided(renewal_action::renew, now, "a renewal was asked for (mdctl renew)");
  } else if (in.job.next_run > now) {
    d = scheduled_job(in.job);
  } else if (!complete) {
    d = decided(renewal_action::renew, now, state.descr);
  } else if (const auto r = std::find_if(in.certs.begin(), in.certs.end(),
                                         [](const cert_facts& c) { return c.present && c.revoked; });
             r != in.certs.end()) {
    d = decided(renewal_action::renew, now, cert_name(r->spec) + " is revoked (OCSP)");
  } else {
    d = by_time(in, now);
  }
  d.expiring = expiring;
  return d;
}

sys_time next_look(const renewal_decision& d, sys_time regular) {
  sys_time t = regular;
  if (d.action != renewal_action::none && d.at < t) t = d.at;
  if (d.ari_check && *d.ari_check < t) t = *d.ari_check;
  return t;
}

sys_time next_check_time(sys_time now, milliseconds check_interval, std::uint8_t c) {
  auto iv = std::chrono::duration_cast<microseconds>(check_interval);
  iv = std::clamp(iv, microseconds{0}, k_max_check_interval);
  // iv * (c - 128) / 256 without overflow: split iv into 256 q + r (both >= 0).
  const std::int64_t k = static_cast<int>(c) - 128;
  const std::int64_t q = iv.count() / 256, r = iv.count() % 256;
  return now + iv + microseconds{q * k + r * k / 256};
}

expected<renewal_settings> resolve_windows(const managed_domain& md, const renewal_settings& defaults) {
  renewal_settings s = defaults;
  if (!md.renew_window.empty()) {
    auto w = parse_renew_window(md.renew_window);
    if (!w) return w.error().prefixed(md.name);
    s.renew_window = *w;
  }
  if (!md.warn_window.empty()) {
    auto w = parse_warn_window(md.warn_window);
    if (!w) return w.error().prefixed(md.name);
    s.warn_window = *w;
  }
  return s;
}

std::optional<sys_time> valid_until(const std::vector<cert_facts>& certs) {
  std::optional<sys_time> until;
  for (const auto& c : certs) {
    if (c.present && (!until || c.not_after < *until)) until = c.not_after;
  }
  return until;
}

sys_time compute_ready_at(const activation_input& in, sys_time now) {
  sys_time ready = now;
  for (const auto& nb : in.new_not_before) ready = std::max(ready, nb);
  if (!in.was_complete) return ready;
  if (in.activation_delay.count() < 0) {
    return in.first_run ? now + std::chrono::seconds{1} : ready; // mod_md's test hook
  }
  if (in.old_valid_until && *in.old_valid_until > now) {
    const auto remaining = *in.old_valid_until - now;
    const auto delay = std::chrono::duration_cast<sys_clock::duration>(in.activation_delay);
    ready += std::min<sys_clock::duration>(delay, remaining);
  }
  return ready;
}

std::string renewed_detail(sys_time ready_at, sys_time now) {
  const std::string head = "The certificate for the managed domain has been renewed successfully and can be used";
  if (ready_at > now) return head + " from " + format_rfc822(ready_at) + " on.";
  return head + " (valid since " + format_rfc822(ready_at) + "). A graceful server restart now is recommended.";
}

} // namespace mda
