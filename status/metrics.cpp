// Prometheus / OpenMetrics text of the MDs (see metrics.hpp).
#include "status/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "status/md_status.hpp"

namespace mda {

namespace {

enum class kind { gauge, counter, info };

/// A family as both formats describe it. `name` is the OpenMetrics family name; the sample
/// (and the 0.0.4 family) adds "_total" to a counter's and "_info" to an info's.
struct family {
  const char* name;
  kind type;
  bool seconds; ///< OpenMetrics "# UNIT <name> seconds"
  const char* help;
};

constexpr std::array<family, k_md_families> k_md_family_table = {{
  {"mdactor_certificate_not_after_timestamp_seconds", kind::gauge, true,
   "When the certificate expires (notAfter), in unix seconds."},
  {"mdactor_certificate_not_before_timestamp_seconds", kind::gauge, true,
   "When the certificate became valid (notBefore), in unix seconds."},
  {"mdactor_certificate", kind::info, false,
   "The certificate's serial number, SHA-256 fingerprint and issuer."},
  {"mdactor_certificate_served", kind::gauge, false,
   "1 when the certificate is the one served for the MD, 0 when it only sits in the store."},
  {"mdactor_md_renew_at_timestamp_seconds", kind::gauge, true,
   "When the renewal of the MD is planned, in unix seconds."},
  {"mdactor_md_renewal_state", kind::gauge, false,
   "1 for the MD's renewal state (ok, due, renewing, error), 0 for the others."},
  {"mdactor_md_renewal_errors", kind::gauge, false,
   "Failed renewal runs of the MD in a row (0 after a success)."},
  {"mdactor_md_renewal_last_error_timestamp_seconds", kind::gauge, true,
   "When the MD's renewal last failed, in unix seconds."},
  {"mdactor_md_last_renewal_duration_seconds", kind::gauge, true,
   "How long the MD's last successful renewal run took, from its start to its certificate."},
  {"mdactor_ocsp_staple_this_update_timestamp_seconds", kind::gauge, true,
   "The stapled OCSP response's thisUpdate in unix seconds (its age: time() minus this)."},
  {"mdactor_ocsp_staple_next_update_timestamp_seconds", kind::gauge, true,
   "The stapled OCSP response's nextUpdate, in unix seconds."},
  {"mdactor_ocsp_staple_refresh_timestamp_seconds", kind::gauge, true,
   "When the OCSP response is to be fetched anew, in unix seconds."},
  {"mdactor_ocsp_staple_status", kind::gauge, false,
   "1 for the certificate's OCSP status (good, revoked, unknown), 0 for the others."},
}};

constexpr family k_engine_up{"mdactor_engine_up", kind::gauge, false,
                             "1 when the engine answered this scrape, 0 when it was read from the status file."};
constexpr family k_engine_restarts{"mdactor_engine_restarts", kind::counter, false,
                                   "Engine processes started anew after one ended, since Apache's last (re)start."};
constexpr family k_engine_started{"mdactor_engine_start_time_seconds", kind::gauge, true,
                                  "When the running engine started, in unix seconds."};
constexpr family k_orders{"mdactor_orders_in_flight", kind::gauge, false,
                          "Renewal runs in progress right now."};
constexpr family k_mds{"mdactor_managed_domains", kind::gauge, false, "Managed domains (MDs) configured."};

std::string sample_name(const family& f) {
  switch (f.type) {
    case kind::counter: return std::string(f.name) + "_total";
    case kind::info: return std::string(f.name) + "_info";
    case kind::gauge: break;
  }
  return f.name;
}

void append_header(std::string& out, const family& f, metrics_format fmt) {
  const bool om = fmt == metrics_format::openmetrics;
  const std::string name = om ? std::string(f.name) : sample_name(f);
  const char* type = f.type == kind::counter ? "counter" : (f.type == kind::info && om ? "info" : "gauge");
  out += "# HELP " + name + " " + f.help + "\n";
  out += "# TYPE " + name + " " + type + "\n";
  if (om && f.seconds) out += "# UNIT " + name + " seconds\n";
}

using labels = std::vector<std::pair<const char*, std::string_view>>;

void append_sample(std::string& out, const std::string& name, const labels& ls, const std::string& value) {
  out += name;
  if (!ls.empty()) {
    out += '{';
    for (std::size_t i = 0; i < ls.size(); ++i) {
      if (i) out += ',';
      out += ls[i].first;
      out += "=\"";
      out += escape_label_value(ls[i].second);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

std::string unix_text(sys_time t) { return std::to_string(to_unix(t)); }

/// The sample lines of the families of one MD, filled family by family.
struct md_lines {
  metrics_fragment& frag;
  void add(md_family f, const labels& ls, const std::string& value) {
    const family& fam = k_md_family_table[static_cast<std::size_t>(f)];
    append_sample(frag.lines[static_cast<std::size_t>(f)], sample_name(fam), ls, value);
  }
};

void add_certificates(md_lines& out, const md_snapshot& m) {
  const std::string_view md = m.md.name;
  const bool served = m.served_from != served_source::none;
  for (const cert_slot& slot : m.certs) {
    if (!slot.cert) continue;
    const cert_info& c = *slot.cert;
    const labels ls{{"md", md}, {"key", slot.name}};
    out.add(md_family::cert_not_after, ls, unix_text(c.valid_until));
    out.add(md_family::cert_not_before, ls, unix_text(c.valid_from));
    out.add(md_family::cert_info, {{"md", md}, {"key", slot.name}, {"serial", c.serial},
                                   {"sha256_fingerprint", c.sha256_fingerprint}, {"issuer", c.issuer_name}},
            "1");
    out.add(md_family::cert_served, ls, served ? "1" : "0");
  }
}

/// The time from the last run's "starting" to its "finished" (the log is newest first);
/// nullopt when the last run did not finish.
std::optional<std::int64_t> last_run_seconds(const job& jb) {
  if (!jb.finished) return std::nullopt;
  const auto fin = std::find_if(jb.log.begin(), jb.log.end(), [](const log_entry& e) { return e.type == "finished"; });
  if (fin == jb.log.end()) return std::nullopt;
  const auto start = std::find_if(fin, jb.log.end(), [](const log_entry& e) { return e.type == "starting"; });
  if (start == jb.log.end()) return std::nullopt;
  return to_unix(fin->when) - to_unix(start->when);
}

void add_renewal(md_lines& out, const md_snapshot& m) {
  const labels md{{"md", m.md.name}};
  if (m.renew_at != sys_time{}) out.add(md_family::renew_at, md, unix_text(m.renew_at));
  const std::string_view state = md_renewal_state(m);
  for (const char* s : {"ok", "due", "renewing", "error"})
    out.add(md_family::renewal_state, {{"md", m.md.name}, {"state", s}}, state == s ? "1" : "0");
  out.add(md_family::renewal_errors, md, std::to_string(m.renewal ? m.renewal->errors : 0));
  if (!m.renewal) return;
  if (auto t = m.renewal->last_time_of("renewal-error")) out.add(md_family::last_error, md, unix_text(*t));
  if (auto d = last_run_seconds(*m.renewal)) out.add(md_family::last_renewal_duration, md, std::to_string(*d));
}

/// The key place of `m` holding the certificate with this fingerprint ("" when none does).
std::string_view slot_of(const md_snapshot& m, const std::string& fingerprint) {
  for (const cert_slot& slot : m.certs)
    if (slot.cert && slot.cert->sha256_fingerprint == fingerprint) return slot.name;
  return {};
}

void add_stapling(md_lines& out, const md_snapshot& m, const stapling_info& st) {
  const labels ls{{"md", m.md.name}, {"key", slot_of(m, st.sha256_fingerprint)}};
  if (st.valid_from != sys_time{}) out.add(md_family::ocsp_this_update, ls, unix_text(st.valid_from));
  if (st.valid_until != sys_time{}) out.add(md_family::ocsp_next_update, ls, unix_text(st.valid_until));
  if (st.renew_at != sys_time{}) out.add(md_family::ocsp_refresh_at, ls, unix_text(st.renew_at));
  for (ocsp_cert_status s : {ocsp_cert_status::good, ocsp_cert_status::revoked, ocsp_cert_status::unknown})
    out.add(md_family::ocsp_status, {ls[0], ls[1], {"status", to_string(s)}}, st.status == s ? "1" : "0");
}

void append_engine(std::string& out, const family& f, metrics_format fmt, const std::string& value) {
  append_header(out, f, fmt);
  append_sample(out, sample_name(f), {}, value);
}

metrics_fragment fragment_of(const md_snapshot& m, const std::vector<const stapling_info*>& staplings) {
  metrics_fragment frag;
  frag.renewing = m.renewing;
  md_lines out{frag};
  add_certificates(out, m);
  add_renewal(out, m);
  for (const stapling_info* st : staplings) add_stapling(out, m, *st);
  return frag;
}

} // namespace

const char* md_renewal_state(const md_snapshot& m) {
  if (m.renewing) return "renewing";
  if (m.renewal && m.renewal->errors > 0) return "error";
  if (renew_due(m)) return "due";
  return "ok";
}

metrics_format metrics_format_for(std::string_view accept) {
  std::string lower(accept);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("application/openmetrics-text") != std::string::npos ? metrics_format::openmetrics
                                                                          : metrics_format::text_004;
}

const char* metrics_content_type(metrics_format f) {
  return f == metrics_format::openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                          : "text/plain; version=0.0.4; charset=utf-8";
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

metrics_fragment md_metrics_fragment(const status_snapshot& s, const md_snapshot& m) {
  std::vector<const stapling_info*> own;
  for (const stapling_info& st : s.staplings)
    if (st.domain == m.md.name) own.push_back(&st);
  return fragment_of(m, own);
}

std::string metrics_join(const std::vector<const metrics_fragment*>& mds, const engine_figures& e,
                         metrics_format f) {
  std::size_t size = 4096;
  for (const metrics_fragment* m : mds)
    for (const std::string& l : m->lines) size += l.size();
  std::string out;
  out.reserve(size);
  append_engine(out, k_engine_up, f, e.up ? "1" : "0");
  if (e.restarts) append_engine(out, k_engine_restarts, f, std::to_string(*e.restarts));
  if (e.started != sys_time{}) append_engine(out, k_engine_started, f, unix_text(e.started));
  append_engine(out, k_mds, f, std::to_string(mds.size()));
  const auto renewing = std::count_if(mds.begin(), mds.end(), [](const metrics_fragment* m) { return m->renewing; });
  append_engine(out, k_orders, f, std::to_string(renewing));
  for (std::size_t i = 0; i < k_md_families; ++i) {
    append_header(out, k_md_family_table[i], f);
    for (const metrics_fragment* m : mds) out += m->lines[i];
  }
  if (f == metrics_format::openmetrics) out += "# EOF\n";
  return out;
}

std::string metrics_text(const status_snapshot& s, const engine_figures& e, metrics_format f) {
  std::vector<const md_snapshot*> sorted;
  sorted.reserve(s.mds.size());
  for (const md_snapshot& m : s.mds) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), [](const md_snapshot* a, const md_snapshot* b) { return a->md.name < b->md.name; });
  std::map<std::string_view, std::vector<const stapling_info*>> staplings; // by MD: one pass, not one per MD
  for (const stapling_info& st : s.staplings) staplings[st.domain].push_back(&st);
  const std::vector<const stapling_info*> none;
  std::vector<metrics_fragment> frags;
  frags.reserve(sorted.size());
  for (const md_snapshot* m : sorted) {
    auto it = staplings.find(m->md.name);
    frags.push_back(fragment_of(*m, it == staplings.end() ? none : it->second));
  }
  std::vector<const metrics_fragment*> ptrs;
  ptrs.reserve(frags.size());
  for (const metrics_fragment& m : frags) ptrs.push_back(&m);
  return metrics_join(ptrs, e, f);
}

} // namespace mda
