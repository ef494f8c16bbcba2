#include "status/md_status.hpp"

#include <algorithm>
#include <cctype>

#include "core/json_util.hpp"
#include "core/renewal.hpp"
#include "core/x509.hpp"

namespace mda {

namespace {

using ojson = nlohmann::ordered_json;

/// job.json as md-status embeds it: the list view leaves the log out (job_loadj with_log=0).
ojson job_json(const job& jb, bool with_logs) {
  ojson j = to_json(jb);
  if (!with_logs) j.erase("log");
  return j;
}

const stapling_info* find_stapling(const status_snapshot& s, const std::string& domain,
                                   const std::string& fingerprint) {
  for (const auto& st : s.staplings)
    if (st.domain == domain && st.sha256_fingerprint == fingerprint) return &st;
  return nullptr;
}

/// "ocsp" of one certificate of a stapling MD (status_get_cert_json_ex): what the responder
/// said, and the MD's OCSP job (ocsp_job_of: the same job under every certificate). Empty =
/// leave out.
ojson ocsp_json(const status_snapshot& s, const md_snapshot& m, const cert_info& c, bool with_logs) {
  ojson o = ojson::object();
  if (const stapling_info* st = find_stapling(s, m.md.name, c.sha256_fingerprint)) {
    o["status"] = to_string(st->status);
    if (st->valid_from != sys_time{} || st->valid_until != sys_time{})
      o["valid"] = json_period(st->valid_from, st->valid_until);
  }
  // The MD's own OCSP job first: what ocsp_job_of finds for it, without searching s.mds.
  const job* jb = m.ocsp_renewal ? &*m.ocsp_renewal : ocsp_job_of(s, m.md.name);
  if (jb) o["renewal"] = job_json(*jb, with_logs);
  return o;
}

struct certs_view {
  const status_snapshot& s;
  const md_snapshot& m;
  bool with_ocsp;
  bool with_logs;
};

/// The "cert" object: one member per place that has a certificate, then "valid". The
/// current certificates of static files are keyed by index ("0", "1", ...), as mod_md's
/// md_status.c names them; staged ones and managed ones by key spec.
ojson certs_json(const certs_view& v, const std::vector<cert_slot>& slots) {
  ojson o = ojson::object();
  const bool by_index = v.with_ocsp && !v.m.md.cert_files.empty();
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const cert_slot& slot = slots[i];
    if (!slot.cert) continue;
    ojson cj = to_json(*slot.cert);
    if (v.with_ocsp && v.m.md.stapling) {
      ojson oc = ocsp_json(v.s, v.m, *slot.cert, v.with_logs);
      if (!oc.empty()) cj["ocsp"] = std::move(oc);
    }
    o[by_index ? std::to_string(i) : slot.name] = std::move(cj);
  }
  if (auto valid = certs_valid(slots)) o["valid"] = json_period(valid->start, valid->end);
  return o;
}

} // namespace

std::optional<time_period> certs_valid(const std::vector<cert_slot>& slots) {
  // mod_md (status_get_certs_json): valid = i ? common(valid, cert_i) : cert_i, with i the
  // place index; common() of non-overlapping periods is {0, 0}. Kept as is (see header).
  time_period cv{};
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i].cert) continue;
    time_period v{slots[i].cert->valid_from, slots[i].cert->valid_until};
    if (i == 0) {
      cv = v;
      continue;
    }
    time_period c{std::max(cv.start, v.start), std::min(cv.end, v.end)};
    cv = c.start > c.end ? time_period{} : c;
  }
  if (cv.start == sys_time{}) return std::nullopt;
  return cv;
}

bool renew_due(const md_snapshot& m) { return m.renew || m.renewal.has_value(); }

ojson md_status_json(const status_snapshot& s, const md_snapshot& m, bool with_logs) {
  ojson j = to_public_json(m.md);
  j["cert"] = certs_json({s, m, true, with_logs}, m.certs);
  json_set_time_if(j, "renew-at", m.renew_at);
  j["stapling"] = m.md.stapling;
  j["watched"] = m.watched;
  if (renew_due(m)) j["renew"] = true;
  // mdactor: where the certificates in "cert" are served from, and since when
  if (m.served_from != served_source::none) j["served"] = served_json(m);
  // mdactor in a cluster: which node renews the MD
  if (!m.cluster.node.empty()) j["cluster"] = cluster_json(m.cluster);
  if (m.renewal) {
    ojson r = job_json(*m.renewal, with_logs);
    r["cert"] = certs_json({s, m, false, false}, m.staged_certs);
    j["renewal"] = std::move(r);
  }
  if (m.error != 0) j["error"] = m.error;
  return j;
}

ojson md_status_all_json(const status_snapshot& s) {
  ojson j = ojson::object();
  j["version"] = s.version;
  std::vector<const md_snapshot*> sorted;
  for (const auto& m : s.mds) sorted.push_back(&m);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const md_snapshot* a, const md_snapshot* b) { return a->md.name < b->md.name; });
  for (const md_snapshot* m : sorted) j["managed-domains"].push_back(md_status_json(s, *m, false));
  return j;
}

std::string md_status_fragment(const status_snapshot& s, const md_snapshot& m) {
  return indent_entry(render_json(md_status_json(s, m, false)));
}

md_status_frame md_status_all_frame(std::string_view version, bool any_md) {
  // render_json's layout of {"version": v, "managed-domains": [ ... ]}; no MD: no array.
  const std::string v = render_json(ojson(std::string(version)));
  if (!any_md) return {"{\n  \"version\": " + v + "\n}", ",\n    ", ""};
  return {"{\n  \"version\": " + v + ",\n  \"managed-domains\": [\n    ", ",\n    ", "\n  ]\n}"};
}

std::string md_status_join(std::string_view version, const std::vector<std::string_view>& fragments) {
  const md_status_frame f = md_status_all_frame(version, !fragments.empty());
  std::size_t size = f.head.size() + f.tail.size();
  for (const auto& fr : fragments) size += fr.size() + f.separator.size();
  std::string out;
  out.reserve(size);
  out += f.head;
  for (std::size_t i = 0; i < fragments.size(); ++i) {
    if (i > 0) out += f.separator;
    out += fragments[i];
  }
  out += f.tail;
  return out;
}

ojson certificate_status_json(const status_snapshot& s, const md_snapshot& m) {
  const ojson certs = certs_json({s, m, false, false}, m.certs);
  ojson resp = ojson::object();
  if (certs.contains("valid")) resp["valid"] = certs["valid"];
  // one entry per certificate slot, named as md-status names them (core/renewal.hpp)
  for (const auto& name : certificate_slots(m.md)) {
    ojson cj = ojson::object();
    auto it = certs.find(name);
    if (it != certs.end() && name != "valid") {
      for (const char* key : {"valid", "serial", "sha256-fingerprint"})
        if (it->contains(key)) cj[key] = (*it)[key];
    }
    resp[name] = std::move(cj);
  }
  if (m.renewal) {
    // Something is going on: the staged certificates, {} until there are some.
    resp["renewal"] = ojson::object();
    resp["renewal"]["cert"] = certs_json({s, m, false, false}, m.staged_certs);
  }
  return resp;
}

const md_snapshot* find_md_by_name(const status_snapshot& s, std::string_view name) {
  for (const auto& m : s.mds)
    if (m.md.name == name) return &m;
  return nullptr;
}

bool md_has_domain(const md_snapshot& m, std::string_view domain) {
  return std::any_of(m.md.domains.begin(), m.md.domains.end(),
                     [&](const std::string& d) { return dns_name_matches(d, domain); });
}

const md_snapshot* find_md_by_domain(const status_snapshot& s, std::string_view domain) {
  for (const auto& m : s.mds)
    if (md_has_domain(m, domain)) return &m;
  return nullptr;
}

const md_snapshot* find_md_for_path(const status_snapshot& s, std::string_view path_info) {
  if (path_info.size() < 2 || path_info[0] != '/') return nullptr;
  const std::string_view name = path_info.substr(path_info.rfind('/') + 1);
  if (name.empty()) return nullptr;
  if (const md_snapshot* m = find_md_by_name(s, name)) return m;
  return find_md_by_domain(s, name);
}

std::string md_status_text(const status_snapshot& s, std::string_view path_info) {
  if (const md_snapshot* m = find_md_for_path(s, path_info)) return render_json(md_status_json(s, *m, true));
  return render_json(md_status_all_json(s));
}

std::string render_json(const ojson& j) {
  return j.dump(2, ' ', false, ojson::error_handler_t::replace);
}

} // namespace mda
