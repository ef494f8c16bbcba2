// Asking a responder: POST one request as application/ocsp-request (RFC 6960 Appendix A.1,
// as mod_md does; no "Expect" header) through the ACME transport, which brings the
// timeouts and the 1 MiB cap on the answer, then the checks of response.hpp.
//
// The answer must be HTTP 200 with Content-Type application/ocsp-response: an HTML error
// page or anything else is refused before parsing. Transport failures keep their acme_errc
// code (connection, timeout, body_too_large) and get the responder suffix.
// Not here: parallelism and pacing (the responder actor), GET requests, proxies (configured
// on the transport), deciding what to do with the result (persist.hpp).
#pragma once

#include <string>

#include "core/error.hpp"
#include "core/x509.hpp"
#include "http/http_client.hpp"
#include "ocsp/request.hpp"
#include "ocsp/response.hpp"

namespace mda::ocsp {

inline constexpr char k_request_type[] = "application/ocsp-request";
inline constexpr char k_response_type[] = "application/ocsp-response";

/// One question to one responder.
struct fetch_params {
  std::string responder_url; ///< the AIA OCSP URL (responder_url())
  cert_id id;                ///< cert_id::make(leaf, issuer)
  certificate issuer;        ///< for the signature check
  std::string nonce;         ///< "" = fresh random nonce (tests may fix one)
  sys_time now{};            ///< the injected clock, for the response checks
};

/// Builds the request, POSTs it and checks the answer.
expected<response> fetch(acme::http_transport& http, const fetch_params& params);

} // namespace mda::ocsp
