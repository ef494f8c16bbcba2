// mod_status's server-status page, the part mod_md adds (reference §3.3; mod_md 2.6.10
// mod_md_status.c md_domains_status_hook and md_ocsp_status_hook), as pure functions of a
// status snapshot and the time of the request.
//
// - "Managed Certificates": totals (md_status_take_stock) and one row per MD, sorted by name.
// - "Managed Staplings": totals and one row per OCSP-stapled certificate, sorted by MD name
//   ("other" for certificates of no MD) and certificate id.
// - Two forms: HTML (a table each; nothing when there are no rows) and the `?auto` text
//   (AP_STATUS_SHORT: "Label: value" lines; the totals always, rows when there are any).
// - Times are relative to `now`: "ManagedDomain[0]ActivityRenew: <seconds>" (truncated toward
//   zero), in HTML "in ~N days" for deltas under 4 days, else the date.
//
// Quirks of mod_md kept byte for byte, because scrapers and eyes are used to them:
// - `?auto` prints a missing ACME problem as "ActivityLastProblem: (null)" (a NULL through %s);
// - the staplings totals are labelled Renew for revoked and Errored for unknown responses;
// - both HTML tables end with a stray "</td></tr>" before "</tbody>";
// - the job summary's retry count reads a member that never exists, so it never shows;
// - "Error[...]: " is followed by the problem and then a second blank, "finished" by two
//   blanks ("  finished successfully."); the last detail, problem and check URL are not
//   HTML-escaped (only the CA/responder link and date titles are, as ap_escape_html2 does).
// Not here: the rest of mod_status's page, HTTP, MDServerStatus (the caller decides).
#pragma once

#include <string>

#include "core/timefmt.hpp"
#include "status/snapshot.hpp"

namespace mda {

/// HTML for the server-status page, or the `?auto` text form.
enum class status_form { html, short_text };

/// md_domains_status_hook: the "Managed Certificates" part.
std::string managed_certificates_status(const status_snapshot& s, sys_time now, status_form form);

/// md_ocsp_status_hook: the "Managed Staplings" part.
std::string managed_staplings_status(const status_snapshot& s, sys_time now, status_form form);

/// Both parts, in the order mod_status calls the two hooks.
std::string server_status(const status_snapshot& s, sys_time now, status_form form);

} // namespace mda
