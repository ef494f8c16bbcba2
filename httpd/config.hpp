// The module's configuration records, as the directive handlers fill them (reference §1.1,
// §1.3; mod_md src/mod_md_config.c). Plain C++ with no httpd or APR include, so the linking
// logic (config_build.hpp) is tested without Apache.
//
// - md_props: the settings a directive of scope ALL stores per server (<VirtualHost> or the
//   base server) or per <MDomain> section. Unset = std::nullopt; merge() lets the more specific
//   record win, as mod_md's md_config_merge does.
// - md_section: one MDomain line or <MDomain>/<MDomainSet> section: names (lowercased, unique,
//   first occurrence kept), its own props, static certificate files, where it was defined.
// - module_conf: the process-wide settings (mod_md's md_mod_conf_t): NOT_MD directives, the
//   global values of MDChallengeDns01/MDHttpProxy/MDCACertificateFile/...; the MDs in the order
//   they were defined. Defaults are httpd 2.4.71's mod_md (MDServerStatus off).
// - server_conf: per server_rec: the props set in that server, MDContactEmail included.
// Not here: parsing directive values (core/config_values.hpp, core/duration.hpp), scopes and
// the command table (directives.cpp), computing the final MDs (config_build.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/cluster_config.hpp"
#include "core/config_values.hpp"
#include "core/duration.hpp"
#include "core/key_spec.hpp"
#include "core/md.hpp"

namespace mda::httpd {

/// mod_md's store default: "md", relative to ServerRoot (httpd 2.4 has no state dir).
inline constexpr const char* k_default_store_dir = "md";
/// The CA used when no MDCertificateAuthority is given (acme_complete_md).
inline constexpr const char* k_default_ca_url = "https://acme-v02.api.letsencrypt.org/directory";
/// httpd's ServerAdmin default; mod_md does not use it as a contact.
inline constexpr const char* k_default_admin = "[no address given]";

/// Settings of scope ALL (stored per server or per MD section). Unset members inherit.
struct md_props {
  std::optional<int> transitive;                      ///< MDMembers auto(1) | manual(0)
  std::optional<md_require_https> require_https;      ///< MDRequireHttps
  std::optional<md_renew_mode> renew_mode;            ///< MDRenewMode / MDDriveMode
  std::optional<bool> must_staple;                    ///< MDMustStaple
  std::optional<std::vector<key_spec>> key_specs;     ///< MDPrivateKeys (empty = Default)
  std::optional<timeslice> renew_window;              ///< MDRenewWindow
  std::optional<timeslice> warn_window;               ///< MDWarnWindow
  std::optional<std::vector<std::string>> ca_urls;    ///< MDCertificateAuthority
  std::optional<std::string> ca_proto;                ///< MDCertificateProtocol
  std::optional<std::string> ca_agreement;            ///< MDCertificateAgreement
  std::optional<std::vector<std::string>> ca_challenges; ///< MDCAChallenges
  std::optional<bool> stapling;                       ///< MDStapling
  std::optional<bool> staple_others;                  ///< MDStapleOthers (never per MD)
  std::optional<std::string> contact;                 ///< MDContactEmail, as written
  std::optional<md_eab> eab;                          ///< MDExternalAccountBinding
  std::optional<std::string> profile;                 ///< MDProfile
  std::optional<bool> profile_mandatory;              ///< MDProfileMandatory
  std::optional<bool> ari_renewals;                   ///< MDRenewViaARI
  // Set only inside an MD section; outside they are global (module_conf).
  std::optional<std::string> dns01_cmd;               ///< MDChallengeDns01
  std::optional<std::string> proxy_url;               ///< MDHttpProxy
  std::optional<std::string> ca_certs;                ///< MDCACertificateFile
  std::optional<std::string> proxy_ca_certs;          ///< MDHttpProxyCACertificateFile
};

/// `add` where set, else `base` (mod_md's md_config_merge for a vhost over the base server).
md_props merge(const md_props& base, const md_props& add);

/// One MD as configured.
struct md_section {
  std::vector<std::string> domains; ///< lowercased, unique; domains[0] is the MD name
  md_props props;                   ///< directives inside the section (and MDomain auto|manual)
  std::vector<std::string> cert_files; ///< MDCertificateFile, ServerRoot-relative resolved
  std::vector<std::string> key_files;  ///< MDCertificateKeyFile
  std::string defn_file;            ///< configuration file of the MDomain line / section
  int defn_line = 0;
};

/// Adds `name` lowercased unless present (compared case-insensitively), as mod_md does for
/// MDomain arguments and MDMembers.
void add_domain_name(std::vector<std::string>& domains, const std::string& name);

/// The process-wide settings, mod_md's defaults (defmc) plus mdactor's extensions.
struct module_conf {
  std::string store_dir = k_default_store_dir; ///< MDStoreDir as written
  port_map ports;                              ///< MDPortMap
  bool manage_base_server = false;             ///< MDBaseServer
  match_mode match = match_mode::all;          ///< MDMatchNames
  std::string notify_cmd;                      ///< MDNotifyCmd
  std::string message_cmd;                     ///< MDMessageCmd
  milliseconds retry_delay{30'000};            ///< MDRetryDelay
  int retry_failover = 13;                     ///< MDRetryFailover
  milliseconds check_interval{12LL * 3600'000}; ///< MDCheckInterval
  milliseconds initial_delay{0};               ///< MDInitialDelay
  milliseconds activation_delay{0};            ///< MDActivationDelay
  store_locks locks;                           ///< MDStoreLocks (wait default 5 s)
  bool server_status = false;                  ///< MDServerStatus: off since httpd 2.4.69
  bool certificate_status = true;              ///< MDCertificateStatus
  timeslice stapling_renew_window = default_stapling_renew_window(); ///< MDStaplingRenewWindow
  timeslice stapling_keep_response = default_stapling_keep_response(); ///< MDStaplingKeepResponse
  std::string cert_check_name = "crt.sh";      ///< MDCertificateCheck
  std::string cert_check_url = "https://crt.sh?q=";
  std::string dns01_cmd;                       ///< MDChallengeDns01 outside sections
  int dns01_version = 1;                       ///< MDChallengeDns01Version
  std::string proxy_url;                       ///< MDHttpProxy outside sections
  std::string ca_certs;                        ///< MDCACertificateFile outside sections
  std::string proxy_ca_certs;                  ///< MDHttpProxyCACertificateFile outside
  // --- mdactor extensions ---
  int orders_in_flight = 8;                    ///< MDRenewParallel
  milliseconds command_timeout{60'000};        ///< MDCommandTimeout
  bool live_activation = true;                 ///< MDActivation live|restart
  cluster_config cluster;                      ///< MDStoreEtcd
  // --- the MDs, in definition order ---
  std::vector<md_section> mds;
};

/// What a server_rec carries: the props written in it (merged with the base server's by
/// httpd's merge_server_config).
struct server_conf {
  md_props props;
};

} // namespace mda::httpd
