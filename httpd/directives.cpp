#include "httpd/directives.hpp"

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <apr_strings.h>
#include <http_core.h>
#include <http_main.h>
#include <nlohmann/json.hpp>

#include "core/config_values.hpp"
#include "core/duration.hpp"
#include "httpd/directive_support.hpp"

namespace mda::httpd {

namespace {

// --- MDomain, <MDomain>, MDMembers: defining MDs ------------------------------------------

/// "auto" / "manual" (any case) set `out`; false for any other word.
bool set_transitive(std::optional<int>& out, const char* word) {
  if (!apr_strnatcasecmp("auto", word)) {
    out = 1;
  } else if (!apr_strnatcasecmp("manual", word)) {
    out = 0;
  } else {
    return false;
  }
  return true;
}

void record_origin(cmd_parms* cmd, md_section& sec) {
  if (cmd->directive && cmd->directive->filename) {
    sec.defn_file = cmd->directive->filename;
    sec.defn_line = cmd->directive->line_num;
  }
}

const char* set_names(cmd_parms* cmd, void*, int argc, char* const argv[]) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::not_md)) return err;
    md_section sec;
    for (int i = 0; i < argc; ++i) {
      if (!set_transitive(sec.props.transitive, argv[i])) add_domain_name(sec.domains, argv[i]);
    }
    if (sec.domains.empty()) return "needs at least one domain name";
    record_origin(cmd, sec);
    mconf(cmd).mds.push_back(std::move(sec));
    return {};
  });
}

const char* section_start(cmd_parms* cmd, void*, const char* arg) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::not_md)) return err;
    const char* endp = ap_strrchr_c(arg, '>');
    if (!endp) return std::string(k_section) + "> directive missing closing '>'";
    const char* line = apr_pstrndup(cmd->pool, arg, static_cast<apr_size_t>(endp - arg));
    if (!line || !*line) return std::string(k_section) + " > section must specify a unique domain name";
    md_section sec;
    const char* first = ap_getword_conf(cmd->pool, &line);
    if (!*first) return "needs at least one domain name";
    add_domain_name(sec.domains, first);
    while (*line) {
      const char* word = ap_getword_conf(cmd->pool, &line);
      if (*word && !set_transitive(sec.props.transitive, word)) add_domain_name(sec.domains, word);
    }
    record_origin(cmd, sec);
    set_current_section(&sec);
    const char* err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
    set_current_section(nullptr);
    if (err) return err;
    mconf(cmd).mds.push_back(std::move(sec));
    return {};
  });
}

const char* add_members(cmd_parms* cmd, void*, int argc, char* const argv[]) {
  return guarded(cmd, [&]() -> std::string {
    md_section* sec = current_section();
    if (!sec || !inside_md_section(cmd)) {
      // Outside a section only the default "auto" / "manual" may be given.
      if (argc != 1) return check_scope(cmd, scope::md);
      if (!set_transitive(props_here(cmd).transitive, argv[0])) return "unknown value, use \"auto|manual\"";
      return {};
    }
    for (int i = 0; i < argc; ++i) {
      if (!set_transitive(sec->props.transitive, argv[i])) add_domain_name(sec->domains, argv[i]);
    }
    return {};
  });
}

/// MDCertificateFile / MDCertificateKeyFile: ServerRoot-relative, only in a section.
template <std::vector<std::string> md_section::*M>
const char* add_file(cmd_parms* cmd, void*, const char* arg) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::md)) return err;
    const char* path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
      return std::string(M == &md_section::cert_files ? "certificate file not found: "
                                                      : "certificate key file not found: ") + arg;
    }
    (current_section()->*M).push_back(path);
    return {};
  });
}

// --- settings with several arguments ---------------------------------------------------------

std::vector<std::string> args_of(int argc, char* const argv[]) { return {argv, argv + argc}; }

const char* set_ca(cmd_parms* cmd, void*, int argc, char* const argv[]) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    auto urls = parse_ca_urls(args_of(argc, argv));
    if (!urls) return urls.error().message;
    props_here(cmd).ca_urls = std::move(*urls);
    return {};
  });
}

const char* set_challenges(cmd_parms* cmd, void*, int argc, char* const argv[]) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    props_here(cmd).ca_challenges = args_of(argc, argv);
    return {};
  });
}

const char* set_pkeys(cmd_parms* cmd, void*, int argc, char* const argv[]) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    auto specs = parse_private_keys(args_of(argc, argv));
    if (!specs) return specs.error().message;
    props_here(cmd).key_specs = std::move(*specs);
    return {};
  });
}

const char* set_port_map(cmd_parms* cmd, void*, const char* v1, const char* v2) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::not_md)) return err;
    std::vector<std::string> maps{v1};
    if (v2) maps.emplace_back(v2);
    auto ports = parse_port_maps(maps, mconf(cmd).ports);
    if (!ports) return ports.error().message;
    mconf(cmd).ports = *ports;
    return {};
  });
}

/// MDStoreEtcd (core/cluster_config.hpp); TLS files relative to ServerRoot.
const char* set_store_etcd(cmd_parms* cmd, void*, int argc, char* const argv[]) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::not_md)) return err;
    std::vector<std::string> args(argv, argv + argc);
    auto c = parse_store_etcd(args);
    if (!c) return c.error().message;
    for (auto* f : {&c->ca_file, &c->cert_file, &c->key_file})
      if (!f->empty()) {
        const char* full = ap_server_root_relative(cmd->pool, f->c_str());
        if (!full) return "MDStoreEtcd: invalid file name '" + *f + "'";
        *f = full;
      }
    mconf(cmd).cluster = std::move(*c);
    return {};
  });
}

const char* set_staple_others(cmd_parms* cmd, void*, const char* value) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    auto v = parse_on_off(value);
    if (!v) return v.error().message;
    // Accepted inside a section but without effect there, as in mod_md.
    if (!current_section()) props_here(cmd).staple_others = *v;
    return {};
  });
}

const char* set_cert_check(cmd_parms* cmd, void*, const char* name, const char* url) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    mconf(cmd).cert_check_name = name;
    mconf(cmd).cert_check_url = url;
    return {};
  });
}

/// MDExternalAccountBinding kid hmac | none | <JSON file with "kid" and "hmac">.
std::string read_eab_file(cmd_parms* cmd, const char* file, md_eab& eab) {
  const std::string name = cmd->cmd->name;
  const char* path = ap_server_root_relative(cmd->pool, file);
  if (!path) return name + ": Invalid file path " + file;
  std::ifstream in(path, std::ios::binary);
  if (!in) return name + ": file not found: " + path;
  std::ostringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return name + ": error reading JSON file " + path;
  for (const char* key : {"kid", "hmac"}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
      return name + ": JSON does not contain '" + key + "' element in file " + path;
    }
  }
  eab.kid = j["kid"].get<std::string>();
  eab.hmac = j["hmac"].get<std::string>();
  return {};
}

const char* set_eab(cmd_parms* cmd, void*, const char* kid, const char* hmac) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    md_eab eab;
    if (hmac) {
      eab = md_eab{kid, hmac};
    } else if (!apr_strnatcasecmp("None", kid)) {
      eab.kid = "none";
    } else if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_DUMP) {
      eab.kid = kid; // a configuration dump does not read the file
    } else if (std::string err = read_eab_file(cmd, kid, eab); !err.empty()) {
      return err;
    }
    props_here(cmd).eab = std::move(eab);
    return {};
  });
}

// --- mdactor extensions --------------------------------------------------------------------

/// MDRenewParallel: a number > 0 (read like MDRetryFailover).
expected<int> parse_orders_in_flight(std::string_view v) { return parse_retry_failover(v); }

/// MDCommandTimeout: a duration (default unit s) greater than 0.
expected<milliseconds> parse_command_timeout(std::string_view v) {
  auto d = parse_duration(v, "s");
  if (d && d->count() <= 0) return error(config_errc::out_of_range, "timeout must be greater than 0");
  return d;
}

/// MDActivation: "live" (the default: a renewed set is served at once, store/live.hpp) or
/// "restart" (mod_md's way: at the next restart); case-insensitive.
expected<bool> parse_activation(std::string_view v) {
  std::string lower(v);
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "live") return true;
  if (lower == "restart") return false;
  return error(config_errc::unknown_value, "'" + std::string(v) + "' is not 'live' or 'restart'");
}

using cmd_fn = cmd_func;

/// command_rec's func member is declared without parameters in C++ (no designated initializers).
template <class F>
cmd_fn fn(F f) {
  return reinterpret_cast<cmd_fn>(reinterpret_cast<void (*)()>(f));
}

command_rec cmd(const char* name, cmd_fn f, cmd_how how, const char* help, int where = RSRC_CONF) {
  command_rec c{};
  c.name = name;
  c.func = f;
  c.cmd_data = nullptr;
  c.req_override = where;
  c.args_how = how;
  c.errmsg = help;
  return c;
}

using P = md_props;
using M = module_conf;

} // namespace

// The table: mod_md's 47 directives in reference §1.3 order, then the extensions.
const command_rec k_directives[] = {
    cmd("MDomain", fn(set_names), TAKE_ARGV, "one managed domain: its names, optionally auto|manual"),
    cmd(k_section, fn(section_start), RAW_ARGS, "a managed domain with settings of its own"),
    cmd(k_section_short, fn(section_start), RAW_ARGS, "the short name of <MDomainSet>"),
    cmd("MDMember", fn(add_members), TAKE_ARGV, "names of the managed domain, or auto|manual"),
    cmd("MDMembers", fn(add_members), TAKE_ARGV, "names of the managed domain, or auto|manual"),
    cmd("MDCertificateAuthority", fn(set_ca), TAKE_ARGV, "CA URLs or known CA names, in failover order"),
    cmd("MDCertificateAgreement", fn(set_prop_text<&P::ca_agreement>), TAKE1,
        "'accepted' or the URL of the terms of service you accept"),
    cmd("MDCAChallenges", fn(set_challenges), TAKE_ARGV, "the ACME challenge types to use, in order"),
    cmd("MDCertificateProtocol", fn(set_prop_text<&P::ca_proto>), TAKE1, "the protocol, ACME"),
    cmd("MDContactEmail", fn(set_prop_text<&P::contact>), TAKE1, "the contact address of the account"),
    cmd("MDRenewMode", fn(set_prop<md_renew_mode, &P::renew_mode, parse_renew_mode>), TAKE1,
        "auto, always or manual renewal"),
    cmd("MDDriveMode", fn(set_prop<md_renew_mode, &P::renew_mode, parse_renew_mode>), TAKE1,
        "deprecated name of MDRenewMode"),
    cmd("MDMustStaple", fn(set_prop<bool, &P::must_staple, parse_on_off>), TAKE1,
        "on: request certificates with the OCSP must-staple flag"),
    cmd("MDPortMap", fn(set_port_map), TAKE12, "local ports of the public ports 80 and 443, e.g. 80:8080 443:-"),
    cmd("MDPrivateKeys", fn(set_pkeys), TAKE_ARGV, "key types: Default, RSA [bits], curve names"),
    cmd("MDHttpProxy", fn(set_md_or_global<&P::proxy_url, &M::proxy_url, parse_http_proxy>), TAKE1,
        "the http(s) proxy for outgoing connections"),
    cmd("MDHttpProxyCACertificateFile", fn(set_md_or_global<&P::proxy_ca_certs, &M::proxy_ca_certs, any_text>),
        TAKE1, "CA certificates to verify the proxy with, or none"),
    cmd("MDCACertificateFile", fn(set_md_or_global<&P::ca_certs, &M::ca_certs, any_text>), TAKE1,
        "CA certificates to verify the ACME server with, or none"),
    cmd("MDStoreDir", fn(set_global<std::string, &M::store_dir, any_text, scope::not_md>), TAKE1,
        "the store directory, relative to ServerRoot"),
    cmd("MDRenewWindow", fn(set_prop<timeslice, &P::renew_window, parse_renew_window>), TAKE1,
        "renew when less than this remains (duration, default unit days, or percent)"),
    cmd("MDWarnWindow", fn(set_prop<timeslice, &P::warn_window, parse_warn_window>), TAKE1,
        "warn when less than this remains (duration, default unit days, or percent)"),
    cmd("MDRequireHttps", fn(set_prop<md_require_https, &P::require_https, parse_require_https>), TAKE1,
        "off, temporary or permanent redirects to https", RSRC_CONF | OR_AUTHCFG),
    cmd("MDNotifyCmd", fn(set_global_text<&M::notify_cmd>), RAW_ARGS, "the program run after a renewal"),
    cmd("MDMessageCmd", fn(set_global_text<&M::message_cmd>), RAW_ARGS, "the program run on every event"),
    cmd("MDBaseServer", fn(set_global<bool, &M::manage_base_server, parse_on_off, scope::not_md>), TAKE1,
        "on: managed domains may apply to the server outside virtual hosts"),
    cmd("MDChallengeDns01", fn(set_md_or_global<&P::dns01_cmd, &M::dns01_cmd, any_text>), RAW_ARGS,
        "the program that sets up and tears down dns-01 records"),
    cmd("MDChallengeDns01Version", fn(set_global<int, &M::dns01_version, parse_dns01_version, scope::not_md>),
        TAKE1, "the arguments of MDChallengeDns01: 1 or 2"),
    cmd("MDCertificateFile", fn(add_file<&md_section::cert_files>), TAKE1, "a static certificate chain file"),
    cmd("MDCertificateKeyFile", fn(add_file<&md_section::key_files>), TAKE1, "a static private key file"),
    cmd("MDServerStatus", fn(set_global<bool, &M::server_status, parse_on_off, scope::all>), TAKE1,
        "on: managed domains in server-status"),
    cmd("MDCertificateStatus", fn(set_global<bool, &M::certificate_status, parse_on_off, scope::all>), TAKE1,
        "on: serve /.httpd/certificate-status"),
    cmd("MDStapling", fn(set_prop<bool, &P::stapling, parse_on_off>), TAKE1, "on: OCSP stapling by mdactor"),
    cmd("MDStapleOthers", fn(set_staple_others), TAKE1, "on: staple certificates outside managed domains too"),
    cmd("MDStaplingKeepResponse",
        fn(set_global<timeslice, &M::stapling_keep_response, parse_stapling_keep_response, scope::all>), TAKE1,
        "how long OCSP responses are kept in the store"),
    cmd("MDStaplingRenewWindow",
        fn(set_global<timeslice, &M::stapling_renew_window, parse_stapling_renew_window, scope::all>), TAKE1,
        "refresh OCSP responses when less than this of their validity remains"),
    cmd("MDCertificateCheck", fn(set_cert_check), TAKE2, "name and URL prefix of a certificate monitor"),
    cmd("MDActivationDelay", fn(set_global<milliseconds, &M::activation_delay, parse_activation_delay,
                                           scope::not_md>), TAKE1, "delay before a renewed certificate is used"),
    cmd("MDExternalAccountBinding", fn(set_eab), TAKE12, "key id and HMAC, a JSON file with both, or none"),
    cmd("MDRetryDelay", fn(set_global<milliseconds, &M::retry_delay, parse_retry_delay, scope::not_md>), TAKE1,
        "the first retry delay, doubled on each further error"),
    cmd("MDRetryFailover", fn(set_global<int, &M::retry_failover, parse_retry_failover, scope::not_md>), TAKE1,
        "errors before the next CA is tried"),
    cmd("MDStoreLocks", fn(set_global<store_locks, &M::locks, parse_store_locks, scope::not_md>), TAKE1,
        "on, off or how long to wait for the store lock"),
    cmd("MDMatchNames", fn(set_global<match_mode, &M::match, parse_match_names, scope::not_md>), TAKE1,
        "all or servernames: how names select virtual hosts"),
    cmd("MDCheckInterval", fn(set_global<milliseconds, &M::check_interval, parse_check_interval, scope::not_md>),
        TAKE1, "time between renewal checks"),
    cmd("MDInitialDelay", fn(set_global<milliseconds, &M::initial_delay, parse_initial_delay, scope::not_md>),
        TAKE1, "delay of the first renewal check"),
    cmd("MDProfile", fn(set_prop_text<&P::profile>), TAKE1, "the ACME profile to order"),
    cmd("MDProfileMandatory", fn(set_prop<bool, &P::profile_mandatory, parse_on_off>), TAKE1,
        "on: fail when the CA does not offer the profile"),
    cmd("MDRenewViaARI", fn(set_prop<bool, &P::ari_renewals, parse_on_off>), TAKE1,
        "on: renew when the CA's renewal information says so"),
    // mdactor extensions (README)
    cmd("MDRenewParallel", fn(set_global<int, &M::orders_in_flight, parse_orders_in_flight, scope::not_md>),
        TAKE1, "mdactor: how many certificate orders run at once (default 8)"),
    cmd("MDCommandTimeout", fn(set_global<milliseconds, &M::command_timeout, parse_command_timeout,
                                          scope::not_md>), TAKE1,
        "mdactor: time limit of MDMessageCmd, MDNotifyCmd and MDChallengeDns01 programs (default 60s)"),
    cmd("MDActivation", fn(set_global<bool, &M::live_activation, parse_activation, scope::not_md>),
        TAKE1, "mdactor: live (default) serves a renewed certificate at once, restart at the next restart"),
    cmd("MDStoreEtcd", fn(set_store_etcd), TAKE_ARGV,
        "mdactor: share the store with other servers through etcd: ENDPOINT[,ENDPOINT...] "
        "[prefix=/P] [ca=FILE] [cert=FILE key=FILE] [node=NAME] [lease=SECONDS]"),
    command_rec{},
};

} // namespace mda::httpd
