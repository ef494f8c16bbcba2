// The error codes of the OCSP layer (ocsp/): what went wrong asking a responder about a
// certificate or checking its answer, as one small enum with its std::error_category.
// Messages name what failed and end with the responder: "... (OCSP responder '<url>')".
//
// Not here: transport failures keep their acme_errc code (connection, timeout,
// body_too_large) and only get the responder suffix; store failures keep store_errc.
#pragma once

#include <string>
#include <system_error>

#include "core/error.hpp"

namespace mda::ocsp {

/// What went wrong in OCSP work. Values are stable: they may end up in logs.
enum class ocsp_errc {
  ok = 0,
  no_responder = 1,   ///< the certificate names no OCSP responder (AIA, RFC 5280 §4.2.2.1)
  request = 2,        ///< building the OCSP request failed (an OpenSSL call, the nonce)
  bad_response = 3,   ///< an answer that is no OCSP response: HTTP status, content type, DER
  unsuccessful = 4,   ///< responseStatus other than successful (RFC 6960 §4.2.1)
  nonce_mismatch = 5, ///< the echoed nonce differs from the one sent (RFC 8954 §2.1)
  no_status = 6,      ///< no SingleResponse for our CertID
  bad_signature = 7,  ///< signature or signer not acceptable (RFC 6960 §4.2.2.2)
  bad_time = 8,       ///< thisUpdate in the future, nextUpdate passed or before thisUpdate
  cert_unknown = 9,   ///< the responder says "unknown": nothing to staple (mod_md: error)
};

const std::error_category& ocsp_category() noexcept;
std::error_code make_error_code(ocsp_errc e) noexcept;

/// " (OCSP responder '<url>')": the suffix every message of this layer ends with.
std::string responder_suffix(const std::string& url);

/// error(code, what + responder_suffix(url)).
error responder_error(ocsp_errc code, const std::string& what, const std::string& url);

} // namespace mda::ocsp

namespace std {
template <>
struct is_error_code_enum<mda::ocsp::ocsp_errc> : true_type {};
} // namespace std
