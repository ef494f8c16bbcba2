// The md-status page for a browser (issue 19, item 3): md-status answers HTML when the
// request's Accept asks for text/html (wants_html), JSON otherwise, as mod_md.
//
// - One section per MD in name order: its domains, its renewal state (ok, due, renewing,
//   error: md_renewal_state), when renewal is planned, the last error of its renewal job, each
//   certificate with its validity and days left as a bar, the OCSP state of each stapled
//   certificate, and the MD's renewal and OCSP jobs drawn as md-replay draws them (one SVG
//   lane per job, status/timeline_svg.hpp).
// - Self-contained: inline CSS only (no script, no external asset, no font), readable on a
//   phone (viewport meta, one column that wraps, the pictures scale to the width).
// - Every text from the snapshot (MD names, error texts, issuers) is escaped (html_escape);
//   nothing of it ever becomes markup.
// Not here: HTTP (httpd/status_handlers.cpp), the JSON (md_status.hpp), reading the snapshot.
#pragma once

#include <string>
#include <string_view>

#include "status/snapshot.hpp"

namespace mda {

/// True when `accept` names text/html and does not name application/json before it: a
/// browser's Accept; curl's "*/*", none, or anything else keeps the JSON.
bool wants_html(std::string_view accept);

/// &, <, >, " and ' as character references (md-replay's xml_escape: the same rules serve
/// HTML text and attribute values); control characters other than tab, line feed and
/// carriage return become blanks.
std::string html_escape(std::string_view s);

/// Whole days from `now` to `until` (rounded down; negative once passed).
long long days_left(sys_time until, sys_time now);

/// The whole page for all MDs of `s`, as of `now`.
std::string md_status_html(const status_snapshot& s, sys_time now);

} // namespace mda
