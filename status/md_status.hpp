// md-status and /.httpd/certificate-status from a status snapshot (reference §3.1, §3.2;
// mod_md 2.6.10 md_status.c status_get_md_json, mod_md_status.c md_status_handler and
// md_http_cert_status), as pure functions.
//
// - The per-MD object: md_to_public_json, then "cert" (per place: issuer-name, issuer-uri,
//   valid, serial, sha256-fingerprint, ari-cert-id, and "ocsp" {status, valid, renewal} when the
//   MD staples; plus "valid", the intersection), "renew-at", "stapling", "watched", "renew",
//   "renewal" (the staging job.json with "cert" = the staged certificates), "error".
// - All MDs: {"version", "managed-domains": [...]} sorted by name, job logs left out. With no
//   MD at all there is no "managed-domains" key, as with mod_md.
// - The all-MDs text can also be put together from one rendered fragment per MD
//   (md_status_fragment, md_status_all_frame, md_status_join), so that a caller keeping the
//   fragments re-renders only the MDs that changed.
// - render_json gives the text mod_md sends (jansson JSON_INDENT(2): `"key": value`, no
//   trailing newline) and never throws, even for bytes that are not UTF-8.
// Kept quirks (users' tools see them): the validity intersection starts from the first
// certificate PLACE, so a missing first certificate drops "valid"; certificate-status names
// its entries by key spec even for static files (whose certs md-status keys "0", "1"), so
// those show "rsa": {}.
// Not here: HTTP (method checks, Content-Type), reading the snapshot (snapshot.hpp),
// server-status (server_status.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/duration.hpp"
#include "status/snapshot.hpp"

namespace mda {

/// The time all places' certificates are valid together, as mod_md computes it: nullopt when
/// no certificate is there, the periods do not overlap, or the first place is empty.
std::optional<time_period> certs_valid(const std::vector<cert_slot>& slots);

/// True when md-status shows "renew": true (and server-status counts the MD as renewing): a
/// renewal is due, or a staging job exists.
bool renew_due(const md_snapshot& m);

/// The md-status object of one MD; job logs only `with_logs`.
nlohmann::ordered_json md_status_json(const status_snapshot& s, const md_snapshot& m, bool with_logs);

/// The md-status answer for all MDs.
nlohmann::ordered_json md_status_all_json(const status_snapshot& s);

/// One MD's object as it stands in the all-MDs text: render_json(md_status_json(s, m, false))
/// indented for its place in "managed-domains", without separator. Of `s` only the stapling
/// entries (and other_ocsp_renewal) are read, so a caller may pass just the MD's staplings.
std::string md_status_fragment(const status_snapshot& s, const md_snapshot& m);

/// The text of the all-MDs answer around its fragments: head, the fragments (in name order)
/// separated by `separator`, tail. `separator` and `tail` view static text.
struct md_status_frame {
  std::string head;
  std::string_view separator;
  std::string_view tail;
};
md_status_frame md_status_all_frame(std::string_view version, bool any_md);

/// The all-MDs answer from the fragments of every MD in name order: byte for byte
/// render_json(md_status_all_json(s)) when the fragments are md_status_fragment(s, m) and
/// `version` is s.version.
std::string md_status_join(std::string_view version, const std::vector<std::string_view>& fragments);

/// The /.httpd/certificate-status answer for the MD of the request's host.
nlohmann::ordered_json certificate_status_json(const status_snapshot& s, const md_snapshot& m);

/// The MD whose name is exactly `name` (md_get_by_name), or nullptr.
const md_snapshot* find_md_by_name(const status_snapshot& s, std::string_view name);
/// Whether `m` covers `domain` (mod_md's md_contains): one of its domains equal to it,
/// ignoring ASCII case, or a wildcard "*.example.org" matching it one label deep
/// ("www.example.org", not "example.org" nor "a.b.example.org").
bool md_has_domain(const md_snapshot& m, std::string_view domain);
/// The MD that lists `domain` among its domains (md_has_domain; md_get_by_domain), or nullptr.
const md_snapshot* find_md_by_domain(const status_snapshot& s, std::string_view domain);

/// The md-status handler's choice: the last segment of `path_info` ("/b.example.test") as an
/// MD name, then as a domain. nullptr (answer with all MDs) when path_info is empty, "/", or
/// nothing matches.
const md_snapshot* find_md_for_path(const status_snapshot& s, std::string_view path_info);

/// The answer of the md-status handler: one MD with logs, or all MDs.
std::string md_status_text(const status_snapshot& s, std::string_view path_info);

/// JSON text as mod_md writes it (2-space indent, no trailing newline); invalid UTF-8 bytes
/// become U+FFFD instead of an exception.
std::string render_json(const nlohmann::ordered_json& j);

} // namespace mda
