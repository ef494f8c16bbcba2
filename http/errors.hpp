// The error codes of talking to a CA: what went wrong in an HTTP exchange (the transport,
// http/http_client.hpp, reports bad_url through bad_response) or in ACME work on top of it
// (acme/, the rest), as one small enum with its std::error_category. OCSP fetching keeps the
// transport's codes (ocsp/errors.hpp). The message of an mda::error names the URL and the
// step; an ACME problem document travels beside it (acme/problem.hpp). Kept as acme_errc in
// namespace mda::acme: the values are stable and reach logs and the engine's error mapping.
//
// Not here: deciding what is retryable (acme/problem.hpp `classify`), CAF error mapping (the
// engine registers this category at its boundary).
#pragma once

#include <system_error>

#include "core/error.hpp"

namespace mda::acme {

/// What went wrong in ACME work. Values are stable: they may end up in logs.
enum class acme_errc {
  ok = 0,
  bad_url = 1,         ///< a URL that is not absolute http:// or https://
  config = 2,          ///< transport settings that cannot work (proxy URL, CA file)
  connection = 3,      ///< no connection: refused, unreachable, unresolvable, lost
  timeout = 4,         ///< connect, read or overall deadline passed
  tls = 5,             ///< TLS handshake or server certificate verification failed
  body_too_large = 6,  ///< a response body over the cap (1 MiB)
  bad_response = 7,    ///< an answer we cannot use: not JSON, wrong type, missing fields
  obsolete = 8,        ///< an ACMEv1 server
  again = 9,           ///< try again: badNonce, 503 maintenance (mod_md's APR_EAGAIN)
  invalid = 10,        ///< the server refused our input: 400, malformed & co (APR_EINVAL)
  unauthorized = 11,   ///< 401/403, unauthorized (APR_EACCES)
  not_found = 12,      ///< 404, accountDoesNotExist (APR_ENOENT)
  rate_limited = 13,   ///< rateLimited / 429; see problem::retry_after
  server = 14,         ///< any other problem or unexpected status (APR_EGENERAL)
};

const std::error_category& acme_category() noexcept;
std::error_code make_error_code(acme_errc e) noexcept;

} // namespace mda::acme

namespace std {
template <>
struct is_error_code_enum<mda::acme::acme_errc> : true_type {};
} // namespace std
