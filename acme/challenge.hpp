// ACME challenges as the order driver hands them to whoever answers them (RFC 8555 §8).
//
// The driver picks a challenge for an authorization, computes its data (key authorization,
// RFC 8555 §8.1) and calls a challenge_setup to put the answer where the CA will look:
//   http-01      token -> key authorization, served at /.well-known/acme-challenge/<token>
//   tls-alpn-01  a certificate + key answered on ALPN "acme-tls/1" for the identifier (RFC 8737)
//   dns-01       TXT record _acme-challenge.<domain> = base64url(SHA-256(key authorization))
// Implementations: the store's challenges/ group (what Apache's workers serve, mod_md's files),
// embedded responders (mdctl), an external MDChallengeDns01 program. All calls block; the
// engine runs them off its event loop.
// Not here: choosing the challenge (the authorization logic), talking to the CA.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace mda::acme {

enum class challenge_type { http_01, tls_alpn_01, dns_01 };

/// "http-01", "tls-alpn-01", "dns-01".
const char* to_string(challenge_type t);
/// The type of a challenge name; nothing for names we cannot answer.
std::optional<challenge_type> parse_challenge_type(std::string_view name);

/// One challenge to set up.
struct challenge_data {
  challenge_type type = challenge_type::http_01;
  /// The authorization's identifier value: a DNS name (for a wildcard order the base domain,
  /// RFC 8555 §7.1.3) or an IP address literal (RFC 8738).
  std::string identifier;
  bool is_ip = false;
  bool wildcard = false;           ///< the authorization has "wildcard": true
  std::string md_name;             ///< the managed domain the order is for (events, store)
  std::string token;               ///< the challenge's token
  std::string key_authorization;   ///< token "." base64url(JWK thumbprint)
};

/// Puts challenge answers in place and takes them away again.
class challenge_setup {
 public:
  virtual ~challenge_setup() = default;
  /// Whether this setup can answer challenges of the type at all (dns-01 needs a program...).
  virtual bool supports(challenge_type t) const = 0;
  /// Makes the answer available. Blocking; an error names what failed.
  virtual status setup(const challenge_data& c) = 0;
  /// Removes the answer again (after the authorization ended, or on purge).
  virtual status teardown(const challenge_data& c) = 0;
};

} // namespace mda::acme
