// ACME Renewal Information (RFC 9773): the certificate ID, the renewalInfo answer, and when
// to renew and to ask again.
//
// - cert ID (§4.1): base64url(AKI keyIdentifier) "." base64url(DER serial contents), the
//   serial keeping its leading 0x00 when the high bit is set (mod_md drops it, reference §10.8).
// - renewalInfo (§4.2): suggestedWindow {start, end} as RFC 3339 with offsets applied,
//   explanationURL; a window whose end is not after its start is invalid.
// - Renewal time (§4.2): a uniformly random point of the window from an injected random
//   source, never before start nor after end; a point already past means "renew now".
// - Next check (§4.3): Retry-After clamped to [1 min, 1 day]; 6 h when it is missing or bad.
//
// Not here: fetching (an unauthenticated GET by the caller), reading AKI and serial out of a
// certificate (core/x509), the decision to renew for other reasons.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/timefmt.hpp"
#include "http/errors.hpp"
#include "http/http_client.hpp"

namespace mda::acme {

/// Uniformly distributed 64-bit values (std::mt19937_64{} works; tests return fixed values).
using random_source = std::function<std::uint64_t()>;

/// How long to wait for the next renewalInfo fetch without a usable Retry-After (§4.3.3).
inline constexpr std::chrono::hours ari_default_interval{6};
inline constexpr std::chrono::minutes ari_min_interval{1};
inline constexpr std::chrono::hours ari_max_interval{24};

struct renewal_info {
  sys_time window_start{};
  sys_time window_end{};
  std::string explanation_url; ///< "" when absent
  sys_time next_check{};       ///< when to fetch again (§4.3)
};

/// The ID of a certificate for renewalInfo and "replaces": `aki_key_id` is the raw
/// keyIdentifier, `serial` the big-endian magnitude of the serial (e.g. BN_bn2bin).
std::string ari_cert_id(std::string_view aki_key_id, std::string_view serial);

/// "<renewalInfo>/<cert id>" (one slash whatever the directory URL ends with).
std::string renewal_info_url(const std::string& renewal_info_base, const std::string& cert_id);

/// Parses a renewalInfo body fetched from `url`; `retry_after` is the header value or "".
expected<renewal_info> parse_renewal_info(const std::string& url, std::string_view body,
                                          std::string_view retry_after, sys_time now);

/// The same from a response; a non-2xx answer is the error of its problem.
expected<renewal_info> renewal_info_from_response(const http_response& res, sys_time now);

/// When to check again from a Retry-After value (clamped; default when unusable).
sys_time ari_next_check(std::string_view retry_after, sys_time now);

struct renewal_time {
  sys_time at;              ///< the chosen time (== now when immediate)
  bool immediate = false;   ///< the chosen point has passed: renew now
};

/// Picks the renewal time inside the window (§4.2).
renewal_time choose_renewal_time(const renewal_info& info, sys_time now,
                                 const random_source& random);

} // namespace mda::acme
