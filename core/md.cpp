#include "core/md.hpp"

#include "core/json_util.hpp"
#include "core/redact.hpp"

#include <algorithm>
#include <cctype>
#include <strings.h>
#include <tuple>

namespace mda {

namespace {

using ojson = nlohmann::ordered_json;

std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// The "ca" object as md_to_json fills it before the key specs; the challenges come later.
ojson ca_head_json(const md_ca& ca) {
  ojson j = ojson::object();
  json_set_if(j, "account", ca.account);
  json_set_if(j, "proto", ca.proto);
  json_set_if(j, "url", ca.url);
  if (!ca.urls.empty()) j["urls"] = json_string_array(ca.urls);
  json_set_if(j, "agreement", ca.agreement);
  return j;
}

/// Everything after "proto" (static files, per-MD overrides, EAB, profile, ARI).
void write_tail(ojson& j, const managed_domain& md) {
  if (!md.cert_files.empty()) j["cert-files"] = json_string_array(md.cert_files);
  if (!md.pkey_files.empty()) j["pkey-files"] = json_string_array(md.pkey_files);
  j["stapling"] = md.stapling;
  json_set_if(j, "cmd-dns-01", md.dns01_cmd);
  json_set_if(j, "proxy-url", md.proxy_url);
  json_set_if(j, "ca-certs", md.ca_certs);
  json_set_if(j, "proxy-ca-certs", md.proxy_ca_certs);
  if (!md.eab.kid.empty() && md.eab.kid != "none") {
    ojson eab = ojson::object();
    eab["kid"] = md.eab.kid;
    json_set_if(eab, "hmac", md.eab.hmac);
    j["eab"] = std::move(eab);
  }
  json_set_if(j, "profile", md.profile);
  j["profile-mandatory"] = md.profile_mandatory;
  j["ari-renewals"] = md.ari_renewals;
}

void read_ca(json_fields ca, md_ca& out) {
  ca.get("account", out.account);
  ca.get("proto", out.proto);
  ca.get("url", out.url);
  ca.get("agreement", out.agreement);
  if (ca.find("urls")) {
    ca.get("urls", out.urls);
  } else if (!out.url.empty()) {
    out.urls = {out.url}; // mod_md before 2.4 knew a single CA url only
  }
  ca.get("challenges", out.challenges);
}

void read_state(json_fields& f, managed_domain& md) {
  int state = static_cast<int>(md.state);
  f.get("state", state);
  if (state < 0 || state > static_cast<int>(md_state::missing_information)) {
    f.fail(json_errc::bad_value, "state", "has unknown value " + std::to_string(state));
    return;
  }
  md.state = static_cast<md_state>(state);
  if (md.state == md_state::expired_deprecated) md.state = md_state::complete;
}

void read_renew_mode(json_fields& f, managed_domain& md) {
  int mode = static_cast<int>(md.renew_mode);
  f.get("renew-mode", mode);
  if (mode < static_cast<int>(md_renew_mode::unset) || mode > static_cast<int>(md_renew_mode::always)) {
    f.fail(json_errc::bad_value, "renew-mode", "has unknown value " + std::to_string(mode));
    return;
  }
  md.renew_mode = static_cast<md_renew_mode>(mode);
}

/// mod_md 1.x wrote the windows as integer seconds; 2.x reads those as unset. So do we.
void read_window(json_fields& f, const char* key, std::string& out) {
  const ojson* v = f.find(key);
  if (v && v->is_number_integer()) return;
  f.get(key, out);
}

void read_require_https(json_fields& f, managed_domain& md) {
  std::string mode;
  f.get("require-https", mode);
  if (mode == "temporary") {
    md.require_https = md_require_https::temporary;
  } else if (mode == "permanent") {
    md.require_https = md_require_https::permanent;
  } else {
    md.require_https = md_require_https::off; // mod_md reads any other text as off
  }
}

void read_tail(json_fields& f, managed_domain& md) {
  f.get("must-staple", md.must_staple);
  f.object("proto").get("acme-tls/1", md.acme_tls_1_domains);
  if (f.find("cert-files")) {
    f.get("cert-files", md.cert_files);
    f.get("pkey-files", md.pkey_files);
  }
  f.get("stapling", md.stapling);
  f.get("cmd-dns-01", md.dns01_cmd);
  f.get("proxy-url", md.proxy_url);
  f.get("ca-certs", md.ca_certs);
  f.get("proxy-ca-certs", md.proxy_ca_certs);
  if (f.find("eab")) {
    json_fields eab = f.object("eab");
    eab.get("kid", md.eab.kid);
    eab.get("hmac", md.eab.hmac);
  }
  f.get("profile-mandatory", md.profile_mandatory);
  f.get("profile", md.profile);
  f.get("ari-renewals", md.ari_renewals);
}

auto as_tuple(const managed_domain& m) {
  return std::tie(m.name, m.domains, m.contacts, m.transitive, m.ca, m.key_specs, m.state,
                  m.state_descr, m.renew_mode, m.renew_window, m.warn_window, m.require_https,
                  m.must_staple, m.acme_tls_1_domains, m.cert_files, m.pkey_files, m.stapling,
                  m.dns01_cmd, m.proxy_url, m.ca_certs, m.proxy_ca_certs, m.eab, m.profile,
                  m.profile_mandatory, m.ari_renewals);
}

} // namespace

bool md_ca::operator==(const md_ca& o) const {
  return std::tie(account, proto, url, urls, agreement, challenges) ==
         std::tie(o.account, o.proto, o.url, o.urls, o.agreement, o.challenges);
}

bool managed_domain::operator==(const managed_domain& o) const { return as_tuple(*this) == as_tuple(o); }

std::vector<std::string> compact_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const std::string& o) { return strcasecmp(o.c_str(), n.c_str()) == 0; });
    if (!seen) out.push_back(ascii_lower(n));
  }
  return out;
}

ojson to_json(const managed_domain& md) {
  ojson j = ojson::object();
  json_set_if(j, "name", md.name);
  j["domains"] = json_string_array(compact_names(md.domains));
  j["contacts"] = json_string_array(md.contacts);
  j["transitive"] = md.transitive;
  j["ca"] = ca_head_json(md.ca);
  if (!md.key_specs.empty()) j["privkey"] = to_json(md.key_specs);
  j["state"] = static_cast<int>(md.state);
  json_set_if(j, "state-descr", md.state_descr);
  j["renew-mode"] = static_cast<int>(md.renew_mode);
  json_set_if(j, "renew-window", md.renew_window);
  json_set_if(j, "warn-window", md.warn_window);
  // mod_md adds the challenges to the "ca" object only here, so they come last in it.
  if (!md.ca.challenges.empty()) j["ca"]["challenges"] = json_string_array(compact_names(md.ca.challenges));
  if (md.require_https == md_require_https::temporary) j["require-https"] = "temporary";
  if (md.require_https == md_require_https::permanent) j["require-https"] = "permanent";
  j["must-staple"] = md.must_staple;
  j["proto"] = ojson::object();
  j["proto"]["acme-tls/1"] = json_string_array(md.acme_tls_1_domains);
  write_tail(j, md);
  return j;
}

ojson to_public_json(const managed_domain& md) {
  ojson j = to_json(md);
  auto eab = j.find("eab");
  if (eab != j.end() && eab->contains("hmac")) (*eab)["hmac"] = std::string(k_redacted);
  if (auto cmd = j.find("cmd-dns-01"); cmd != j.end()) *cmd = redact_command(md.dns01_cmd);
  if (auto proxy = j.find("proxy-url"); proxy != j.end()) *proxy = redact_url(md.proxy_url);
  if (auto ca = j.find("ca"); ca != j.end()) {
    if (auto url = ca->find("url"); url != ca->end()) *url = redact_url(md.ca.url);
    if (auto urls = ca->find("urls"); urls != ca->end())
      for (auto& u : *urls) u = redact_url(u.get<std::string>());
  }
  return j;
}

expected<managed_domain> md_from_json(const ojson& j, const std::string& source) {
  managed_domain md;
  json_fields f(j, source);
  f.get("name", md.name);
  f.get("domains", md.domains);
  md.domains = compact_names(md.domains);
  f.get("contacts", md.contacts);
  read_ca(f.object("ca"), md.ca);
  if (const ojson* pk = f.find("privkey")) {
    if (pk->is_object() || pk->is_array()) {
      md.key_specs = key_specs_from_json(*pk);
    } else {
      f.fail(json_errc::wrong_type, "privkey",
             std::string("must be an object or an array, found ") + pk->type_name());
    }
  }
  read_state(f, md);
  f.get("state-descr", md.state_descr);
  read_renew_mode(f, md);
  f.get("transitive", md.transitive);
  read_window(f, "renew-window", md.renew_window);
  read_window(f, "warn-window", md.warn_window);
  read_require_https(f, md);
  read_tail(f, md);
  if (auto st = f.result(); !st) return st.error();
  return md;
}

} // namespace mda
