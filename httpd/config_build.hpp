// From the configured MD sections, the server defaults and the virtual hosts to the engine
// configuration: the MD <-> vhost linking of mod_md's post_config (reference §1.4; mod_md
// src/mod_md.c merge_mds_with_conf, link_md_to_servers, check_invalid_duplicates,
// auto_add_domains, init_acme_tls_1_domains, check_usage). Pure: the virtual hosts come in as
// vhost_info records, so this runs and is tested without Apache.
//
// Two phases, because mod_md learns which vhosts use SSL only when mod_ssl asks for their
// certificates (after our first post_config):
// 1. link_config (before mod_ssl): complete every MD from its section and the base server's
//    settings (contacts from MDContactEmail or ServerAdmin, the LetsEncrypt CA by default,
//    windows, keys, ...), reject overlapping MDs (MDMatchNames all) and unequal static
//    certificate/key file lists, compute whether ports 80/443 are reachable (MDPortMap and
//    the listeners), assign the MDs to the vhosts they match (MDMatchNames, wildcards,
//    MDBaseServer).
// 2. finish_config (after mod_ssl, vhost_info::ssl known): reject an SSL vhost with several
//    MDs, add the names of SSL vhosts to MDs with MDMembers auto (else warn), compute the
//    acme-tls/1 names, warn about MDRequireHttps without an SSL vhost, warn about and mark
//    unused MDs.
// Deviation: the overlap error names the earlier definition first (mod_md swaps them), and
// <MDomain> sections report their file and line (mod_md prints "(null)(line 0)").
// Not here: reading server_recs (mod_mdactor.cpp), the store, certificates, starting anything.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/engine_config.hpp"
#include "core/error.hpp"
#include "httpd/config.hpp"

namespace mda::httpd {

/// One address of a <VirtualHost> (server_addr_rec): host as written, port (0 = any).
struct vhost_addr {
  std::string host;
  int port = 0;
};

/// What the linking needs to know about one server_rec.
struct vhost_info {
  std::string server_name;               ///< ServerName (s->server_hostname)
  std::vector<std::string> aliases;      ///< ServerAlias without wildcards (s->names)
  std::vector<std::string> wild_aliases; ///< ServerAlias with '*' or '?' (s->wild_names)
  int port = 0;                          ///< s->port
  std::vector<vhost_addr> addrs;         ///< <VirtualHost> addresses
  bool is_base = false;                  ///< the main server, outside any <VirtualHost>
  bool ssl = false;                      ///< mod_ssl serves it (phase 2 only)
  bool acme_tls_1 = false;               ///< its Protocols allow "acme-tls/1"
  std::string contact;                   ///< MDContactEmail in effect for it, "" = none
  std::string server_admin;              ///< ServerAdmin in effect for it
};

/// A warning for the log, with mdactor's log id.
struct build_message {
  std::string id;   ///< e.g. "MDA0105"
  std::string text; ///< mod_md's wording
  bool operator==(const build_message& o) const { return id == o.id && text == o.text; }
};

struct build_input {
  module_conf mc;                 ///< the directives (MDs included)
  md_props base;                  ///< the base server's props (MD defaults)
  std::vector<vhost_info> vhosts; ///< all server_recs, the base server first
  std::vector<int> listen_ports;  ///< ports of the http/https listeners (Listen)
  std::string server_root;        ///< makes a relative MDStoreDir absolute
};

struct linked_config {
  engine_config config; ///< settings and completed MDs (`used` final after phase 2)
  /// Per vhost (same index as build_input::vhosts): indexes into config.mds of the MDs
  /// assigned to it.
  std::vector<std::vector<std::size_t>> assigned;
  std::vector<build_message> warnings;
};

/// The engine settings from the directives: MDStoreDir made absolute, the server defaults of
/// the per-MD windows, stapling and ARI taken from `base`.
engine_settings make_settings(const build_input& in);

/// Phase 1 (see above). Errors (config_errc::conflict) carry mod_md's text, e.g.
/// "two Managed Domains have an overlap in domain 'a.org', first definition in
/// /etc/httpd.conf(line 3), second in /etc/httpd.conf(line 4)".
expected<linked_config> link_config(const build_input& in);

/// Phase 2 (see above) on the result of link_config with `vhosts` now carrying `ssl`.
/// Error: "conflict: 2 MDs match to SSL VirtualHost a.org, there can at most be one."
status finish_config(linked_config& lc, const build_input& in);

/// Both phases.
expected<linked_config> build_config(const build_input& in);

// --- name matching, as httpd and mod_md do it ----------------------------------------------

/// md_dns_matches: equal (ASCII case-insensitive), or "*.rest" and `name` is one label
/// followed by ".rest".
bool dns_matches(const std::string& pattern, const std::string& name);
/// "*.x" form.
bool is_wildcard(const std::string& domain);
/// ap_strcasecmp_match == 0: shell pattern with '*' and '?', ASCII case-insensitive.
bool glob_matches(const std::string& pattern, const std::string& text);
/// ap_matches_request_vhost(domain, v.port): a <VirtualHost> address name, ServerName,
/// ServerAlias, or a wildcard ServerAlias.
bool vhost_matches(const vhost_info& v, const std::string& domain);

} // namespace mda::httpd
