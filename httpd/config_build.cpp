#include "httpd/config_build.hpp"

#include <algorithm>

#include "core/x509.hpp"

namespace mda::httpd {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool contains_ci(const std::vector<std::string>& list, const std::string& s) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& e) { return iequals(e, s); });
}

bool contains_index(const std::vector<std::size_t>& list, std::size_t i) {
  return std::find(list.begin(), list.end(), i) != list.end();
}

std::string absolute_path(const std::string& path, const std::string& root) {
  if (path.empty() || path[0] == '/' || root.empty()) return path;
  return root.back() == '/' ? root + path : root + "/" + path;
}

/// md_common_name: the first domain of `a` that `b` also has (exact string, as mod_md).
const std::string* common_name(const managed_domain& a, const managed_domain& b) {
  for (const auto& d : a.domains) {
    if (std::find(b.domains.begin(), b.domains.end(), d) != b.domains.end()) return &d;
  }
  return nullptr;
}

std::string where(const md_section& s) {
  return s.defn_file + "(line " + std::to_string(s.defn_line) + ")";
}

std::vector<std::string> contacts_for(const std::string& contact, const std::string& admin) {
  if (!contact.empty()) return {contact_uri(contact)};
  if (!admin.empty() && admin != k_default_admin) return {contact_uri(admin)};
  return {};
}

/// merge_srv_config: the section's settings, else the base server's, else mod_md's defaults.
managed_domain complete_md(const md_section& sec, const md_props& base, const std::string& admin) {
  const md_props p = merge(base, sec.props);
  managed_domain m;
  m.name = sec.domains.front();
  m.domains = sec.domains;
  m.contacts = contacts_for(p.contact.value_or(""), admin);
  m.transitive = p.transitive.value_or(1);
  m.ca.proto = p.ca_proto.value_or("ACME");
  // An MDCertificateAuthority without arguments leaves the default in place, as in mod_md.
  m.ca.urls = p.ca_urls && !p.ca_urls->empty() ? *p.ca_urls : std::vector<std::string>{k_default_ca_url};
  m.ca.agreement = p.ca_agreement.value_or("");
  m.ca.challenges = p.ca_challenges.value_or(std::vector<std::string>{});
  m.key_specs = p.key_specs.value_or(std::vector<key_spec>{});
  m.renew_mode = p.renew_mode.value_or(md_renew_mode::automatic);
  m.renew_window = format_timeslice(p.renew_window.value_or(default_renew_window()));
  m.warn_window = format_timeslice(p.warn_window.value_or(default_warn_window()));
  m.require_https = p.require_https.value_or(md_require_https::off);
  m.must_staple = p.must_staple.value_or(false);
  m.stapling = p.stapling.value_or(false);
  m.eab = p.eab.value_or(md_eab{});
  m.profile = p.profile.value_or("");
  m.profile_mandatory = p.profile_mandatory.value_or(false);
  m.ari_renewals = p.ari_renewals.value_or(true);
  m.dns01_cmd = sec.props.dns01_cmd.value_or("");
  m.proxy_url = sec.props.proxy_url.value_or("");
  m.ca_certs = sec.props.ca_certs.value_or("");
  m.proxy_ca_certs = sec.props.proxy_ca_certs.value_or("");
  m.cert_files = sec.cert_files;
  m.pkey_files = sec.key_files;
  return m;
}

/// The overlap (MDMatchNames all) and static file checks of merge_mds_with_conf for MD `i`.
status check_md(const build_input& in, const std::vector<engine_md>& mds, std::size_t i) {
  const managed_domain& md = mds[i].md;
  if (in.mc.match == match_mode::all) {
    for (std::size_t j = 0; j < i; ++j) {
      if (const std::string* d = common_name(md, mds[j].md)) {
        return error(config_errc::conflict, "two Managed Domains have an overlap in domain '" + *d +
                                                "', first definition in " + where(in.mc.mds[j]) +
                                                ", second in " + where(in.mc.mds[i]));
      }
    }
  }
  if (!md.cert_files.empty() && md.cert_files.size() != md.pkey_files.size()) {
    return error(config_errc::conflict, "The Managed Domain '" + md.name +
                                            "' needs one MDCertificateKeyFile for each MDCertificateFile.");
  }
  if (md.cert_files.empty() && !md.pkey_files.empty()) {
    return error(config_errc::conflict, "The Managed Domain '" + md.name +
                                            "' has MDCertificateKeyFile(s) but no MDCertificateFile.");
  }
  return {};
}

/// md_is_wild_match: one of `domains` is a wildcard matching `name`.
bool wild_match(const std::vector<std::string>& domains, const std::string& name) {
  return std::any_of(domains.begin(), domains.end(),
                     [&](const std::string& d) { return is_wildcard(d) && dns_matches(d, name); });
}

/// link_md_to_servers for MD `i`.
void link_md(const build_input& in, linked_config& lc, std::size_t i) {
  managed_domain& md = lc.config.mds[i].md;
  for (std::size_t v = 0; v < in.vhosts.size(); ++v) {
    const vhost_info& vh = in.vhosts[v];
    if (vh.is_base && !in.mc.manage_base_server) continue;
    std::vector<std::size_t>& assigned = lc.assigned[v];
    for (const std::string& domain : md.domains) {
      const bool wild = is_wildcard(domain);
      const bool hit = (in.mc.match == match_mode::all && vhost_matches(vh, domain)) ||
                       ((in.mc.match == match_mode::servernames || wild) &&
                        dns_matches(domain, vh.server_name));
      if (!hit) continue;
      if (assigned.size() == 1 && in.mc.match == match_mode::servernames) {
        // Here a wildcard match gives way to an exact one, whichever came first.
        const bool existing_wild = wild_match(lc.config.mds[assigned[0]].md.domains, vh.server_name);
        if (!existing_wild && wild) continue;
        if (existing_wild && !wild) assigned.clear();
      }
      assigned.push_back(i);
      if (md.contacts.empty()) md.contacts = contacts_for(vh.contact, vh.server_admin);
      break;
    }
  }
}

bool uses_port(const vhost_info& v, int port) {
  if (v.addrs.empty()) return false;
  return std::all_of(v.addrs.begin(), v.addrs.end(), [&](const vhost_addr& a) { return a.port == port; });
}

/// get_public_https_server: the SSL vhost answering `domain` on the public https port.
const vhost_info* https_server(const build_input& in, const linked_config& lc, std::size_t i,
                               const std::string& domain) {
  const managed_domain& md = lc.config.mds[i].md;
  const bool check_port = !contains_ci(md.ca.challenges, "tls-alpn-01");
  if (check_port && !lc.config.settings.can_https) return nullptr;
  const vhost_info* found = nullptr;
  for (std::size_t v = 0; v < in.vhosts.size(); ++v) {
    const vhost_info& vh = in.vhosts[v];
    if (!vh.ssl || !contains_index(lc.assigned[v], i)) continue;
    if (vh.is_base && !in.mc.manage_base_server) continue;
    const int https = in.mc.ports.https;
    if (!vh.is_base && check_port && https > 0 && !uses_port(vh, https)) continue;
    if (!vhost_matches(vh, domain)) continue;
    if (check_port || vh.acme_tls_1) return &vh;
    found = &vh;
  }
  return found;
}

void init_acme_tls_1(const build_input& in, linked_config& lc, std::size_t i) {
  managed_domain& md = lc.config.mds[i].md;
  md.acme_tls_1_domains.clear();
  const vhost_info* base = nullptr;
  for (const auto& v : in.vhosts) {
    if (v.is_base) base = &v;
  }
  for (const std::string& domain : md.domains) {
    const vhost_info* s = https_server(in, lc, i, domain);
    if (!s && in.mc.manage_base_server) s = base;
    if (s && s->acme_tls_1) md.acme_tls_1_domains.push_back(domain);
  }
}

/// auto_add_domains: names of SSL vhosts that have this MD alone and that it does not cover
/// yet (md_contains: "*.example.org" covers www.example.org).
void auto_add(const build_input& in, linked_config& lc, std::size_t i) {
  managed_domain& md = lc.config.mds[i].md;
  auto cover = [&](const vhost_info& vh, const std::string& name) {
    if (std::any_of(md.domains.begin(), md.domains.end(),
                    [&](const std::string& d) { return dns_name_matches(d, name); }))
      return;
    if (md.transitive) {
      add_domain_name(md.domains, name);
      return;
    }
    lc.warnings.push_back({"MDA0105", "Virtual Host " + vh.server_name + ":" + std::to_string(vh.port) +
                                          " matches Managed Domain '" + md.name + "', but the name/alias " +
                                          name + " itself is not managed. A requested MD certificate "
                                          "will not match ServerName."});
  };
  for (std::size_t v = 0; v < in.vhosts.size(); ++v) {
    const vhost_info& vh = in.vhosts[v];
    if (!vh.ssl || lc.assigned[v].size() != 1 || lc.assigned[v][0] != i) continue;
    cover(vh, vh.server_name);
    for (const auto& a : vh.aliases) cover(vh, a);
  }
}

void check_usage(const build_input& in, linked_config& lc, std::size_t i) {
  engine_md& em = lc.config.mds[i];
  bool any = false;
  bool has_ssl = false;
  for (std::size_t v = 0; v < in.vhosts.size(); ++v) {
    if (!contains_index(lc.assigned[v], i)) continue;
    any = true;
    has_ssl = has_ssl || in.vhosts[v].ssl;
  }
  if (!has_ssl && em.md.require_https != md_require_https::off) {
    lc.warnings.push_back({"MDA0106", "MD " + em.md.name + " does not match any VirtualHost with "
                                      "'SSLEngine on', but is configured to require https. This cannot work."});
  }
  if (!any && em.md.renew_mode != md_renew_mode::always) {
    lc.warnings.push_back({"MDA0107", "No VirtualHost matches Managed Domain " + em.md.name});
  }
  em.used = any;
}

} // namespace

engine_settings make_settings(const build_input& in) {
  const module_conf& mc = in.mc;
  engine_settings s;
  s.store_dir = absolute_path(mc.store_dir, in.server_root);
  s.retry_delay = mc.retry_delay;
  s.retry_failover = mc.retry_failover;
  s.check_interval = mc.check_interval;
  s.initial_delay = mc.initial_delay;
  s.activation_delay = mc.activation_delay;
  s.renew_window = in.base.renew_window.value_or(default_renew_window());
  s.warn_window = in.base.warn_window.value_or(default_warn_window());
  s.notify_cmd = mc.notify_cmd;
  s.message_cmd = mc.message_cmd;
  s.dns01_cmd = mc.dns01_cmd;
  s.dns01_version = mc.dns01_version;
  s.http_proxy = mc.proxy_url;
  s.ca_certs = mc.ca_certs;
  s.proxy_ca_certs = mc.proxy_ca_certs;
  s.ports = mc.ports;
  s.renew_via_ari = in.base.ari_renewals.value_or(true);
  s.stapling = in.base.stapling.value_or(false);
  s.staple_others = in.base.staple_others.value_or(true);
  s.stapling_renew_window = mc.stapling_renew_window;
  s.stapling_keep_response = mc.stapling_keep_response;
  s.cert_check_name = mc.cert_check_name;
  s.cert_check_url = mc.cert_check_url;
  s.orders_in_flight = mc.orders_in_flight;
  s.command_timeout = mc.command_timeout;
  s.live_activation = mc.live_activation;
  s.cluster = mc.cluster;
  // detect_supported_protocols: a listener on the local port of public 80 / 443.
  const auto listens = [&](int port) {
    return port > 0 && std::find(in.listen_ports.begin(), in.listen_ports.end(), port) != in.listen_ports.end();
  };
  s.can_http = listens(mc.ports.http);
  s.can_https = listens(mc.ports.https);
  return s;
}

expected<linked_config> link_config(const build_input& in) {
  linked_config lc;
  lc.config.settings = make_settings(in);
  std::string base_admin;
  for (const auto& v : in.vhosts) {
    if (v.is_base) base_admin = v.server_admin;
  }
  for (std::size_t i = 0; i < in.mc.mds.size(); ++i) {
    if (in.mc.mds[i].domains.empty()) return error(config_errc::missing_argument, "needs at least one domain name");
    engine_md em;
    em.md = complete_md(in.mc.mds[i], in.base, base_admin);
    lc.config.mds.push_back(std::move(em));
    if (auto st = check_md(in, lc.config.mds, i); !st) return st.error();
  }
  lc.assigned.assign(in.vhosts.size(), {});
  for (std::size_t i = 0; i < lc.config.mds.size(); ++i) link_md(in, lc, i);
  for (std::size_t i = 0; i < lc.config.mds.size(); ++i) {
    lc.config.mds[i].used = std::any_of(lc.assigned.begin(), lc.assigned.end(),
                                        [&](const auto& a) { return contains_index(a, i); });
  }
  return lc;
}

status finish_config(linked_config& lc, const build_input& in) {
  for (std::size_t v = 0; v < in.vhosts.size() && v < lc.assigned.size(); ++v) {
    if (lc.assigned[v].size() > 1 && in.vhosts[v].ssl) {
      return error(config_errc::conflict, "conflict: " + std::to_string(lc.assigned[v].size()) +
                                              " MDs match to SSL VirtualHost " + in.vhosts[v].server_name +
                                              ", there can at most be one.");
    }
  }
  for (std::size_t i = 0; i < lc.config.mds.size(); ++i) {
    auto_add(in, lc, i);
    init_acme_tls_1(in, lc, i);
    check_usage(in, lc, i);
  }
  return {};
}

expected<linked_config> build_config(const build_input& in) {
  auto lc = link_config(in);
  if (!lc) return lc;
  if (auto st = finish_config(*lc, in); !st) return st.error();
  return lc;
}

bool is_wildcard(const std::string& domain) {
  return domain.size() > 2 && domain[0] == '*' && domain[1] == '.';
}

bool dns_matches(const std::string& pattern, const std::string& name) {
  if (iequals(pattern, name)) return true;
  if (!is_wildcard(pattern)) return false;
  const auto dot = name.find('.');
  return dot != std::string::npos && iequals(pattern.substr(1), name.substr(dot));
}

bool glob_matches(const std::string& pattern, const std::string& text) {
  // Iterative matcher with one backtrack point for the last '*'.
  std::size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool vhost_matches(const vhost_info& v, const std::string& domain) {
  for (const auto& a : v.addrs) {
    if ((a.port == 0 || a.port == v.port) && iequals(a.host, domain)) return true;
  }
  if (iequals(v.server_name, domain) || contains_ci(v.aliases, domain)) return true;
  return std::any_of(v.wild_aliases.begin(), v.wild_aliases.end(),
                     [&](const std::string& w) { return glob_matches(w, domain); });
}

} // namespace mda::httpd
