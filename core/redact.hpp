// What status outputs show of configured values that may carry a credential (md-status,
// /.httpd/certificate-status, server-status, the status file and the status socket all take
// the MD from md_to_public_json, core/md.hpp, and the CA in use through redact_url).
//
// The rules, one per kind of value:
// - A URL (MDHttpProxy, MDCertificateAuthority, the CA in use): the userinfo, i.e. all of
//   the authority before its last '@', becomes "***"; the rest stays:
//   "http://user:secret@proxy:3128" -> "http://***@proxy:3128", "u:p@proxy:3128" ->
//   "***@proxy:3128". A URL without '@' in its authority is shown as it is.
// - A command line (MDChallengeDns01): the program (the first word, quotes and backslash
//   escapes as the line has them) stays, and one "***" stands for all the arguments:
//   "/usr/bin/dns-hook --key=s3cr3t zone" -> "/usr/bin/dns-hook ***". A line with no
//   argument is shown as it is, without surrounding blanks.
// - The EAB HMAC is always "***" (md_to_public_json, as mod_md does).
// Not here: which members are shown (md.cpp, status/snapshot.cpp); the files that keep the
// clear values (md.json, account.json: store/fs_store.hpp keeps those not world-readable).
#pragma once

#include <string>
#include <string_view>

namespace mda {

/// What stands for a hidden value.
inline constexpr std::string_view k_redacted = "***";

/// The URL with its userinfo replaced (see above).
std::string redact_url(std::string_view url);

/// The command line with its arguments replaced (see above).
std::string redact_command(std::string_view command_line);

} // namespace mda
