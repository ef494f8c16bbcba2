// One managed domain as the engine runs it: the configured MD (managed_domain, which keeps
// md.json's encodings) resolved once, when the configuration is taken in, into the values the
// runtime asks for. Whoever runs an MD (the supervisor and its domain actors, the Apache
// parent's certificate hooks and its status at start, md-replay) reads them here instead of
// deriving them again from md.json's fields.
//
// - Windows: MDRenewWindow / MDWarnWindow of the MD, else the server's, parsed once (a text
//   that does not parse is an error when the spec is made, naming the MD and the directive:
//   "a.example: MDRenewWindow has unrecognized format").
// - Key specs: MDPrivateKeys, or the default spec when none is configured; the certificate
//   slots (one per MDCertificateFile when there are any, else one per key spec).
// - CAs: the ordered MDCertificateAuthority list (a legacy md.json with a single "ca.url" and
//   no "urls": that one), the CA md.json names for the certificates in use, and the two
//   rules that pick a CA at runtime (ca_in_use, ari_ca).
// - Renewal: will_renew (md_will_renew_cert), watched (the MD gets a renewal job), used.
// - Must-staple, MDStapling, MDRenewViaARI, static certificate files, as configured.
// Not here: md.json reading and writing (md.hpp), merging sections with server defaults
// (httpd/config_build.hpp), the decisions that use these values (renewal.hpp), the challenge
// types an order offers (they depend on the server's reachability: acme/authz.hpp).
#pragma once

#include <string>
#include <vector>

#include "core/engine_config.hpp"
#include "core/error.hpp"
#include "core/key_spec.hpp"
#include "core/md.hpp"
#include "core/renewal.hpp"

namespace mda {

struct md_spec {
  std::string name;
  std::vector<std::string> domains;     ///< as configured (compacted)
  std::vector<key_spec> key_specs;      ///< MDPrivateKeys; the default spec when none is set
  std::vector<std::string> cert_slots;  ///< certificate_slots: the names of the certificates
  std::vector<std::string> ca_urls;     ///< MDCertificateAuthority, in order; may be empty
  /// md.json's "ca.url": the CA of the certificates in domains/ (the parent keeps it from the
  /// stored md.json); "" = unknown.
  std::string certificates_ca;
  renewal_settings renewal;             ///< the windows resolved, and `used`
  bool will_renew = true;               ///< will_renew(): certificates are renewed here
  bool watched = true;                  ///< is_watched(): the MD gets a renewal job
  bool must_staple = false;             ///< MDMustStaple
  bool stapling = false;                ///< MDStapling (merged)
  bool ari_renewals = true;             ///< MDRenewViaARI
  std::vector<std::string> cert_files;  ///< MDCertificateFile (static certificates)
  std::vector<std::string> pkey_files;  ///< MDCertificateKeyFile, one per cert file

  bool operator==(const md_spec& o) const;
  bool operator!=(const md_spec& o) const { return !(*this == o); }
};

/// The spec of one MD. `server` gives the windows an MD without its own take; `used` whether
/// a virtual host uses the MD. Errors: a window text that does not parse (see above).
expected<md_spec> make_md_spec(const managed_domain& md, const engine_settings& server, bool used);

/// The specs of every MD of a configuration, in its order; the first error.
expected<std::vector<md_spec>> make_md_specs(const engine_config& cfg);

/// The CA a renewal run talks to (mod_md's effective CA): `chosen` — the CA of a staged set,
/// or the one the retry policy picked after a failure — while it is still configured, else the
/// first configured CA; "" when none is configured.
std::string ca_in_use(const md_spec& spec, const std::string& chosen);

/// The CA asked for renewalInfo (RFC 9773) about the certificates in use: `chosen` when
/// there is one, else the CA md.json names for them, else the first configured; "" = none.
std::string ari_ca(const md_spec& spec, const std::string& chosen);

/// The key specs an MD's certificates are made for: its MDPrivateKeys, or the default spec.
/// For code that works on an md.json (staging, the stored files); runtime code reads
/// md_spec::key_specs.
std::vector<key_spec> effective_key_specs(const managed_domain& md);

/// The configured CA list of an md.json: "ca.urls", else its single "ca.url", else none.
std::vector<std::string> configured_ca_urls(const managed_domain& md);

} // namespace mda
