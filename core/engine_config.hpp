// The configuration the engine runs from: server-wide settings plus the managed domains, as
// the Apache module's post_config produces it (and hands to the engine process) and as
// `mdctl run --config FILE` reads it. One structure for both, so the engine cannot tell who
// configured it.
//
// - engine_settings: mod_md's NOT_MD directives and the global defaults of the ALL ones
//   (reference §1.3), resolved to values, plus mdactor's own extensions (orders in flight,
//   command timeout, status file and socket, embedded responders).
// - engine_md: one MD as md.json carries it (managed_domain) plus what md.json does not hold:
//   whether a virtual host uses it.
// - JSON: {"version": 1, "settings": {...}, "mds": [{"md": <md.json>, "used": true}, ...]};
//   settings keys are the directive names in kebab case, durations in format_duration text
//   ("30s", "12h"), timeslices in format_timeslice text ("33%", "14d"). Unknown keys are
//   ignored (forward compatibility); a value of the wrong type or syntax is an error naming
//   the source and the key.
// Not here: directive parsing and scopes (httpd/), merging MD sections with server defaults
// (the module does it before it fills managed_domain), starting anything.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cluster_config.hpp"
#include "core/config_values.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/md.hpp"

namespace mda {

struct engine_settings {
  // --- mod_md directives (server-wide) ---
  std::string store_dir;                         ///< MDStoreDir, absolute
  milliseconds retry_delay{30'000};              ///< MDRetryDelay
  int retry_failover = 13;                       ///< MDRetryFailover
  milliseconds check_interval{12LL * 3600'000};  ///< MDCheckInterval
  milliseconds initial_delay{0};                 ///< MDInitialDelay
  milliseconds activation_delay{0};              ///< MDActivationDelay
  timeslice renew_window = default_renew_window(); ///< MDRenewWindow (server default)
  timeslice warn_window = default_warn_window();   ///< MDWarnWindow (server default)
  std::string notify_cmd;                        ///< MDNotifyCmd, raw line ("" = none)
  std::string message_cmd;                       ///< MDMessageCmd, raw line ("" = none)
  std::string dns01_cmd;                         ///< MDChallengeDns01 (global; MDs may override)
  int dns01_version = 1;                         ///< MDChallengeDns01Version
  std::string http_proxy;                        ///< MDHttpProxy (global; OCSP uses this one)
  std::string ca_certs;                          ///< MDCACertificateFile (global)
  std::string proxy_ca_certs;                    ///< MDHttpProxyCACertificateFile (global)
  port_map ports;                                ///< MDPortMap
  bool renew_via_ari = true;                     ///< MDRenewViaARI (global default)
  bool stapling = false;                         ///< MDStapling (global default)
  bool staple_others = true;                     ///< MDStapleOthers
  /// MDStapleOthers: PEM files of the certificates of SSL vhosts that are not MDs, one file per
  /// certificate: the leaf first, then its chain (the issuer must be in the same file). Filled
  /// by the Apache module; registered for stapling under "other" when staple_others is on.
  std::vector<std::string> staple_other_files;
  timeslice stapling_renew_window = default_stapling_renew_window(); ///< MDStaplingRenewWindow
  timeslice stapling_keep_response = default_stapling_keep_response(); ///< MDStaplingKeepResponse
  std::string cert_check_name;                   ///< MDCertificateCheck name ("" = none)
  std::string cert_check_url;                    ///< MDCertificateCheck URL prefix
  // --- mdactor extensions ---
  int orders_in_flight = 8;                      ///< MDRenewParallel: orders run at once
  milliseconds command_timeout{60'000};          ///< MDCommandTimeout: events, dns-01 program
  std::string status_file;                       ///< published snapshot ("" = status_file_path)
  std::string status_socket;                     ///< live queries ("" = none)
  /// MDActivation: true (live, the default) serves a renewed set from staging/ at once
  /// (store/live.hpp); false (restart) leaves it for the next restart, as mod_md does.
  bool live_activation = true;
  /// Embedded challenge responders (mdctl run, no Apache): 0 = off. With Apache the module
  /// answers challenges from the store's challenges/ group instead.
  int http01_port = 0;
  int tlsalpn01_port = 0;
  std::string responder_address = "127.0.0.1";
  /// Whether public port 80 / 443 reach this server (httpd.json; MDPortMap plus the Listen
  /// ports, mod_md's detect_supported_protocols). Without Apache: both reachable.
  bool can_http = true;
  bool can_https = true;
  /// MDStoreEtcd: the etcd cluster shared with other servers (docs/cluster.md); off = alone.
  cluster_config cluster;

  bool operator==(const engine_settings& o) const;
};

struct engine_md {
  managed_domain md;
  bool used = true; ///< some virtual host uses it (MDRenewMode auto renews only those)
  bool operator==(const engine_md& o) const { return md == o.md && used == o.used; }
};

struct engine_config {
  engine_settings settings;
  std::vector<engine_md> mds;
  bool operator==(const engine_config& o) const {
    return settings == o.settings && mds == o.mds;
  }
};

/// The directory of the store that belongs to the Apache User (0700): the engine's status
/// file and socket and the accounts it registered (store/engine_store.hpp). "<store>/mdactor".
std::string engine_dir(const engine_settings& s);
/// MDActorStatusFile, else <engine_dir>/status.json.
std::string status_file_path(const engine_settings& s);
/// The status socket when none is configured: <engine_dir>/status.sock.
/// Where the engine announces the sets served live: <engine_dir>/live.json (store/live.hpp).
std::string live_file_path(const engine_settings& s);
std::string default_status_socket(const engine_settings& s);

nlohmann::ordered_json to_json(const engine_settings& s);
nlohmann::ordered_json to_json(const engine_config& c);

/// Reads the JSON form; every error names `source` and the member.
expected<engine_settings> engine_settings_from_json(const nlohmann::ordered_json& j,
                                                    const std::string& source);
expected<engine_config> engine_config_from_json(const nlohmann::ordered_json& j,
                                                const std::string& source);
/// Reads and parses a file (the error names the path).
expected<engine_config> load_engine_config(const std::string& path);

/// Consistency checks the engine needs before it starts: a store dir, MD names unique and not
/// empty, every MD with at least one domain and one CA URL, orders_in_flight >= 1. The first
/// problem as the error, naming the MD.
status validate(const engine_config& c);

} // namespace mda
