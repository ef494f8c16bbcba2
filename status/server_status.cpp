#include "status/server_status.hpp"

#include <algorithm>
#include <tuple>

#include "core/config_values.hpp"
#include "status/md_status.hpp"
#include "status/status_text.hpp"

namespace mda {

namespace {

using status_text::cell;
using status_text::writer;

std::string md_state_text(const md_snapshot& m, sys_time now) {
  switch (m.md.state) {
    case md_state::incomplete:
      return m.md.state_descr.empty() ? "incomplete" : "incomplete: " + m.md.state_descr;
    case md_state::expired_deprecated:
    case md_state::complete: {
      auto valid = certs_valid(m.certs);
      return !valid || valid->end == sys_time{} || valid->end > now ? "good" : "expired";
    }
    case md_state::error: return "error";
    case md_state::missing_information: return "missing information";
    default: return "unknown";
  }
}

std::size_t count_certs(const std::vector<cert_slot>& slots) {
  return static_cast<std::size_t>(std::count_if(slots.begin(), slots.end(), [](const cert_slot& s) { return s.cert.has_value(); }));
}

void ca_cell(writer& w, const md_ca& ca) {
  auto one = [&](const std::string& url, std::size_t i) {
    if (url.empty()) return;
    w.link("CA", url, ca.proto == "tailscale" ? "tailscale" : ca_name_from_url(url), i);
  };
  if (!ca.url.empty()) one(ca.url, 0); // the CA in effect
  else for (std::size_t i = 0; i < ca.urls.size(); ++i) one(ca.urls[i], i);
}

void check_at_cell(writer& w, const status_snapshot& s, const md_snapshot& m) {
  if (s.cert_check_name.empty() || s.cert_check_url.empty()) return;
  w.nested("CheckAt", [&] {
    for (const auto& slot : m.certs) {
      if (!slot.cert || slot.cert->sha256_fingerprint.empty()) continue;
      const std::string& fp = slot.cert->sha256_fingerprint;
      if (w.html) {
        w.out += "<a href=\"" + s.cert_check_url + fp + "\">" + s.cert_check_name + "[" + slot.name + "]</a><br>";
      } else {
        w.line("Type", slot.name);
        w.line("Name", s.cert_check_name);
        w.line("URL", s.cert_check_url + fp);
        w.line("Fingerprint", fp);
      }
    }
  });
}

void activity_cell(writer& w, const md_snapshot& m) {
  w.nested("Activity", [&] {
    if (m.renewal) {
      w.job_summary(*m.renewal, count_certs(m.staged_certs), "");
    } else if (m.renew_at > w.now) {
      w.time("Renew", m.renew_at);
    } else if (m.renew_at != sys_time{}) {
      w.value("", "Pending");
    } else if (m.md.renew_mode == md_renew_mode::manual) {
      w.value("", "Manual renew");
    }
  });
}

std::vector<cell> md_cells(const status_snapshot& s, const md_snapshot& m) {
  return {
      {"Domain", [&](writer& w) { if (!m.md.name.empty()) w.value("Domain", m.md.name); }},
      {"Names", [&](writer& w) {
         const auto names = compact_names(m.md.domains);
         if (!w.html) {
           for (std::size_t i = 0; i < names.size(); ++i) w.line("Names[" + std::to_string(i) + "]", names[i]);
           return;
         }
         w.out += "<div style=\"max-width:400px;\">";
         for (std::size_t i = 0; i < names.size(); ++i) w.out += (i ? " " : "") + names[i];
         w.out += "</div>";
       }},
      {"Status", [&](writer& w) { w.value("Status", md_state_text(m, w.now)); }},
      {"Valid", [&](writer& w) {
         if (auto v = certs_valid(m.certs)) w.valid("Valid", v->start, v->end);
       }},
      {"CA", [&](writer& w) { ca_cell(w, m.md.ca); }},
      {"Stapling", [&](writer& w) { if (m.md.stapling) w.value("Stapling", "on"); }},
      {"CheckAt", [&](writer& w) { check_at_cell(w, s, m); }},
      {"Activity", [&](writer& w) { activity_cell(w, m); }},
  };
}

/// md_status_take_stock. A renewal counts as errored when its job had errors or its last
/// run failed, as ready when it finished.
void certificate_totals(writer& w, const std::vector<const md_snapshot*>& mds) {
  int complete = 0, renewing = 0, errored = 0, ready = 0;
  for (const md_snapshot* m : mds) {
    const md_state st = m->md.state;
    if (st != md_state::complete && st != md_state::incomplete) {
      ++errored;
      continue;
    }
    if (st == md_state::complete) ++complete;
    if (!renew_due(*m)) continue;
    ++renewing;
    if (!m->renewal) continue;
    if (m->renewal->errors > 0 || (m->renewal->last && m->renewal->last->status != 0)) ++errored;
    else if (m->renewal->finished) ++ready;
  }
  w.line("Total", std::to_string(mds.size()));
  w.line("OK", std::to_string(complete));
  w.line("Renew", std::to_string(renewing));
  w.line("Errored", std::to_string(errored));
  w.line("Ready", std::to_string(ready));
}

std::vector<cell> stapling_cells(const status_snapshot& s, const stapling_info& st) {
  return {
      {"Domain", [&](writer& w) { w.value("Domain", st.domain); }},
      {"CertificateID", [&](writer& w) { w.value("CertificateID", st.id); }},
      {"OCSPStatus", [&](writer& w) { w.value("OCSPStatus", to_string(st.status)); }},
      {"StaplingValid", [&](writer& w) { w.valid("StaplingValid", st.valid_from, st.valid_until); }},
      {"Responder", [&](writer& w) {
         if (!st.responder_url.empty()) w.link("Responder", st.responder_url, ca_name_from_url(st.responder_url), 0);
       }},
      {"Activity", [&](writer& w) {
         w.nested("Activity", [&] {
           w.time("Refresh", st.renew_at);
           // md_ocsp.c mk_jstat: the job is shown while there is no answer or a refresh is due.
           const job* jb = ocsp_job_of(s, st.domain);
           if (jb && (st.status == ocsp_cert_status::unknown || st.renew_at < w.now)) w.job_summary(*jb, 0, ": ");
         });
       }},
  };
}

} // namespace

std::string managed_certificates_status(const status_snapshot& s, sys_time now, status_form form) {
  writer w{form == status_form::html, now, {}, "ManagedCertificates"};
  std::vector<const md_snapshot*> mds;
  for (const auto& m : s.mds) mds.push_back(&m);
  std::stable_sort(mds.begin(), mds.end(),
                   [](const md_snapshot* a, const md_snapshot* b) { return a->md.name < b->md.name; });
  if (!w.html) certificate_totals(w, mds);
  if (mds.empty()) return w.out;
  auto rows = [&] {
    for (std::size_t i = 0; i < mds.size(); ++i) status_text::row(w, "ManagedDomain", i, md_cells(s, *mds[i]));
  };
  if (w.html) status_text::table(w, "Managed Certificates", "md_status", md_cells(s, *mds.front()), rows);
  else rows();
  return w.out;
}

std::string managed_staplings_status(const status_snapshot& s, sys_time now, status_form form) {
  writer w{form == status_form::html, now, {}, "ManagedStaplings"};
  std::vector<const stapling_info*> rows;
  for (const auto& st : s.staplings) rows.push_back(&st);
  std::stable_sort(rows.begin(), rows.end(), [](const stapling_info* a, const stapling_info* b) {
    return std::tie(a->domain, a->id) < std::tie(b->domain, b->id);
  });
  if (!w.html) {
    auto count = [&](ocsp_cert_status st) {
      return std::to_string(std::count_if(rows.begin(), rows.end(), [&](const stapling_info* r) { return r->status == st; }));
    };
    // mod_md's labels: "Renew" counts revoked responses, "Errored" unknown ones (kept).
    w.line("Total", std::to_string(rows.size()));
    w.line("OK", count(ocsp_cert_status::good));
    w.line("Renew", count(ocsp_cert_status::revoked));
    w.line("Errored", count(ocsp_cert_status::unknown));
  }
  if (rows.empty()) return w.out;
  auto body = [&] {
    for (std::size_t i = 0; i < rows.size(); ++i)
      status_text::row(w, "ManagedStapling", i, stapling_cells(s, *rows[i]));
  };
  if (w.html) status_text::table(w, "Managed Staplings", "md_ocsp_status", stapling_cells(s, *rows.front()), body);
  else body();
  return w.out;
}

std::string server_status(const status_snapshot& s, sys_time now, status_form form) {
  return managed_certificates_status(s, now, form) + managed_staplings_status(s, now, form);
}

} // namespace mda
