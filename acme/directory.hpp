// The ACME directory (RFC 8555 §7.1.1): where the resources are and what the CA offers.
//
// - newNonce, newAccount, newOrder are required (mod_md needs all three, reference §6);
//   revokeCert, keyChange, renewalInfo (RFC 9773 §3) are optional.
// - meta: termsOfService, website, caaIdentities, externalAccountRequired, and profiles
//   (draft-ietf-acme-profiles: {name: description}) kept in the CA's order.
// - ACMEv1 directories ("new-reg", "new-cert", ...) are recognised and refused.
//
// Not here: fetching (the caller GETs the URL with an http_transport), caching, nonces.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "http/errors.hpp"
#include "http/http_client.hpp"

namespace mda::acme {

struct directory {
  std::string url; ///< where the directory was fetched
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string revoke_cert;  ///< "" when not offered
  std::string key_change;   ///< "" when not offered
  std::string renewal_info; ///< "" when the CA offers no ARI
  std::string terms_of_service;
  std::string website;
  std::vector<std::string> caa_identities;
  bool external_account_required = false;
  std::vector<std::pair<std::string, std::string>> profiles; ///< name, description

  bool has_renewal_info() const { return !renewal_info.empty(); }
  /// The CA's spelling of a profile name, matched case-insensitively (as mod_md does).
  std::optional<std::string> find_profile(std::string_view name) const;
};

/// Parses a directory document fetched from `url`.
expected<directory> parse_directory(const std::string& url, std::string_view body);

/// Checks the answer to the directory GET (status, content) and parses it. A 503 is
/// acme_errc::again (maintenance); any other non-2xx is acme_errc::again as in mod_md.
expected<directory> directory_from_response(const http_response& res);

} // namespace mda::acme
