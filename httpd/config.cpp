#include "httpd/config.hpp"

#include <algorithm>

namespace mda::httpd {

namespace {

template <class T>
void take(std::optional<T>& out, const std::optional<T>& base, const std::optional<T>& add) {
  out = add ? add : base;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), lower);
  return s;
}

} // namespace

md_props merge(const md_props& base, const md_props& add) {
  md_props m;
  take(m.transitive, base.transitive, add.transitive);
  take(m.require_https, base.require_https, add.require_https);
  take(m.renew_mode, base.renew_mode, add.renew_mode);
  take(m.must_staple, base.must_staple, add.must_staple);
  take(m.key_specs, base.key_specs, add.key_specs);
  take(m.renew_window, base.renew_window, add.renew_window);
  take(m.warn_window, base.warn_window, add.warn_window);
  take(m.ca_urls, base.ca_urls, add.ca_urls);
  take(m.ca_proto, base.ca_proto, add.ca_proto);
  take(m.ca_agreement, base.ca_agreement, add.ca_agreement);
  take(m.ca_challenges, base.ca_challenges, add.ca_challenges);
  take(m.stapling, base.stapling, add.stapling);
  take(m.staple_others, base.staple_others, add.staple_others);
  take(m.contact, base.contact, add.contact);
  take(m.eab, base.eab, add.eab);
  take(m.profile, base.profile, add.profile);
  take(m.profile_mandatory, base.profile_mandatory, add.profile_mandatory);
  take(m.ari_renewals, base.ari_renewals, add.ari_renewals);
  take(m.dns01_cmd, base.dns01_cmd, add.dns01_cmd);
  take(m.proxy_url, base.proxy_url, add.proxy_url);
  take(m.ca_certs, base.ca_certs, add.ca_certs);
  take(m.proxy_ca_certs, base.proxy_ca_certs, add.proxy_ca_certs);
  return m;
}

void add_domain_name(std::vector<std::string>& domains, const std::string& name) {
  std::string low = to_lower(name);
  if (std::find(domains.begin(), domains.end(), low) == domains.end()) {
    domains.push_back(std::move(low));
  }
}

} // namespace mda::httpd
