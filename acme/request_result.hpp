// What one HTTP exchange of the ACME client with its CA came to, as one word from a small
// fixed set: the "result" label of mdactor_acme_requests_total (docs/metrics.md), something
// Prometheus users can alert on. The set is closed on purpose: no detail text, no URL, no
// status code beyond its class, so the number of series stays bounded whatever a CA sends.
//
// - "ok": the CA answered 2xx with something usable;
// - the short name of the CA's problem type (RFC 8555 §6.7, RFC 9773 §7.4 alreadyReplaced) for
//   the types that can refuse a request: "badNonce", "rateLimited", "unauthorized",
//   "malformed", ...; any other type, and the types that only describe a failed validation
//   ("connection", "dns", "tls", "caa", "incorrectResponse"), are "other_problem", so that
//   "connection" and "tls" always mean our own transport;
// - an answer without a problem document by its status class: "http_3xx", "http_4xx",
//   "http_5xx";
// - no usable answer: "connection" (refused, unreachable, unresolvable, a proxy or URL that
//   cannot work), "timeout", "tls" (handshake, certificate verification), "bad_response"
//   (an answer too large or broken, a 2xx body that does not parse).
// Not here: counting (the client's observer, acme/client.hpp; the engine's counter set,
// status/acme_requests.hpp), deciding what is retryable (acme/problem.hpp classify).
#pragma once

#include <string_view>
#include <vector>

#include "acme/problem.hpp"

namespace mda::acme {

/// The result of a 2xx answer the client could use.
inline constexpr std::string_view k_request_ok = "ok";
/// The result of an answer or a transport failure the client could not use.
inline constexpr std::string_view k_request_bad_response = "bad_response";

/// The result label of a failed exchange: the problem type's short name when it is one of the
/// request problems, else "other_problem"; without a type, by HTTP status class, else by
/// the transport's failure (p.code).
std::string_view request_result_of(const problem& p);

/// Every label request_result_of and the client can give, "ok" first (for docs and tests).
const std::vector<std::string_view>& request_result_labels();

} // namespace mda::acme
