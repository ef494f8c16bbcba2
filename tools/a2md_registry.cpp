#include "tools/a2md_registry.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <strings.h>
#include <system_error>

#include "core/config_values.hpp"
#include "core/duration.hpp"
#include "core/renewal.hpp"
#include "store/staging.hpp"

namespace mda::a2md {
namespace {

error errc_error(std::errc e, std::string message) {
  return error(std::make_error_code(e), std::move(message));
}

bool same_name(const std::string& a, const std::string& b) {
  return strcasecmp(a.c_str(), b.c_str()) == 0;
}

/// md_dns_is_name with need_fqdn: letters, digits, '-' and dots; no "..", at least one dot
/// before a trailing one.
bool dns_name(std::string_view name) {
  if (name.empty()) return false;
  int dots = 0;
  char last = 0;
  for (char c : name) {
    if (c == '.') {
      if (last == '.') return false;
      ++dots;
    } else if (c != '-' && !std::isalnum(static_cast<unsigned char>(c))) {
      return false;
    }
    last = c;
  }
  if (last == '.') --dots;
  return dots > 0;
}

/// The other stored MD sharing a name with `domains`, and that name (md_reg_find_overlap).
std::optional<std::pair<managed_domain, std::string>> find_overlap(const store& st,
                                                                   const std::string& self,
                                                                   const std::vector<std::string>& domains) {
  // md.json alone: the names are all an overlap needs (no certificates read for the state).
  auto names = st.list_names(store_group::domains);
  for (const auto& n : names ? *names : std::vector<std::string>{}) {
    if (same_name(n, self) || !st.exists(store_group::domains, n, aspect::md)) continue;
    auto j = st.load_json(store_group::domains, n, aspect::md);
    if (!j) continue;
    auto other = md_from_json(*j, "domains/" + n + "/md.json");
    if (!other || same_name(other->name, self)) continue;
    for (const auto& d : domains)
      for (const auto& o : other->domains)
        if (same_name(d, o)) return std::make_pair(*other, d);
  }
  return std::nullopt;
}

status check_uri(const std::string& md, const char* what, const std::string& uri) {
  if (auto s = check_abs_uri(uri); !s)
    return invalid_argument(std::string(what) + " for " + md + " invalid (" + s.error().message + "): " + uri);
  return {};
}

/// state_init on `md`: the windows filled in, the state from domains/'s certificates.
void init_state(const store& st, managed_domain& md) {
  if (md.renew_window.empty()) md.renew_window = format_timeslice(default_renew_window());
  if (md.warn_window.empty()) md.warn_window = format_timeslice(default_warn_window());
  md.renew_mode = effective_renew_mode(md);
  if (md.state == md_state::error) return;
  auto assessed = assess_certificates(md, certificate_facts(md, load_domain_leaves(st, md)));
  md.state = assessed.state;
  md.state_descr = assessed.descr;
}

} // namespace

int apr_status(const error& e) {
  if (e.code.category() == std::generic_category() || e.code.category() == std::system_category())
    return e.code.value();
  if (e.code == store_errc::not_found) return k_apr_enoent;
  if (e.code == store_errc::exists) return EEXIST;
  return k_apr_egeneral;
}

std::string apr_description(int status) {
  std::string text;
  if (status == k_apr_egeneral) {
    text = "Internal error (specific information not available)";
  } else if (status == k_apr_enotimpl) {
    text = "This function has not been implemented on this platform";
  } else if (status > 0 && status < 20000) {
    text = std::strerror(status);
  } else {
    text = "Error string not specified yet";
  }
  // mod_md's a2md formats the text into a 32 byte buffer.
  return text.substr(0, 31);
}

error invalid_argument(std::string message) { return errc_error(std::errc::invalid_argument, std::move(message)); }
error not_found(std::string message) { return errc_error(std::errc::no_such_file_or_directory, std::move(message)); }
error general_error(std::string message) { return error(std::error_code(k_apr_egeneral, std::system_category()), std::move(message)); }
error not_implemented(std::string message) { return error(std::error_code(k_apr_enotimpl, std::system_category()), std::move(message)); }

bool valid_domain_name(const std::string& name) {
  if (name.size() > 2 && name[0] == '*' && name[1] == '.') return dns_name(std::string_view(name).substr(2));
  return dns_name(name);
}

expected<managed_domain> new_md(const std::vector<std::string>& names, const std::string& ca_url) {
  managed_domain md;
  md.domains = compact_names(names);
  if (md.domains.empty()) return invalid_argument("no domain names given");
  md.name = md.domains.front();
  md.transitive = 0;
  md.ca.proto = "ACME";
  if (!ca_url.empty()) md.ca.urls = {ca_url};
  md.renew_mode = md_renew_mode::unset;
  md.ari_renewals = false;
  return md;
}

status check_update(const store& st, const std::string& self, const md_update& u) {
  if (u.domains) {
    if (u.domains->empty()) return invalid_argument("empty domain list: " + self);
    for (const auto& d : *u.domains)
      if (!valid_domain_name(d)) return invalid_argument("md " + self + " with invalid domain name: " + d);
    if (auto other = find_overlap(st, self, *u.domains))
      return invalid_argument("md " + self + " shares domain '" + other->second + "' with md " +
                              other->first.name);
  }
  if (u.contacts)
    for (const auto& c : *u.contacts)
      if (auto s = check_uri(self, "contact", c); !s) return s;
  if (u.ca_urls)
    for (const auto& url : *u.ca_urls)
      if (auto s = check_uri(self, "CA url", url); !s) return s;
  if (u.agreement && !u.agreement->empty() && *u.agreement != "accepted")
    if (auto s = check_uri(self, "CA url", *u.agreement); !s) return s;
  return {};
}

expected<managed_domain> load_md(const store& st, const std::string& name) {
  if (!st.exists(store_group::domains, name, aspect::md))
    return not_found(name + ": not found");
  auto j = st.load_json(store_group::domains, name, aspect::md);
  if (!j) return j.error();
  auto md = md_from_json(*j, "domains/" + name + "/md.json");
  if (!md) return md.error();
  init_state(st, *md);
  return md;
}

std::optional<managed_domain> find_md(const store& st, const std::string& domain) {
  for (auto& md : list_mds(st))
    for (const auto& d : md.domains)
      if (same_name(d, domain)) return md;
  return std::nullopt;
}

std::vector<managed_domain> list_mds(const store& st, std::vector<error>* skipped) {
  std::vector<managed_domain> out;
  auto names = st.list_names(store_group::domains);
  if (!names) {
    if (skipped) skipped->push_back(names.error());
    return out;
  }
  for (const auto& n : *names) {
    if (!st.exists(store_group::domains, n, aspect::md)) continue;
    auto md = load_md(st, n);
    if (md) {
      out.push_back(std::move(*md));
    } else if (skipped) {
      skipped->push_back(md.error());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const managed_domain& a, const managed_domain& b) { return a.name < b.name; });
  return out;
}

bool should_renew(const store& st, const managed_domain& md, sys_time now) {
  if (md.state == md_state::incomplete) return true;
  const auto facts = certificate_facts(md, load_domain_leaves(st, md));
  for (const auto& f : facts)
    if (!f.present) return true;
  timeslice window = default_renew_window();
  if (!md.renew_window.empty())
    if (auto w = parse_timeslice(md.renew_window)) window = *w;
  auto start = earliest_window_start(facts, window);
  return start && start->at <= now;
}

expected<managed_domain> add_md(store& st, managed_domain md) {
  md_update all;
  all.domains = md.domains;
  all.contacts = md.contacts;
  all.ca_urls = md.ca.urls;
  all.agreement = md.ca.agreement;
  if (auto s = check_update(st, md.name, all); !s) return s.error();
  init_state(st, md);
  if (auto s = st.save_json(store_group::domains, md.name, aspect::md, to_json(md), true); !s)
    return s.error();
  return load_md(st, md.name);
}

expected<managed_domain> update_md(store& st, const std::string& name, const md_update& u) {
  auto md = load_md(st, name);
  if (!md) return md.error();
  if (u.empty()) return md;
  if (auto s = check_update(st, md->name, u); !s) return s.error();
  if (u.domains) md->domains = compact_names(*u.domains);
  if (u.ca_urls) md->ca.urls = *u.ca_urls;
  if (u.ca_proto) md->ca.proto = *u.ca_proto;
  if (u.ca_account) md->ca.account = *u.ca_account;
  if (u.contacts) md->contacts = *u.contacts;
  if (u.agreement) md->ca.agreement = *u.agreement;
  if (auto s = st.save_json(store_group::domains, md->name, aspect::md, to_json(*md)); !s)
    return s.error();
  return load_md(st, md->name);
}

expected<managed_domain> store_add(store& st, const managed_domain& md) {
  if (auto s = st.save_json(store_group::domains, md.name, aspect::md, to_json(md), true); !s)
    return s.error();
  auto j = st.load_json(store_group::domains, md.name, aspect::md);
  if (!j) return j.error();
  return md_from_json(*j, "domains/" + md.name + "/md.json");
}

expected<managed_domain> store_update(store& st, const std::string& name,
                                      const std::optional<std::vector<std::string>>& domains,
                                      const std::string& ca_url) {
  if (!st.exists(store_group::domains, name, aspect::md)) return not_found(name + ": not found");
  auto j = st.load_json(store_group::domains, name, aspect::md);
  if (!j) return j.error();
  auto md = md_from_json(*j, "domains/" + name + "/md.json");
  if (!md) return md.error();
  bool changed = false;
  if (domains) {
    if (domains->empty()) return general_error("update domains needs at least 1 domain name as parameter");
    md->domains = compact_names(*domains);
    changed = true;
  }
  if (!ca_url.empty() && (md->ca.urls.size() != 1 || md->ca.urls.front() != ca_url)) {
    md->ca.urls = {ca_url};
    changed = true;
  }
  if (changed)
    if (auto s = st.save_json(store_group::domains, name, aspect::md, to_json(*md)); !s) return s.error();
  auto back = st.load_json(store_group::domains, name, aspect::md);
  if (!back) return back.error();
  return md_from_json(*back, "domains/" + name + "/md.json");
}

status store_remove(store& st, const std::string& name, bool force) {
  if (!st.exists(store_group::domains, name, aspect::md)) {
    auto names = st.list_names(store_group::domains, name);
    bool present = names && !names->empty();
    if (!present) {
      if (force) return {};
      return not_found("removing md " + name);
    }
  }
  return st.purge(store_group::domains, name);
}

} // namespace mda::a2md
