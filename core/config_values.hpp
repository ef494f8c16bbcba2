// The values of mod_md's directives (reference §1.3; mod_md src/mod_md_config.c): one parse
// function per value syntax, each returning what the directive stores or an error whose
// message is, character for character, the text mod_md's handler returns (httpd prints it
// under "Syntax error on line N of <file>:" without adding anything).
//
// Checked against the deployed module (Debian apache2 2.4.71, mod_md 2.6.10): keywords and
// curve names compare ASCII case-insensitively and exactly (apr_cstr_casecmp; no white space
// is skipped), numbers are read like strtoll/atoi (leading blanks, a sign, trailing junk
// ignored where mod_md ignores it), C's (int) truncation included.
//
// Not here: where a directive may appear (server / vhost / <MDomain>), merging of settings,
// the directive table and help texts (httpd/ glue), durations and timeslices (duration.hpp,
// included), checking that a curve exists (done when the key is generated, as mod_md does).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/key_spec.hpp"
#include "core/md.hpp"

namespace mda {

/// What is wrong with a configuration value.
enum class config_errc {
  ok = 0,
  bad_format = 1,       ///< does not parse: duration, timeslice, number, URL, port map syntax
  out_of_range = 2,     ///< parses, but the directive does not allow it (100%, RSA < 2048)
  unknown_value = 3,    ///< not one of the directive's keywords (on/off, modes, CA names)
  conflict = 4,         ///< arguments that exclude each other (two RSA keys, Default + more)
  missing_argument = 5, ///< a required argument is absent (MDPrivateKeys without any)
};

const std::error_category& config_category() noexcept;
std::error_code make_error_code(config_errc e) noexcept;

// --- keywords ------------------------------------------------------------------------------

/// on|off: "unknown '<v>', supported parameter values are 'on' and 'off'".
expected<bool> parse_on_off(std::string_view v);

/// MDRenewMode / MDDriveMode: auto|automatic -> automatic, always, manual|stick -> manual;
/// else "unknown MDDriveMode <v>" (also for MDRenewMode: mod_md's text).
expected<md_renew_mode> parse_renew_mode(std::string_view v);

/// MDRequireHttps: off|temporary|permanent.
expected<md_require_https> parse_require_https(std::string_view v);

/// MDMatchNames (MD_MATCH_ALL / MD_MATCH_SERVERNAMES).
enum class match_mode { all = 0, servernames = 1 };
expected<match_mode> parse_match_names(std::string_view v);

/// MDStoreLocks: on, off or a lock wait duration (default unit s). A duration enables the
/// lock unless it is 0; `wait` is set only by a non-zero duration (else the 5 s default).
struct store_locks {
  bool enabled = false;
  std::optional<milliseconds> wait;
};
expected<store_locks> parse_store_locks(std::string_view v);

/// MDChallengeDns01Version: exactly "1" or "2".
expected<int> parse_dns01_version(std::string_view v);

// --- numbers and durations ---------------------------------------------------------------

/// MDRetryDelay (default unit s), must be > 0.
expected<milliseconds> parse_retry_delay(std::string_view v);
/// MDRetryFailover: atoi(v) > 0 ("3x" is 3, as in mod_md).
expected<int> parse_retry_failover(std::string_view v);
/// MDCheckInterval (default unit s), at least one second.
expected<milliseconds> parse_check_interval(std::string_view v);
/// MDInitialDelay (default unit s), not negative.
expected<milliseconds> parse_initial_delay(std::string_view v);
/// MDActivationDelay (default unit d), any sign (mod_md keeps it as format_duration text).
expected<milliseconds> parse_activation_delay(std::string_view v);

// --- MDPrivateKeys -------------------------------------------------------------------------

/// The arguments of MDPrivateKeys, in order: "Default" (alone), "RSA" [bits], "RSA<bits>",
/// anything else is a curve name. An argument after "RSA" that starts with a digit is its
/// bit count ("RSA 2048 3072" is RSA 2048 plus a curve "3072", as in mod_md).
expected<std::vector<key_spec>> parse_private_keys(const std::vector<std::string>& args);

// --- MDPortMap -----------------------------------------------------------------------------

/// The local ports on which the public ports 80 and 443 arrive; 0 = not reachable.
struct port_map {
  int http = 80;
  int https = 443;
  bool operator==(const port_map& o) const { return http == o.http && https == o.https; }
};

/// One "http:N" / "https:N" / "80:N" / "443:N" (N may be "-") applied to `current`.
expected<port_map> parse_port_map(std::string_view map, port_map current = {});
/// MDPortMap's one or two arguments, applied in order.
expected<port_map> parse_port_maps(const std::vector<std::string>& maps, port_map current = {});

// --- CAs, URLs, contacts ----------------------------------------------------------------------

struct known_ca {
  std::string_view name;
  std::string_view url;
};
/// LetsEncrypt, LetsEncrypt-Test, Buypass, Buypass-Test, in mod_md's order.
const std::array<known_ca, 4>& known_cas();

/// md_get_ca_url_from_name: a known name (any case) -> its URL, an absolute URI as is, else
/// "The CA name '<v>' is not known and it is not a URL either (<why>). Known CA names are:
/// LetsEncrypt LetsEncrypt-Test Buypass Buypass-Test."
expected<std::string> ca_url_from_name(std::string_view name);
/// MDCertificateAuthority: every argument through ca_url_from_name; the first failure wins.
expected<std::vector<std::string>> parse_ca_urls(const std::vector<std::string>& args);
/// md_get_ca_name_from_url: the known name of a URL, else its host name, else the URL.
std::string ca_name_from_url(std::string_view url);

/// md_util_abs_uri_check: the reasons mod_md gives ("missing uri scheme", "invalid port",
/// "whitespace in uri", "not an uri", "missing @", ...), as the error message.
status check_abs_uri(std::string_view uri);
/// md_util_abs_http_uri_check: as above, plus "uri scheme must be http or https".
status check_abs_http_uri(std::string_view uri);
/// MDHttpProxy: the URL when check_abs_http_uri passes; its reason as the message.
expected<std::string> parse_http_proxy(std::string_view v);

/// md_util_schemify: `s` unchanged when it starts with "<alnum>*:", else "<scheme>:<s>".
std::string schemify(std::string_view s, std::string_view def_scheme);
/// MDContactEmail / ServerAdmin as an ACME contact: schemify(v, "mailto").
inline std::string contact_uri(std::string_view v) { return schemify(v, "mailto"); }

} // namespace mda

namespace std {
template <>
struct is_error_code_enum<mda::config_errc> : true_type {};
} // namespace std
