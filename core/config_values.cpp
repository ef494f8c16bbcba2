// Directive values (reference §1.3). The messages are mod_md's own texts, verified against
// the deployed module with `apache2 -t`; the URI checks follow md_util.c's uri_check on top of
// APR 1.7's apr_uri_parse, reduced to what those checks look at.
#include "core/config_values.hpp"

#include <climits>

namespace mda {

namespace {

class config_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "mdactor.config"; }
  std::string message(int ev) const override {
    switch (static_cast<config_errc>(ev)) {
      case config_errc::ok: return "ok";
      case config_errc::bad_format: return "value has a bad format";
      case config_errc::out_of_range: return "value out of range";
      case config_errc::unknown_value: return "unknown value";
      case config_errc::conflict: return "conflicting arguments";
      case config_errc::missing_argument: return "missing argument";
    }
    return "unknown configuration error";
  }
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
char at(std::string_view s, std::size_t i) { return i < s.size() ? s[i] : '\0'; }

/// apr_cstr_casecmp(a, b) == 0: ASCII case-insensitive, nothing skipped.
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto la = is_alpha(a[i]) ? (a[i] | 0x20) : a[i];
    auto lb = is_alpha(b[i]) ? (b[i] | 0x20) : b[i];
    if (la != lb) return false;
  }
  return true;
}

/// atoi / (int)apr_atoi64: the leading number, 0 if none, C's (int) truncation.
int c_atoi(std::string_view v) { return detail::truncate_to_int(detail::scan_int64(v).value); }

error fail(config_errc code, std::string msg) { return {code, std::move(msg)}; }

} // namespace

const std::error_category& config_category() noexcept {
  static const config_category_impl instance;
  return instance;
}

std::error_code make_error_code(config_errc e) noexcept {
  return {static_cast<int>(e), config_category()};
}

// --- keywords ------------------------------------------------------------------------------

expected<bool> parse_on_off(std::string_view v) {
  if (iequals(v, "off")) return false;
  if (iequals(v, "on")) return true;
  return fail(config_errc::unknown_value, "unknown '" + std::string(v) +
                                              "', supported parameter values are 'on' and 'off'");
}

expected<md_renew_mode> parse_renew_mode(std::string_view v) {
  if (iequals(v, "auto") || iequals(v, "automatic")) return md_renew_mode::automatic;
  if (iequals(v, "always")) return md_renew_mode::always;
  if (iequals(v, "manual") || iequals(v, "stick")) return md_renew_mode::manual;
  return fail(config_errc::unknown_value, "unknown MDDriveMode " + std::string(v));
}

expected<md_require_https> parse_require_https(std::string_view v) {
  if (iequals(v, "off")) return md_require_https::off;
  if (iequals(v, "temporary")) return md_require_https::temporary;
  if (iequals(v, "permanent")) return md_require_https::permanent;
  return fail(config_errc::unknown_value,
              "unknown '" + std::string(v) +
                  "', supported parameter values are 'temporary' and 'permanent'");
}

expected<match_mode> parse_match_names(std::string_view v) {
  if (iequals(v, "all")) return match_mode::all;
  if (iequals(v, "servernames")) return match_mode::servernames;
  return fail(config_errc::unknown_value, "invalid argument, must be a 'all' or 'servernames'");
}

expected<store_locks> parse_store_locks(std::string_view v) {
  if (iequals(v, "off")) return store_locks{false, std::nullopt};
  if (iequals(v, "on")) return store_locks{true, std::nullopt};
  auto wait = parse_duration(v, "s");
  if (!wait) {
    return fail(config_errc::unknown_value, "neither 'on', 'off' or a duration specified");
  }
  if (wait->count() == 0) return store_locks{false, std::nullopt};
  return store_locks{true, *wait};
}

expected<int> parse_dns01_version(std::string_view v) {
  if (v == "1") return 1;
  if (v == "2") return 2;
  return fail(config_errc::unknown_value, "Only versions `1` and `2` are supported");
}

// --- numbers and durations ---------------------------------------------------------------

expected<milliseconds> parse_retry_delay(std::string_view v) {
  auto d = parse_duration(v, "s");
  if (d && d->count() <= 0) {
    return fail(config_errc::out_of_range, "minimum delay must be greater than 0");
  }
  return d;
}

expected<int> parse_retry_failover(std::string_view v) {
  const int n = c_atoi(v);
  if (n <= 0) return fail(config_errc::out_of_range, "invalid argument, must be a number > 0");
  return n;
}

expected<milliseconds> parse_check_interval(std::string_view v) {
  auto d = parse_duration(v, "s");
  if (d && *d < std::chrono::seconds(1)) {
    return fail(config_errc::out_of_range, "check interval cannot be less than one second");
  }
  return d;
}

expected<milliseconds> parse_initial_delay(std::string_view v) {
  auto d = parse_duration(v, "s");
  if (d && d->count() < 0) {
    return fail(config_errc::out_of_range, "initial delay must not be negative");
  }
  return d;
}

expected<milliseconds> parse_activation_delay(std::string_view v) { return parse_duration(v, "d"); }

// --- MDPrivateKeys -------------------------------------------------------------------------

namespace {

/// The bit count checks of md_config_set_pkeys; "" when fine.
std::string rsa_bits_problem(int bits) {
  if (bits < static_cast<int>(k_rsa_bits_min)) {
    return "must be " + std::to_string(k_rsa_bits_min) +
           " or higher in order to be considered safe.";
  }
  if (bits >= INT_MAX) return "is too large for an RSA key length.";
  return {};
}

bool has_rsa(const std::vector<key_spec>& specs) {
  for (auto& s : specs) if (s.type == key_spec::kind::rsa) return true;
  return false;
}

bool has_curve(const std::vector<key_spec>& specs, std::string_view curve) {
  for (auto& s : specs) if (s.type == key_spec::kind::ec && iequals(s.curve, curve)) return true;
  return false;
}

} // namespace

expected<std::vector<key_spec>> parse_private_keys(const std::vector<std::string>& args) {
  if (args.empty()) {
    return fail(config_errc::missing_argument, "needs to specify the private key type");
  }
  std::vector<key_spec> specs;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (iequals(arg, "Default")) {
      if (args.size() > 1) return fail(config_errc::conflict, "'Default' allows no other parameter");
      specs.push_back(key_spec::default_spec());
      continue;
    }
    const bool rsa_joined = arg.size() > 3 && iequals(arg.substr(0, 3), "RSA") && is_digit(arg[3]);
    if (rsa_joined || iequals(arg, "RSA")) {
      int bits = static_cast<int>(k_rsa_bits_default);
      if (rsa_joined) {
        bits = c_atoi(std::string_view(arg).substr(3));
      } else if (i + 1 < args.size() && is_digit(at(args[i + 1], 0))) {
        bits = c_atoi(args[++i]);
      }
      if (auto problem = rsa_bits_problem(bits); !problem.empty()) {
        return fail(config_errc::out_of_range, problem);
      }
      if (has_rsa(specs)) return fail(config_errc::conflict, "two keys of type 'RSA' are not possible.");
      specs.push_back(key_spec::rsa(static_cast<unsigned>(bits)));
      continue;
    }
    if (has_curve(specs, arg)) {
      return fail(config_errc::conflict, "two keys of type '" + arg + "' are not possible.");
    }
    specs.push_back(key_spec::ec(arg));
  }
  return specs;
}

// --- MDPortMap -----------------------------------------------------------------------------

expected<port_map> parse_port_map(std::string_view map, port_map current) {
  int net_port = 0;
  std::size_t pos = 0; // index of the ':' after the public port
  if (map.substr(0, 5) == "http:") {
    net_port = 80;
    pos = 4;
  } else if (map.substr(0, 6) == "https:") {
    net_port = 443;
    pos = 5;
  } else {
    auto scan = detail::scan_int64(map);
    if (scan.overflow) return fail(config_errc::bad_format, "unable to parse first port number");
    net_port = detail::truncate_to_int(scan.value);
    pos = scan.end;
  }
  if (at(map, pos) != ':') return fail(config_errc::bad_format, "no ':' after first port number");
  ++pos;
  int local_port = 0; // "-": not reachable
  if (at(map, pos) != '-') {
    auto scan = detail::scan_int64(map.substr(pos));
    if (scan.overflow) return fail(config_errc::bad_format, "unable to parse second port number");
    local_port = detail::truncate_to_int(scan.value);
    if (local_port <= 0 || local_port > 65535) {
      return fail(config_errc::out_of_range, "invalid number for port map, must be in ]0,65535]");
    }
  }
  switch (net_port) {
    case 80: current.http = local_port; break;
    case 443: current.https = local_port; break;
    default: return fail(config_errc::out_of_range, "mapped port number must be 80 or 443");
  }
  return current;
}

expected<port_map> parse_port_maps(const std::vector<std::string>& maps, port_map current) {
  for (auto& m : maps) {
    auto next = parse_port_map(m, current);
    if (!next) return next;
    current = *next;
  }
  return current;
}

// --- URIs ------------------------------------------------------------------------------------

namespace {

/// What apr_uri_parse yields that uri_check looks at.
struct uri_parts {
  std::optional<std::string> scheme, hostname, port_str;
  unsigned port = 0; ///< apr_port_t: 16 bits, so 65616 reads as 80
};

/// host[:port] after "//" (and after any "user@"); false where APR reports an error.
bool parse_authority(std::string_view rest, uri_parts& u) {
  std::string_view hostinfo = rest.substr(0, rest.find_first_of("/?#"));
  auto at_sign = hostinfo.rfind('@');
  std::string_view host = at_sign == std::string_view::npos ? hostinfo : hostinfo.substr(at_sign + 1);
  std::size_t colon = std::string_view::npos;
  if (at(host, 0) == '[') { // IPv6 literal: the port colon must follow the ']'
    auto rb = host.find(']');
    if (rb == std::string_view::npos) return false;
    if (at(host, rb + 1) == ':') colon = rb + 1;
    u.hostname = std::string(colon == std::string_view::npos ? host.substr(1, host.size() - 2)
                                                             : host.substr(1, colon - 2));
  } else {
    colon = host.find(':');
    u.hostname = std::string(host.substr(0, colon));
  }
  if (colon == std::string_view::npos) return true;
  std::string_view port = host.substr(colon + 1);
  u.port_str = std::string(port);
  if (port.empty()) return true;
  auto scan = detail::scan_int64(port);
  if (scan.end != port.size()) return false; // junk after the number
  u.port = static_cast<std::uint16_t>(static_cast<std::uint64_t>(scan.value));
  return true;
}

bool parse_uri(std::string_view uri, uri_parts& u) {
  if (at(uri, 0) == '/') {
    if (at(uri, 1) == '/' && at(uri, 2) != '/') return parse_authority(uri.substr(2), u);
    return true; // an absolute path
  }
  std::size_t j = 0;
  if (is_alpha(at(uri, 0))) {
    j = 1;
    while (j < uri.size() && (is_alnum(uri[j]) || uri[j] == '+' || uri[j] == '-' || uri[j] == '.')) ++j;
  }
  if (j > 0 && at(uri, j) == ':') {
    u.scheme = std::string(uri.substr(0, j));
    if (at(uri, j + 1) == '/' && at(uri, j + 2) == '/') return parse_authority(uri.substr(j + 3), u);
    return true;
  }
  // A relative reference may not have a ':' in its first segment (RFC 3986 §4.2).
  auto colon = uri.find(':');
  return colon == std::string_view::npos || colon > uri.find('/');
}

/// md_dns_is_name without the FQDN requirement: letters, digits, '-', '.', no "..".
bool dns_is_name(std::string_view h) {
  char last = 0;
  for (char c : h) {
    if (c == '.' && last == '.') return false;
    if (c != '.' && c != '-' && !is_alnum(c)) return false;
    last = c;
  }
  return true;
}

std::string mailto_problem(std::string_view uri, std::size_t scheme_len) {
  auto s = uri.find('@');
  if (s == std::string_view::npos) return "missing @";
  if (uri.find('@', s + 1) != std::string_view::npos) return "duplicate @";
  if (s == scheme_len + 1) return "missing local part";
  if (s == uri.size() - 1) return "missing hostname";
  if (uri.find("..") != std::string_view::npos) return "double period";
  return {};
}

/// md_util.c uri_check: the reason `uri` is not acceptable, "" when it is.
std::string uri_problem(std::string_view uri, uri_parts& u) {
  std::string err;
  if (!parse_uri(uri, u)) {
    err = "not an uri";
  } else if (u.scheme) {
    if (u.scheme->size() + 1 >= uri.size()) {
      err = "missing uri identifier";
    } else if (u.scheme->compare(0, 4, "http") == 0) {
      if (!u.hostname) err = "missing hostname";
      else if (!dns_is_name(*u.hostname)) err = "invalid hostname";
      if (u.port_str && (!is_digit(at(*u.port_str, 0)) || u.port == 0 || u.port > 65353)) {
        err = "invalid port"; // sic: 65353 is mod_md's limit
      }
    } else if (*u.scheme == "mailto") {
      err = mailto_problem(uri, u.scheme->size());
    }
  }
  if (uri.find_first_of(" \t") != std::string_view::npos) err = "whitespace in uri";
  return err;
}

} // namespace

status check_abs_uri(std::string_view uri) {
  uri_parts u;
  auto err = uri_problem(uri, u);
  if (err.empty() && !u.scheme) err = "missing uri scheme";
  if (!err.empty()) return fail(config_errc::bad_format, err);
  return {};
}

status check_abs_http_uri(std::string_view uri) {
  uri_parts u;
  auto err = uri_problem(uri, u);
  if (err.empty() && !u.scheme) err = "missing uri scheme";
  if (err.empty() && !iequals(*u.scheme, "http") && !iequals(*u.scheme, "https")) {
    err = "uri scheme must be http or https";
  }
  if (!err.empty()) return fail(config_errc::bad_format, err);
  return {};
}

expected<std::string> parse_http_proxy(std::string_view v) {
  if (auto st = check_abs_http_uri(v); !st) return st.error();
  return std::string(v);
}

std::string schemify(std::string_view s, std::string_view def_scheme) {
  for (char c : s) {
    if (c == ':') return std::string(s); // looks like it has a scheme already
    if (!is_alnum(c)) break;
  }
  return std::string(def_scheme) + ":" + std::string(s);
}

// --- CAs -------------------------------------------------------------------------------------

const std::array<known_ca, 4>& known_cas() {
  static const std::array<known_ca, 4> cas = {{
      {"LetsEncrypt", "https://acme-v02.api.letsencrypt.org/directory"},
      {"LetsEncrypt-Test", "https://acme-staging-v02.api.letsencrypt.org/directory"},
      {"Buypass", "https://api.buypass.com/acme/directory"},
      {"Buypass-Test", "https://api.test4.buypass.no/acme/directory"},
  }};
  return cas;
}

expected<std::string> ca_url_from_name(std::string_view name) {
  for (auto& ca : known_cas()) if (iequals(ca.name, name)) return std::string(ca.url);
  auto st = check_abs_uri(name);
  if (st) return std::string(name);
  std::string names;
  for (auto& ca : known_cas()) names += (names.empty() ? "" : " ") + std::string(ca.name);
  return fail(config_errc::unknown_value, "The CA name '" + std::string(name) +
                                              "' is not known and it is not a URL either (" +
                                              st.error().message + "). Known CA names are: " +
                                              names + ".");
}

expected<std::vector<std::string>> parse_ca_urls(const std::vector<std::string>& args) {
  std::vector<std::string> urls;
  for (auto& a : args) {
    auto url = ca_url_from_name(a);
    if (!url) return url.error();
    urls.push_back(std::move(*url));
  }
  return urls;
}

std::string ca_name_from_url(std::string_view url) {
  for (auto& ca : known_cas()) if (iequals(ca.url, url)) return std::string(ca.name);
  uri_parts u;
  if (parse_uri(url, u) && u.hostname) return *u.hostname;
  return std::string(url);
}

} // namespace mda
