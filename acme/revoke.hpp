// Revoking a certificate (RFC 8555 §7.6) and rolling an account key over (RFC 8555 §7.3.5):
// the two account-side requests `mdctl revoke` and `mdctl account rollover` make.
//
// - revokeCert: payload {"certificate": base64url(DER of the leaf), "reason": N}, signed
//   either by the account (kid = account URL; the CA checks the account may revoke it) or by
//   the certificate's own key (jwk embedded; proves possession, §7.6 second method). The
//   reason codes are RFC 5280 §5.3.1's CRLReason; 7 is unused there and refused here, and
//   "reason" is left out when none is given (the CA then records none).
// - keyChange: an outer JWS signed by the account (kid) whose payload is an inner JWS signed
//   by the new key with its jwk, no nonce, the same url, and the payload
//   {"account": <account URL>, "oldKey": <JWK of the current key>}. The CA answers 200; a
//   409 names the account that already has the new key.
//
// Not here: which account or key to use, archiving files, storing the new key (tools/).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/account.hpp"
#include "acme/client.hpp"
#include "core/pkey.hpp"
#include "core/x509.hpp"

namespace mda::acme {

/// RFC 5280 §5.3.1 CRLReason names, as mdctl spells them, with their codes.
struct revocation_reason {
  const char* name;
  int code;
};

/// The reasons a CA may be given: unspecified(0) .. aACompromise(10), without 7.
const std::vector<revocation_reason>& revocation_reasons();

/// The code of a reason name (case-sensitive, RFC 5280 spelling) or of its number as text;
/// nullopt when unknown.
std::optional<int> parse_revocation_reason(std::string_view name);

/// The RFC 5280 name of a code ("keyCompromise"); "reason N" when unknown.
std::string revocation_reason_name(int code);

/// The revokeCert payload (see above); no "reason" member when `reason` is empty.
expected<nlohmann::json> revoke_payload(const certificate& cert, std::optional<int> reason);

/// POSTs revokeCert signed by `who` (an account signer, or signer{cert key, ""} for the jwk
/// form). A directory without revokeCert -> acme_errc::invalid naming the CA.
acme_status revoke_certificate(client& c, const certificate& cert, std::optional<int> reason,
                               const signer& who);

/// The inner JWS of keyChange (see above), signed by `new_key` for the CA's keyChange URL.
expected<nlohmann::ordered_json> key_change_jws(const account& acct, const private_key& new_key,
                                                const std::string& key_change_url);

/// keyChange: on success the account with `new_key` (nothing else changes). A directory
/// without keyChange -> acme_errc::invalid naming the CA.
acme_result<account> change_account_key(client& c, const account& acct,
                                        const private_key& new_key);

} // namespace mda::acme
