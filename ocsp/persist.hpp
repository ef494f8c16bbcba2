// OCSP responses in the store as mod_md keeps them (reference §2.5, §7), and the
// decisions around them:
//
// - ocsp/<md name | "other">/ocsp-<sha1hex of the cert DER>.json:
//   {"response": base64url(DER OCSPResponse), "status": "good"|"revoked",
//    "valid": {"from": RFC 822 thisUpdate, "until": RFC 822 nextUpdate}}
//   (key order as written; a missing nextUpdate is stored as thisUpdate + 12 h, mod_md);
// - ocsp/<md name | "other">/job.json: the OCSP job, format of core/job.hpp;
// - refresh time: the start of MDStaplingRenewWindow taken of the response's validity
//   (a percentage of its lifetime, default 33%), md_timeperiod_slice_before_end;
// - startup cleanup: "ocsp*.json" files last modified before now - MDStaplingKeepResponse;
// - a failed fetch writes nothing: the previous response stays in the store and is still
//   served while it has not expired (beyond mod_md, which serves it even when expired).
// Not here: fetching (fetch.hpp), retry delays (core/backoff.hpp with job.errors), events
// and job log entries (the responder actor), the handshake cache (httpd glue).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/job.hpp"
#include "core/timefmt.hpp"
#include "ocsp/response.hpp"
#include "store/store.hpp"

namespace mda::ocsp {

/// The store name for certificates outside any MD (MD_OTHER).
inline constexpr char k_other_name[] = "other";
/// mod_md: a response without nextUpdate counts as valid for 12 hours from thisUpdate.
inline constexpr std::chrono::hours k_default_validity{12};

/// The content of an ocsp-<key>.json file.
struct stored_response {
  cert_status status = cert_status::unknown;
  std::string der;   ///< the OCSPResponse to staple
  time_period valid; ///< thisUpdate .. nextUpdate (or + 12 h)
  bool operator==(const stored_response& o) const;
};

/// What gets stored of a checked response. "unknown" is an error (ocsp_errc::cert_unknown,
/// "the OCSP responder does not know the certificate (OCSP responder '<url>')"), as mod_md
/// never stores or staples it.
expected<stored_response> stored_from(const response& r, const std::string& responder_url);

/// The file as mod_md writes it; an empty response gives {} (ostat_to_json).
nlohmann::ordered_json to_json(const stored_response& s);
/// Reads the file. Absent or empty "response": json_errc::missing; bad base64url or dates:
/// json_errc::bad_value; a status other than good/revoked reads as unknown (mod_md).
expected<stored_response> stored_response_from_json(const nlohmann::ordered_json& j,
                                                    const std::string& source);

/// The stored response of certificate `key` (cert_key()) under `md_name` ("other" for
/// non-MD certificates); std::nullopt when there is no file.
expected<std::optional<stored_response>> load_stored(const store& st, const std::string& md_name,
                                                     const std::string& key);
status save_stored(store& st, const std::string& md_name, const std::string& key,
                   const stored_response& s);

/// ocsp/<md_name>/job.json; an absent file gives an empty job named md_name.
expected<job> load_ocsp_job(const store& st, const std::string& md_name);
status save_ocsp_job(store& st, const std::string& md_name, const job& j);

/// When to ask again: the start of the renew window taken of `valid`.
sys_time refresh_at(const time_period& valid, const timeslice& renew_window);
/// now has reached refresh_at().
bool needs_refresh(const time_period& valid, const timeslice& renew_window, sys_time now);
/// A response is stapled only before its "until".
bool is_servable(const stored_response& s, sys_time now);

/// Startup cleanup (MDStaplingKeepResponse, reference §7): removes every "ocsp*.json" in all
/// names of group ocsp last modified before now - keep.len.
status remove_old_responses(store& st, const timeslice& keep, sys_time now);

/// What one fetch attempt leaves behind.
struct refresh_outcome {
  std::optional<stored_response> current; ///< what to staple now; nullopt: nothing
  bool saved = false;                     ///< a new response was written to the store
  std::optional<error> failure;           ///< why the attempt failed (fetch, unknown, store)
};

/// Applies a fetch result: a good or revoked response is saved and becomes current; any
/// failure leaves the store alone and keeps `previous` as current while is_servable(). A
/// save failure still makes the new response current (it is valid) and reports the error.
refresh_outcome apply_fetch(store& st, const std::string& md_name, const std::string& key,
                            const expected<response>& fetched, const std::string& responder_url,
                            const std::optional<stored_response>& previous, sys_time now);

} // namespace mda::ocsp
