// The result label of an ACME exchange (see request_result.hpp).
#include "acme/request_result.hpp"

#include <array>

#include <strings.h>

namespace mda::acme {

namespace {

/// The problem types of RFC 8555 §6.7 (and RFC 9773's alreadyReplaced) that answer a request,
/// as labels. Left out: connection, dns, tls, caa, incorrectResponse (validation failures,
/// found in challenge objects, not as the answer to a request).
constexpr std::array<std::string_view, 20> k_problem_labels = {
  "accountDoesNotExist", "alreadyReplaced", "alreadyRevoked", "badCSR", "badNonce",
  "badPublicKey", "badRevocationReason", "badSignatureAlgorithm", "compound",
  "externalAccountRequired", "invalidContact", "malformed", "orderNotReady", "rateLimited",
  "rejectedIdentifier", "serverInternal", "unauthorized", "unsupportedContact",
  "unsupportedIdentifier", "userActionRequired"};

constexpr std::string_view k_other_problem = "other_problem";
constexpr std::array<std::string_view, 3> k_status_labels = {"http_3xx", "http_4xx", "http_5xx"};
constexpr std::string_view k_connection = "connection", k_timeout = "timeout", k_tls = "tls";

std::string_view problem_label(const problem& p) {
  const std::string name = p.short_type();
  for (std::string_view label : k_problem_labels)
    if (name.size() == label.size() && strncasecmp(name.data(), label.data(), label.size()) == 0) return label;
  return k_other_problem;
}

std::string_view transport_label(acme_errc code) {
  switch (code) {
    case acme_errc::timeout: return k_timeout;
    case acme_errc::tls: return k_tls;
    case acme_errc::body_too_large:
    case acme_errc::bad_response: return k_request_bad_response;
    default: return k_connection;
  }
}

} // namespace

std::string_view request_result_of(const problem& p) {
  if (!p.type.empty()) return problem_label(p);
  if (p.http_status >= 300 && p.http_status <= 599) return k_status_labels[p.http_status / 100 - 3];
  if (p.http_status != 0) return k_request_bad_response; // 1xx or beyond 599: not HTTP as we know it
  return transport_label(p.code);
}

const std::vector<std::string_view>& request_result_labels() {
  static const std::vector<std::string_view> all = [] {
    std::vector<std::string_view> v{k_request_ok};
    v.insert(v.end(), k_problem_labels.begin(), k_problem_labels.end());
    v.push_back(k_other_problem);
    v.insert(v.end(), k_status_labels.begin(), k_status_labels.end());
    for (std::string_view t : {k_connection, k_timeout, k_tls, k_request_bad_response}) v.push_back(t);
    return v;
  }();
  return all;
}

} // namespace mda::acme
