// mod_mdactor: the Apache module, a drop-in for mod_md. The module structure is named
// md_module and reports the name "mod_md.c", so `LoadModule md_module .../mod_mdactor.so`,
// `<IfModule mod_md.c>` and `LogLevel md:debug` work as with mod_md.
//
// Hooks registered here and in ssl_hooks.cpp, in the order httpd runs them:
// 1. post_config, before mod_ssl (every pass, the dry run included): describes the server_recs
//    as vhost_info records, runs phase 1 of the MD <-> vhost linking (config_build.hpp), opens
//    the store at MDStoreDir (created when missing), hands challenges/staging/ocsp to the
//    User on the real pass, writes httpd.json, activates staged sets (store/registry.hpp). An
//    error in the linking or the store stops the start, as with mod_md.
// 2. mod_ssl's post_config calls ssl_add_cert_files / ssl_add_fallback_cert_files
//    (ssl_hooks.cpp) for every SSL server_rec.
// 3. post_config after mod_ssl (ssl_hooks.cpp): phase 2 of the linking, md.json sync.
// The engine process (engine_process.hpp), the request hooks (request_hooks.hpp) and the
// certificate hooks (ssl_hooks.cpp) live in their own files; the "installed" event is not
// raised yet.
#include <algorithm>
#include <cstring>
#include <memory>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <ap_listen.h>
#include <apr_strings.h>
#include <unixd.h>

#include "httpd/directives.hpp"
#include "httpd/module.hpp"
#include "httpd/request_hooks.hpp"
#include "store/accounts.hpp"
#include "store/engine_store.hpp"
#include "store/registry.hpp"

APLOG_USE_MODULE(md);

void mda::httpd::log_hook_failure(server_rec* s, const char* id, const char* what, const char* reason) {
  ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "%s: %s failed: %s", id, what, reason);
}

namespace mda::httpd {

namespace {

/// Reset at every post_config; the .so stays loaded across graceful restarts.
std::unique_ptr<module_state> g_state;

std::vector<std::string> strings_of(const apr_array_header_t* a) {
  std::vector<std::string> out;
  if (!a) return out;
  const auto* elts = reinterpret_cast<const char* const*>(a->elts);
  for (int i = 0; i < a->nelts; ++i) {
    if (elts[i]) out.emplace_back(elts[i]);
  }
  return out;
}

vhost_info describe(server_rec* s, bool is_base) {
  vhost_info v;
  v.server_name = s->server_hostname ? s->server_hostname : "";
  v.aliases = strings_of(s->names);
  v.wild_aliases = strings_of(s->wild_names);
  v.port = s->port;
  for (const server_addr_rec* a = s->addrs; a; a = a->next) {
    v.addrs.push_back({a->virthost ? a->virthost : "", a->host_port});
  }
  v.is_base = is_base;
  v.acme_tls_1 = ap_is_allowed_protocol(nullptr, nullptr, s, "acme-tls/1") != 0;
  if (const server_conf* sc = get_server_conf(s)) v.contact = sc->props.contact.value_or("");
  v.server_admin = s->server_admin ? s->server_admin : "";
  return v;
}

/// The ports of the listeners that speak http or https (mod_md's detect_supported_protocols).
std::vector<int> listen_ports() {
  std::vector<int> ports;
  for (const ap_listen_rec* lr = ap_listeners; lr; lr = lr->next) {
    if (lr->protocol && std::strncmp("http", lr->protocol, 4) != 0) continue;
    for (const apr_sockaddr_t* sa = lr->bind_addr; sa; sa = sa->next) ports.push_back(sa->port);
  }
  return ports;
}

std::unique_ptr<module_state> collect(server_rec* base) {
  auto st = std::make_unique<module_state>();
  if (const module_conf* mc = get_module_conf()) st->input.mc = *mc;
  if (const server_conf* sc = get_server_conf(base)) st->input.base = sc->props;
  for (server_rec* s = base; s; s = s->next) {
    st->server_index[s] = st->servers.size();
    st->input.vhosts.push_back(describe(s, s == base));
    st->servers.push_back(s);
  }
  st->input.listen_ports = listen_ports();
  st->input.server_root = ap_server_root ? ap_server_root : "";
  return st;
}

void log_linked(server_rec* s, const module_state& st) {
  for (std::size_t i = 0; i < st.specs.size(); ++i) {
    const md_spec& spec = st.specs[i];
    int vhosts = 0;
    for (const auto& a : st.linked.assigned) vhosts += std::count(a.begin(), a.end(), i) > 0 ? 1 : 0;
    const std::string ca = ca_in_use(spec, std::string());
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MDA0110: MD %s: %d domain(s), CA %s, used by %d server(s)",
                 spec.name.c_str(), static_cast<int>(spec.domains.size()), ca.empty() ? "-" : ca.c_str(),
                 vhosts);
  }
}

/// Reports what the activation of staged sets did (mod_md AH10398 / AH10069 in meaning).
void log_activation(server_rec* s, const activation_report& r) {
  if (r.lock_error) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                 "MDA0123: unable to obtain the store lock, staged certificates stay inactive: %s",
                 r.lock_error->message.c_str());
  }
  for (const auto& e : r.errors) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0124: %s", e.message.c_str());
  }
  for (const auto& name : r.activated) {
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MDA0125: %s: staged certificates activated", name.c_str());
  }
}

/// Store setup of the parent (reference §5.1 steps 2, 5, 7). False: the start must stop.
bool setup_store(server_rec* s, module_state& st) {
  const engine_settings& settings = st.linked.config.settings;
  fs_store_options so;
  so.sync_writes = false; // one flush at the end of the startup pass (ssl_hooks.cpp)
  so.secret_group = ap_unixd_config.group_id; // account.json with an EAB hmac: 0640 root:Group
  auto opened = fs_store::open(settings.store_dir, so);
  if (!opened) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0120: setting up the store in %s: %s",
                 settings.store_dir.c_str(), opened.error().message.c_str());
    return false;
  }
  st.store.emplace(std::move(*opened));
  if (!st.dry_run) {
    // mod_md's md_make_worker_accessible: the User becomes the owner, the group stays.
    if (auto r = st.store->setup_worker_dirs(ap_unixd_config.user_id); !r) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0121: handing the store to the User: %s",
                   r.error().message.c_str());
      return false;
    }
    // An EAB key that mod_md left world-readable is not any more.
    for (const auto& id : protect_eab_accounts(*st.store))
      ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MDA0150: accounts/%s/account.json holds an EAB key: "
                   "no longer readable by others", id.c_str());
    // Accounts the unprivileged engine registered since the last start go to accounts/.
    for (const auto& f : file_engine_accounts(*st.store, ap_unixd_config.user_id)) {
      if (f.problem.empty()) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MDA0137: account %s filed as accounts/%s",
                     f.from.c_str(), f.id.c_str());
      } else {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0137: account %s not filed: %s", f.from.c_str(),
                     f.problem.c_str());
      }
    }
  }
  auto hj = sync_httpd_json(*st.store, settings.can_http, settings.can_https);
  if (!hj) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0122: writing httpd.json: %s", hj.error().message.c_str());
  } else if (hj->corrupt) {
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MDA0122: removed a damaged httpd.json: %s",
                 hj->corrupt->message.c_str());
  }
  std::vector<error> rename_errors;
  for (const auto& r : rename_moved_mds(*st.store, st.linked.config.mds, &rename_errors))
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MDA0128: MD %s is now named %s (same domains)",
                 r.from.c_str(), r.to.c_str());
  for (const auto& e : rename_errors)
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0128: %s", e.message.c_str());
  auto activation = activate_staged_sets(*st.store, settings.store_dir, st.linked.config.mds,
                                         st.input.mc.locks);
  log_activation(s, activation);
  for (const auto& e : purge_unused_challenges(*st.store, st.linked.config.mds))
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MDA0129: removing unused challenge data: %s",
                 e.message.c_str());
  if (!st.dry_run && !activation.activated.empty()) {
    // mod_md raises "installed" here, in the parent (root), after the move.
    const event_commands cmds{settings.notify_cmd, settings.message_cmd};
    for (const auto& line : announce_installed(*st.store, activation.activated, cmds,
                                               settings.command_timeout, process_command_runner(),
                                               sys_clock::now()))
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0126: %s", line.c_str());
  }
  return true;
}

int post_config(apr_pool_t*, apr_pool_t*, apr_pool_t*, server_rec* s) {
  return guarded(s, "MDA0101", "post_config", HTTP_INTERNAL_SERVER_ERROR, [&]() -> int {
    g_state.reset();
    auto st = collect(s);
    st->dry_run = ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
    auto linked = link_config(st->input);
    if (!linked) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0100: %s", linked.error().message.c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    st->linked = std::move(*linked);
    auto specs = make_md_specs(st->linked.config);
    if (!specs) {
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MDA0100: %s", specs.error().message.c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    st->specs = std::move(*specs);
    log_linked(s, *st);
    if (!setup_store(s, *st)) return HTTP_INTERNAL_SERVER_ERROR;
    g_state = std::move(st);
    return OK;
  });
}

void register_hooks(apr_pool_t*) {
  static const char* const before_ssl[] = {"mod_ssl.c", "mod_tls.c", nullptr};
  ap_hook_post_config(post_config, nullptr, before_ssl, APR_HOOK_FIRST);
  register_ssl_hooks();
  register_request_hooks();
}

} // namespace

const module_state* current_state() { return g_state.get(); }
module_state* mutable_state() { return g_state.get(); }

} // namespace mda::httpd

extern "C" {

__attribute__((visibility("default"))) module AP_MODULE_DECLARE_DATA md_module = {
    MODULE_MAGIC_NUMBER_MAJOR,
    MODULE_MAGIC_NUMBER_MINOR,
    -1,
    "mod_md.c", // the name mod_md reports: <IfModule mod_md.c>, LogLevel md:...
    nullptr,
    nullptr,
    MODULE_MAGIC_COOKIE,
    nullptr,
    nullptr, // no per-directory configuration
    nullptr,
    mda::httpd::create_server_conf,
    mda::httpd::merge_server_conf,
    mda::httpd::k_directives,
    mda::httpd::register_hooks,
    AP_MODULE_FLAG_NONE,
};

} // extern "C"
