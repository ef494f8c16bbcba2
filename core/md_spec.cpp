// The resolved MD (see md_spec.hpp).
#include "core/md_spec.hpp"

#include <algorithm>
#include <tuple>

namespace mda {

namespace {

auto as_tuple(const md_spec& s) {
  return std::tie(s.name, s.domains, s.key_specs, s.cert_slots, s.ca_urls, s.certificates_ca,
                  s.renewal.renew_window, s.renewal.warn_window, s.renewal.used, s.will_renew,
                  s.watched, s.must_staple, s.stapling, s.ari_renewals, s.cert_files, s.pkey_files);
}

bool configured(const md_spec& spec, const std::string& url) {
  return std::find(spec.ca_urls.begin(), spec.ca_urls.end(), url) != spec.ca_urls.end();
}

std::string first_ca(const md_spec& spec) {
  return spec.ca_urls.empty() ? std::string() : spec.ca_urls.front();
}

} // namespace

bool md_spec::operator==(const md_spec& o) const { return as_tuple(*this) == as_tuple(o); }

std::vector<key_spec> effective_key_specs(const managed_domain& md) {
  if (md.key_specs.empty()) return {key_spec::default_spec()};
  return md.key_specs;
}

std::vector<std::string> configured_ca_urls(const managed_domain& md) {
  if (!md.ca.urls.empty()) return md.ca.urls;
  if (!md.ca.url.empty()) return {md.ca.url};
  return {};
}

expected<md_spec> make_md_spec(const managed_domain& md, const engine_settings& server, bool used) {
  renewal_settings defaults;
  defaults.renew_window = server.renew_window;
  defaults.warn_window = server.warn_window;
  defaults.used = used;
  auto windows = resolve_windows(md, defaults);
  if (!windows) return windows.error();
  md_spec s;
  s.name = md.name;
  s.domains = md.domains;
  s.key_specs = effective_key_specs(md);
  s.cert_slots = certificate_slots(md);
  s.ca_urls = configured_ca_urls(md);
  s.certificates_ca = md.ca.url;
  s.renewal = *windows;
  s.will_renew = will_renew(md);
  s.watched = is_watched(md, used);
  s.must_staple = md.must_staple;
  s.stapling = md.stapling;
  s.ari_renewals = md.ari_renewals;
  s.cert_files = md.cert_files;
  s.pkey_files = md.pkey_files;
  return s;
}

expected<std::vector<md_spec>> make_md_specs(const engine_config& cfg) {
  std::vector<md_spec> specs;
  specs.reserve(cfg.mds.size());
  for (const auto& em : cfg.mds) {
    auto s = make_md_spec(em.md, cfg.settings, em.used);
    if (!s) return s.error();
    specs.push_back(std::move(*s));
  }
  return specs;
}

std::string ca_in_use(const md_spec& spec, const std::string& chosen) {
  if (!chosen.empty() && configured(spec, chosen)) return chosen;
  return first_ca(spec);
}

std::string ari_ca(const md_spec& spec, const std::string& chosen) {
  if (!chosen.empty()) return chosen;
  if (!spec.certificates_ca.empty()) return spec.certificates_ca;
  return first_ca(spec);
}

} // namespace mda
