// Checking a DER OCSPResponse (RFC 6960 §4.2) for one certificate, more strictly than
// mod_md, which does not verify signatures (reference §10.9). In this order:
//
// 1. the body is exactly one DER OCSPResponse;
// 2. responseStatus is successful (§4.2.1) and the response is a BasicOCSPResponse;
// 3. the signature verifies, and the signer is either the issuer itself or a delegated
//    responder certificate carried in the response, issued by the issuer and carrying
//    id-kp-OCSPSigning (§4.2.2.2). Anything else (an unrelated key, another certificate of
//    the same issuer without the EKU, a responder of another CA) is rejected. The signer's
//    certificate must be valid at `now` (the injected clock);
// 4. the nonce, when the responder echoes one: it must equal what we sent (RFC 8954 §2.1;
//    a missing nonce is accepted, as mod_md does: responders serve cached answers);
// 5. a SingleResponse whose CertID equals ours (hash algorithm included);
// 6. thisUpdate not later than now + max_skew; nextUpdate, when present, not before
//    thisUpdate and not passed (§4.2.2.1; a response without nextUpdate is accepted).
// "unknown" is a result here; callers that staple treat it as an error (stored_from()).
// Every error message ends with the responder URL (errors.hpp).
// Not here: HTTP (fetch.hpp), files (persist.hpp), OCSP over CRLs, id-pkix-ocsp-nocheck.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/timefmt.hpp"
#include "core/x509.hpp"
#include "ocsp/errors.hpp"
#include "ocsp/request.hpp"

namespace mda::ocsp {

/// The certificate status (RFC 6960 §4.2.1 CertStatus).
enum class cert_status { good, revoked, unknown };

/// "good", "revoked", "unknown" (md_ocsp_cert_stat_name).
const char* to_string(cert_status s) noexcept;
/// The reverse; any other text is unknown, as mod_md reads it (md_ocsp_cert_stat_value).
cert_status cert_status_from_string(std::string_view text) noexcept;

/// What the check needs besides the bytes.
struct check_options {
  std::string responder_url;  ///< for messages
  cert_id id;                 ///< the CertID asked about
  certificate issuer;         ///< the leaf's issuer: signer or issuer of the signer
  std::string nonce;          ///< the nonce sent; "" = none sent, an echo is not compared
  sys_time now{};             ///< the injected clock
  /// Clock difference tolerated for thisUpdate (responders stamp "now" with their clock).
  std::chrono::seconds max_skew{std::chrono::minutes(5)};
};

/// A checked response.
struct response {
  cert_status status = cert_status::unknown;
  sys_time revocation_time{};     ///< revoked only
  int revocation_reason = -1;     ///< CRLReason (RFC 5280 §5.3.1); -1 = not given
  sys_time this_update{};
  std::optional<sys_time> next_update;
  bool nonce_echoed = false;      ///< the responder returned our nonce
  std::string der;                ///< the OCSPResponse as received: what is stapled
};

/// Runs the checks above on `der`.
expected<response> check_response(std::string_view der, const check_options& opts);

} // namespace mda::ocsp
