// ACME problem documents (RFC 8555 §6.7 on RFC 7807) and the one function that decides
// what a failure means for the caller: retry now, retry later, wait for the rate limit, or
// give up until the configuration changes (mod_md's "input related", reference §5.4).
//
// - A non-2xx answer becomes a `problem`: type URN, detail, subproblems with identifiers,
//   the HTTP status, Retry-After (RFC 9110 §10.2.3), and mod_md's status mapping as an
//   acme_errc (reference §6). Without a problem document one is synthesized from the status.
// - A transport failure (no answer at all) becomes a problem without type, so that
//   `classify` sees every failure of an ACME request.
// - job.json's "last" object carries "problem", "detail" and "subproblems" (reference §2.4).
//
// Not here: backoff arithmetic (the job's delay function), logging, nonce handling.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/job.hpp"
#include "core/timefmt.hpp"
#include "http/errors.hpp"
#include "http/http_client.hpp"

namespace mda::acme {

/// The namespace of RFC 8555 error types.
inline constexpr std::string_view acme_error_ns = "urn:ietf:params:acme:error:";

/// An ACME identifier (RFC 8555 §9.7.7): type "dns" or "ip", and its value.
struct identifier {
  std::string type;
  std::string value;
  bool operator==(const identifier& o) const { return type == o.type && value == o.value; }
};

struct subproblem {
  std::string type;
  std::string detail;
  std::optional<identifier> ident;
};

struct problem {
  std::string type;   ///< URN as sent; "" when the server sent none or nothing was received
  std::string detail; ///< human-readable text (for a transport failure: its message)
  int status = 0;      ///< the document's own "status" member; 0 when absent
  int http_status = 0; ///< status of the HTTP answer; 0 when there was no answer
  std::vector<subproblem> subproblems;
  std::optional<sys_time> retry_after; ///< Retry-After as an absolute time
  std::string url;                     ///< the request URL
  acme_errc code = acme_errc::server;  ///< what kind of failure (mod_md's mapping)

  /// "badNonce" for "urn:ietf:params:acme:error:badNonce" (also "urn:acme:error:..."); "" else.
  std::string short_type() const;
};

/// Retry-After: delta-seconds or an HTTP-date (IMF-fixdate, RFC 850, asctime; RFC 9110
/// §5.6.7), as an absolute time. Unparsable -> nullopt. Deltas above a year, and dates more
/// than a year ahead, count as a year.
std::optional<sys_time> parse_retry_after(std::string_view value, sys_time now);

/// mod_md's mapping of a problem type (and, without one, the HTTP status) to a code.
acme_errc problem_code(std::string_view type, int http_status);

/// The problem of a non-2xx answer: application/problem+json parsed (application/json with a
/// "type" is accepted too); otherwise synthesized from the status. Never fails.
problem problem_from_response(const http_response& res, sys_time now);

/// A failure without an answer (connection refused, timeout, TLS, oversize body).
problem problem_from_error(const error& err, std::string url);

/// The problem as an mda::error: its code and a message naming type, detail, status and URL,
/// e.g. "acme problem urn:ietf:params:acme:error:malformed: bad JWS (HTTP 400 from <url>)".
error to_error(const problem& p);

/// The APR status mod_md gives a failed request's result (job.json "last": "status" and its
/// "status-description"): for a problem document mod_md's table of ACME error types
/// (malformed -> EINVAL, unauthorized -> EACCES, rateLimited -> APR_BADARG, ...; others
/// APR_EGENERAL); an answer without one by its HTTP status (400 EINVAL, 401/403 EACCES, 404
/// ENOENT); no answer at all as curl's failure maps there: no connection ->
/// ECONNREFUSED ("Connection refused"), a timeout -> APR_TIMEUP, TLS -> ECONNABORTED.
int result_status(const problem& p);

/// True for the types of reference §5.4 (retrying cannot help until the input changes).
bool is_input_related(std::string_view type);

struct classification {
  bool retryable = false;     ///< the same request may succeed later unchanged
  bool immediate = false;     ///< retry at once (badNonce: with the nonce of that answer)
  bool input_related = false; ///< reference §5.4: wait the maximum delay
  bool rate_limited = false;  ///< rateLimited or 429
  std::optional<sys_time> retry_after; ///< not before this time, when the server said so
};

/// The one place that decides what a failure means.
classification classify(const problem& p);

/// A failed step of a renewal run with the CA's problem, if any: classified here once and
/// carried unchanged from there to job.json's "last" and md-status. `detail` is our text (the
/// log line, the report); "last" has the status result_status gives, the problem type and the
/// CA's own detail (ours when it sent none). Without a problem: plain_failure(detail).
run_failure failure_of(std::string detail, const std::optional<problem>& p);

/// {"problem": type, "detail": ..., "subproblems": [...]}; empty fields are left out.
nlohmann::ordered_json problem_to_json(const problem& p);

/// Reads the fields above from job.json's "last" (other members are ignored).
expected<problem> problem_from_json(const nlohmann::json& last);

} // namespace mda::acme
