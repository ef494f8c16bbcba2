// Helpers for the directive handlers (internal to httpd/): mod_md's scope checks
// (md_conf_check_location, reference §1.1), where a setting goes (the current <MDomain>
// section or the server), turning a C++ result into httpd's "const char* error" with no
// exception crossing into httpd, and setter templates for the common value shapes.
// Not here: the table itself (directives.cpp), value syntaxes (core/config_values.hpp).
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>

#include "core/error.hpp"
#include "httpd/config.hpp"

namespace mda::httpd {

/// ALL: server, vhost or MD section; NOT_MD: server or vhost; MD: only in an MD section.
enum class scope { all, not_md, md };

/// The MD section names, as mod_md spells them in its messages.
inline constexpr const char* k_section = "<MDomainSet";
inline constexpr const char* k_section_short = "<MDomain";

/// True when the directive sits (at any depth) inside <MDomainSet> or <MDomain>.
bool inside_md_section(const cmd_parms* cmd);

/// mod_md's location check; null when allowed, else the error text (in cmd->pool):
/// "<name> is not allowed inside an '<MDomainSet' context",
/// "<name> is only valid inside a '<MDomainSet' context, not here", or httpd's own
/// NOT_IN_DIRECTORY|NOT_IN_LOCATION text.
const char* check_scope(cmd_parms* cmd, scope where);

/// The module-wide record of this configuration pass.
module_conf& mconf(cmd_parms* cmd);
/// The section being read (null outside one).
md_section* current_section();
void set_current_section(md_section* s);
/// Where an ALL setting goes: the current section's props, else the server's.
md_props& props_here(cmd_parms* cmd);

/// Runs `body` (returns "" when fine, else the error text); exceptions become an error naming
/// the directive. The text is copied into cmd->pool.
template <class F>
const char* guarded(cmd_parms* cmd, F&& body) {
  try {
    std::string err = body();
    return err.empty() ? nullptr : apr_pstrmemdup(cmd->pool, err.data(), err.size());
  } catch (const std::exception& e) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": internal error: ", e.what(), nullptr);
  } catch (...) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": internal error", nullptr);
  }
}

/// ALL directive with one value parsed by Parse into md_props::*M.
template <class T, std::optional<T> md_props::*M, expected<T> (*Parse)(std::string_view)>
const char* set_prop(cmd_parms* cmd, void*, const char* value) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    auto v = Parse(value);
    if (!v) return v.error().message;
    props_here(cmd).*M = std::move(*v);
    return {};
  });
}

/// ALL directive storing its one argument as text into md_props::*M.
template <std::optional<std::string> md_props::*M>
const char* set_prop_text(cmd_parms* cmd, void*, const char* value) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    props_here(cmd).*M = std::string(value);
    return {};
  });
}

/// Directive of scope `S` storing a parsed value into the module-wide module_conf::*M.
template <class T, T module_conf::*M, expected<T> (*Parse)(std::string_view), scope S>
const char* set_global(cmd_parms* cmd, void*, const char* value) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, S)) return err;
    auto v = Parse(value);
    if (!v) return v.error().message;
    mconf(cmd).*M = std::move(*v);
    return {};
  });
}

/// RAW_ARGS NOT_MD directive keeping its argument line as text (MDNotifyCmd, MDMessageCmd).
template <std::string module_conf::*M>
const char* set_global_text(cmd_parms* cmd, void*, const char* value) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::not_md)) return err;
    mconf(cmd).*M = value;
    return {};
  });
}

/// ALL directive that goes into the MD section when inside one, else into module_conf::*G
/// (MDChallengeDns01, MDHttpProxy, MDCACertificateFile, MDHttpProxyCACertificateFile).
template <std::optional<std::string> md_props::*P, std::string module_conf::*G,
          expected<std::string> (*Parse)(std::string_view)>
const char* set_md_or_global(cmd_parms* cmd, void*, const char* value) {
  return guarded(cmd, [&]() -> std::string {
    if (const char* err = check_scope(cmd, scope::all)) return err;
    auto v = Parse(value);
    if (!v) return v.error().message;
    if (current_section()) {
      current_section()->props.*P = std::move(*v);
    } else {
      mconf(cmd).*G = std::move(*v);
    }
    return {};
  });
}

/// The text as is (for set_md_or_global without a syntax).
inline expected<std::string> any_text(std::string_view v) { return std::string(v); }

} // namespace mda::httpd
