#include "httpd/directive_support.hpp"

#include <new>

#include <apr_strings.h>

#include "httpd/directives.hpp"

namespace mda::httpd {

namespace {

/// The records of the configuration pass in progress. Reset by the pool cleanup, so a
/// graceful restart starts from mod_md's defaults again.
module_conf* g_module_conf = nullptr;
md_section* g_current = nullptr;

apr_status_t delete_module_conf(void* data) {
  auto* mc = static_cast<module_conf*>(data);
  if (g_module_conf == mc) {
    g_module_conf = nullptr;
    g_current = nullptr;
  }
  delete mc;
  return APR_SUCCESS;
}

apr_status_t delete_server_conf(void* data) {
  delete static_cast<server_conf*>(data);
  return APR_SUCCESS;
}

module_conf& ensure_module_conf(apr_pool_t* pool) {
  if (!g_module_conf) {
    g_module_conf = new module_conf();
    apr_pool_cleanup_register(pool, g_module_conf, delete_module_conf, apr_pool_cleanup_null);
  }
  return *g_module_conf;
}

server_conf* own(apr_pool_t* p, server_conf* sc) {
  apr_pool_cleanup_register(p, sc, delete_server_conf, apr_pool_cleanup_null);
  return sc;
}

} // namespace

void* create_server_conf(apr_pool_t* p, server_rec*) {
  try {
    ensure_module_conf(p);
    return own(p, new server_conf());
  } catch (...) {
    return nullptr; // httpd treats a null record as "no configuration"; only on bad_alloc
  }
}

void* merge_server_conf(apr_pool_t* p, void* base, void* add) {
  try {
    const auto* b = static_cast<const server_conf*>(base);
    const auto* a = static_cast<const server_conf*>(add);
    auto* merged = new server_conf();
    if (b && a) merged->props = merge(b->props, a->props);
    return own(p, merged);
  } catch (...) {
    return add;
  }
}

server_conf* get_server_conf(const server_rec* s) {
  return static_cast<server_conf*>(ap_get_module_config(s->module_config, &md_module));
}

module_conf* get_module_conf() { return g_module_conf; }

module_conf& mconf(cmd_parms* cmd) { return ensure_module_conf(cmd->pool); }

md_section* current_section() { return g_current; }
void set_current_section(md_section* s) { g_current = s; }

md_props& props_here(cmd_parms* cmd) {
  if (g_current) return g_current->props;
  server_conf* sc = get_server_conf(cmd->server);
  if (!sc) throw std::bad_alloc();
  return sc->props;
}

bool inside_md_section(const cmd_parms* cmd) {
  for (const ap_directive_t* d = cmd->directive ? cmd->directive->parent : nullptr; d; d = d->parent) {
    if (!ap_cstr_casecmp(d->directive, k_section) || !ap_cstr_casecmp(d->directive, k_section_short)) {
      return true;
    }
  }
  return false;
}

const char* check_scope(cmd_parms* cmd, scope where) {
  const bool inside = inside_md_section(cmd);
  switch (where) {
    case scope::not_md:
      if (inside) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " is not allowed inside an '", k_section,
                           "' context", nullptr);
      }
      break;
    case scope::md:
      if (!inside) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " is only valid inside a '", k_section,
                           "' context, not here", nullptr);
      }
      return nullptr;
    case scope::all:
      if (inside) return nullptr;
      break;
  }
  return ap_check_cmd_context(cmd, NOT_IN_DIRECTORY | NOT_IN_LOCATION);
}

} // namespace mda::httpd
