// The managed domain as md.json stores it (reference §2.3; mod_md md_to_json/md_from_json).
//
// - managed_domain: every property md.json carries, with mod_md's encodings (state and
//   renew-mode as ints, require-https as "temporary"/"permanent", windows as timeslice text).
// - to_json writes mod_md's keys in mod_md's order and leaves out what mod_md leaves out, so
//   `to_json(md).dump(2)` is byte-for-byte the file mod_md writes (jansson JSON_INDENT(2),
//   JSON_PRESERVE_ORDER). to_public_json hides credentials for md-status (core/redact.hpp).
// - md_from_json reads mod_md's files, including legacy forms (a single "ca.url" without
//   "urls", state 3 "expired", integer windows of mod_md 1.x which are dropped).
// Not here: the MD as the engine runs it, its windows parsed and rules resolved (md_spec.hpp),
// merging with the configuration, the certificates and keys of an MD (store/, x509.hpp),
// md-status fields such as "cert".
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/key_spec.hpp"

namespace mda {

/// md_state_t; the numbers are what md.json stores.
enum class md_state : int {
  unknown = 0,
  incomplete = 1,          ///< certificate missing or not covering the MD (see state_descr)
  complete = 2,            ///< certificates present and matching
  expired_deprecated = 3,  ///< no longer set; read as complete
  error = 4,               ///< the MD is in error (e.g. bad static files)
  missing_information = 5, ///< no longer set by mod_md
};

/// MDRenewMode; the numbers are what md.json stores (MD_RENEW_*).
/// unset (-1) is what mod_md's a2md stores for an MD it added (MD_RENEW_DEFAULT): no
/// MDRenewMode of its own; it renews as automatic does.
enum class md_renew_mode : int { unset = -1, manual = 0, automatic = 1, always = 2 };

/// MDRequireHttps; md.json stores "temporary" / "permanent" and nothing for off.
enum class md_require_https { off, temporary, permanent };

/// The "ca" object. Empty strings and lists are absent in md.json.
struct md_ca {
  std::string account;                 ///< account id in the store, "ACME-<sname>-NNNN"
  std::string proto;                   ///< "ACME"
  std::string url;                     ///< the effective CA (staging; after activation)
  std::vector<std::string> urls;       ///< MDCertificateAuthority, in order
  std::string agreement;               ///< MDCertificateAgreement ("accepted") or a ToS URL
  std::vector<std::string> challenges; ///< MDCAChallenges
  bool operator==(const md_ca& o) const;
};

/// MDExternalAccountBinding. A kid of "none" (or empty) means no binding.
struct md_eab {
  std::string kid;
  std::string hmac; ///< base64url key, stored in clear text in md.json (reference §10.10)
  bool operator==(const md_eab& o) const { return kid == o.kid && hmac == o.hmac; }
};

struct managed_domain {
  std::string name;                       ///< the MD name, normally the first domain
  std::vector<std::string> domains;       ///< lowercase, unique (compact_names)
  std::vector<std::string> contacts;      ///< "mailto:..." URIs
  int transitive = 1;                     ///< MDMembers: 1 auto, 0 manual
  md_ca ca;
  std::vector<key_spec> key_specs;        ///< MDPrivateKeys; "privkey", absent when empty
  md_state state = md_state::unknown;
  std::string state_descr;                ///< why incomplete/error; absent when empty
  md_renew_mode renew_mode = md_renew_mode::automatic;
  std::string renew_window;               ///< timeslice text, e.g. "33%"; "" = not set
  std::string warn_window;                ///< timeslice text, e.g. "10%"; "" = not set
  md_require_https require_https = md_require_https::off;
  bool must_staple = false;
  std::vector<std::string> acme_tls_1_domains; ///< names whose https vhost allows acme-tls/1
  std::vector<std::string> cert_files;    ///< MDCertificateFile (static certificates)
  std::vector<std::string> pkey_files;    ///< MDCertificateKeyFile
  bool stapling = false;
  std::string dns01_cmd;                  ///< per-MD MDChallengeDns01
  std::string proxy_url;                  ///< per-MD MDHttpProxy
  std::string ca_certs;                   ///< per-MD MDCACertificateFile
  std::string proxy_ca_certs;             ///< per-MD MDHttpProxyCACertificateFile
  md_eab eab;
  std::string profile;                    ///< MDProfile; "" = none
  bool profile_mandatory = false;
  bool ari_renewals = true;               ///< MDRenewViaARI

  bool operator==(const managed_domain& o) const;
  bool operator!=(const managed_domain& o) const { return !(*this == o); }
};

/// The names lowercased (ASCII), duplicates (compared case-insensitively) dropped, first
/// occurrence order kept (md_array_str_compact).
std::vector<std::string> compact_names(const std::vector<std::string>& names);

/// md.json in mod_md's key order. Domains and CA challenges are compacted on the way out.
nlohmann::ordered_json to_json(const managed_domain& md);

/// to_json as status outputs show it (md_to_public_json, used by md-status and the status
/// file): the EAB hmac "***", as mod_md; beyond mod_md, "cmd-dns-01" without its arguments,
/// "proxy-url", "ca"."url" and "ca"."urls" without userinfo (core/redact.hpp has the rules).
nlohmann::ordered_json to_public_json(const managed_domain& md);

/// Reads md.json. Absent members keep the defaults above; a member of the wrong type or an
/// unknown state / renew-mode number is an error naming `source` and the member
/// (json_errc). Domains are compacted; state 3 becomes complete; a "ca.url" without
/// "ca.urls" becomes the one entry of urls.
expected<managed_domain> md_from_json(const nlohmann::ordered_json& j, const std::string& source);

} // namespace mda
