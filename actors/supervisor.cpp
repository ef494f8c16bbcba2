// The supervisor (see supervisor.hpp).
#include "actors/supervisor.hpp"
#include "actors/cluster_setup.hpp"

#include "store/engine_store.hpp"
#include "store/engine_store.hpp"
#include "store/fs_io.hpp"
#include "store/fs_store.hpp"
#include "store/live.hpp"
#include "store/live.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <utility>

#include <caf/send.hpp>

#include "acme/account_store.hpp"
#include "acme/problem.hpp"
#include "store/fs_store.hpp"

namespace mda {

std::vector<managed_domain> stapling_mds(const engine_config& cfg) {
  std::vector<managed_domain> out;
  for (const auto& em : cfg.mds)
    if (em.md.stapling && em.used) out.push_back(em.md);
  return out;
}

acme::account_options account_options_of(const managed_domain& md) {
  acme::account_options ao;
  for (const auto& c : md.contacts) ao.contacts.push_back(c);
  ao.agreement = md.ca.agreement;
  if (!md.eab.kid.empty() && md.eab.kid != "none") ao.eab = acme::eab_credentials{md.eab.kid, md.eab.hmac};
  return ao;
}

std::string account_key(const managed_domain& md, const std::string& ca_url) {
  auto contacts = md.contacts;
  std::sort(contacts.begin(), contacts.end());
  std::string key = ca_url + " " + md.eab.kid;
  for (const auto& c : contacts) key += " " + c;
  // an MD reaching the CA its own way (MDHttpProxy, CA files inside <MDomain>) has its own
  // actor: the account actor's client holds one transport
  for (const auto* own : {&md.proxy_url, &md.ca_certs, &md.proxy_ca_certs})
    if (!own->empty()) key += " via " + *own;
  return key;
}

namespace {

/// What an MD's requests to its CA go through: its own MDHttpProxy, MDCACertificateFile and
/// MDHttpProxyCACertificateFile where set (inside <MDomain>), else the server's.
acme::http_options http_options_for(const engine_settings& s, const managed_domain* md) {
  acme::http_options o;
  o.ca_file = md && !md->ca_certs.empty() ? md->ca_certs : s.ca_certs;
  o.proxy_url = md && !md->proxy_url.empty() ? md->proxy_url : s.http_proxy;
  o.proxy_ca_file = md && !md->proxy_ca_certs.empty() ? md->proxy_ca_certs : s.proxy_ca_certs;
  return o;
}

transport_factory default_transports(const engine_settings& s, const managed_domain* md = nullptr) {
  return [o = http_options_for(s, md)](const std::string&) -> expected<std::shared_ptr<acme::http_transport>> {
    auto t = acme::httplib_transport::create(o);
    if (!t) return t.error();
    return std::shared_ptr<acme::http_transport>(*t);
  };
}

/// The blocking selection of one account actor.
account_source make_source(const supervisor_options& opts, transport_factory transports,
                           const managed_domain& md, const std::string& ca_url) {
  const acme::account_options ao = account_options_of(md);
  auto st = opts.st;
  auto clock = opts.env.clock;
  auto retries = opts.max_bad_nonce_retries;
  auto log = opts.log;
  auto cluster = opts.cluster;
  return [st, clock, retries, log, transports, ao, ca_url, cluster]() -> account_answer {
    auto t = transports(ca_url);
    if (!t) return account_answer{std::nullopt, plain_failure(t.error().message)};
    acme::client_options co;
    co.directory_url = ca_url;
    co.max_bad_nonce_retries = retries;
    auto c = std::make_shared<acme::client>(*t, co, clock);
    std::optional<acme::acme_result<acme::account_choice>> chosen;
    auto select = [&]() -> expected<std::string> {
      chosen.emplace(acme::select_or_register_account(*c, *st, ao, [log](const std::string& line) {
        if (log) log("account: " + line);
      }));
      if (!*chosen) return chosen->error();
      return (*chosen)->id;
    };
    if (cluster) {
      // one set of accounts for the cluster, chosen under its lock (docs/cluster.md)
      auto shared = cluster->with_cluster_accounts(select, std::chrono::seconds(30));
      if (!shared && (!chosen || *chosen))
        return account_answer{std::nullopt, plain_failure(shared.error().message)};
    } else {
      (void)select();
    }
    auto& sel = *chosen;
    if (!sel) {
      // as mod_md keeps it: the CA's problem type and its own detail
      const auto& p = sel.prob();
      auto detail = p && !p->detail.empty() ? p->detail : sel.error().message;
      return account_answer{std::nullopt, acme::failure_of(std::move(detail), p)};
    }
    if (log)
      log((sel->reused ? "reusing account " : "registered account ") + sel->id + " at " + ca_url);
    return account_answer{account_grant{c, sel->acct.as_signer(), sel->id, ca_url}, std::nullopt};
  };
}

/// One unauthenticated session per CA for renewalInfo, made on first use.
client_factory ari_clients(transport_factory transports, std::shared_ptr<const time_source> clock,
                           int retries) {
  struct cache {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<acme::client>> by_url;
  };
  auto c = std::make_shared<cache>();
  return [c, transports, clock, retries](
           const std::string& url) -> expected<std::shared_ptr<acme::client>> {
    std::lock_guard<std::mutex> lock(c->mu);
    auto i = c->by_url.find(url);
    if (i != c->by_url.end()) return i->second;
    auto t = transports(url);
    if (!t) return t.error();
    acme::client_options co;
    co.directory_url = url;
    co.max_bad_nonce_retries = retries;
    auto client = std::make_shared<acme::client>(*t, co, clock);
    c->by_url[url] = client;
    return client;
  };
}

ocsp_transport_factory default_ocsp_transports(const engine_settings& s) {
  return [s](const std::string&) -> expected<std::shared_ptr<acme::http_transport>> {
    acme::http_options o;
    o.ca_file = s.ca_certs;
    o.proxy_url = s.http_proxy;
    o.proxy_ca_file = s.proxy_ca_certs;
    o.connect_timeout = std::chrono::seconds(10);
    o.read_timeout = std::chrono::seconds(10);
    o.total_timeout = std::chrono::seconds(30);
    auto t = acme::httplib_transport::create(o);
    if (!t) return t.error();
    return std::shared_ptr<acme::http_transport>(*t);
  };
}

/// The stapling actor, or an invalid handle when nothing is stapled.
ocsp_stapling_actor spawn_stapling(caf::actor_system& sys, const engine_config& cfg,
                                   const supervisor_options& opts, const engine_actors& a) {
  const auto& s = cfg.settings;
  ocsp_stapling_config c;
  c.mds = stapling_mds(cfg);
  if (s.staple_others) c.other_files = s.staple_other_files;
  if (c.mds.empty() && c.other_files.empty()) return {};
  c.st = opts.st;
  c.io_pool = a.io_pool;
  c.status = a.status;
  c.env = opts.env;
  c.transports = opts.ocsp_transports ? opts.ocsp_transports : default_ocsp_transports(s);
  c.renew_window = s.stapling_renew_window;
  c.keep_response = s.stapling_keep_response;
  c.retry = retry_policy{s.retry_delay, k_max_retry_delay, s.retry_failover};
  c.commands = event_commands{s.notify_cmd, s.message_cmd};
  c.command_timeout = s.command_timeout;
  c.run_command = opts.run_command;
  c.log = opts.log;
  c.live = s.live_activation && !opts.activate;
  if (opts.cluster) {
    // one server of the cluster fetches an MD's responses; the others take its copy
    std::weak_ptr<cluster_service> weak = opts.cluster;
    c.defer = [weak](const std::string& owner) {
      auto cl = weak.lock();
      return cl && !cl->leads(owner);
    };
  }
  return spawn_ocsp_stapling(sys, std::move(c));
}

domain_settings settings_for(const engine_settings& s) {
  domain_settings d;
  d.check_interval = s.check_interval;
  d.initial_delay = s.initial_delay;
  d.activation_delay = s.activation_delay;
  d.command_timeout = s.command_timeout;
  d.commands = event_commands{s.notify_cmd, s.message_cmd};
  return d;
}

} // namespace

caf::expected<engine_actors> spawn_engine_actors(caf::actor_system& sys, const engine_config& cfg,
                                                 supervisor_options opts) {
  const auto& s = cfg.settings;
  auto specs = make_md_specs(cfg);
  if (!specs) return make_error(engine_errc::bad_request, specs.error().message);
  supervisor_config sup;
  sup.max_restarts = opts.max_restarts;
  sup.restart_window = opts.restart_window;
  sup.env = opts.env;
  sup.log = opts.log;
  sup.error = opts.error;
  if (auto err = validate(sup)) return err;
  engine_actors a;
  a.io_pool = spawn_worker_pool(sys, {opts.io_jobs, opts.detached_pools});
  a.order_pool = spawn_worker_pool(
    sys, {static_cast<std::size_t>(std::max(1, s.orders_in_flight)), opts.detached_pools});
  ca_policy_config pc{retry_policy{s.retry_delay, k_max_retry_delay, s.retry_failover}, opts.env};
  if (auto err = validate(pc)) return err;
  a.policy = spawn_ca_policy(sys, pc);
  const sys_time started = std::chrono::time_point_cast<std::chrono::seconds>(opts.env.clock->now());
  status_config sc;
  sc.file = status_file_path(s);
  sc.socket_path = s.status_socket;
  sc.warn = opts.warn ? opts.warn : opts.log;
  sc.seed = std::move(opts.status_seed);
  sc.engine.restarts = opts.engine_restarts;
  sc.engine.started = started;
  sc.cert_check_name = s.cert_check_name;
  sc.cert_check_url = s.cert_check_url;
  sc.pool = a.io_pool;
  sc.env = opts.env;
  // live activation under Apache only: mdctl run activates in-process, nobody serves
  const bool live = s.live_activation && !opts.activate;
  if (live) sc.live_file = live_file_path(s);
  auto status = spawn_status(sys, sc);
  if (!status) return status.error();
  a.status = *status;

  if (!opts.challenges)
    opts.challenges = store_challenge_factory(s.dns01_cmd, s.dns01_version, s.command_timeout);
  const bool own_transports = static_cast<bool>(opts.transports);
  if (!own_transports) opts.transports = default_transports(s);
  if (!opts.backend) {
    store_backend_options bo;
    bo.challenges = opts.challenges;
    bo.clients = ari_clients(opts.transports, opts.env.clock, opts.max_bad_nonce_retries);
    bo.can_http = s.can_http;
    bo.can_https = s.can_https;
    bo.dns01_cmd = s.dns01_cmd;
    bo.order_accounts = opts.cluster != nullptr;
    if (live) {
      // the served sets' copies, in the engine's own directory (store/live.hpp)
      const std::string secret = secret_of(*opts.st);
      const std::string dir = live_store_dir(s.store_dir);
      if (!secret.empty() && fsio::make_dirs(dir, 0700))
        bo.live_copies = std::make_shared<fs_store>(fs_store::attach(dir, secret));
      else if (opts.log)
        opts.log("live activation: " + dir + " cannot be made; the workers load the staged sets from staging/");
    }
    opts.backend = make_store_backend(opts.st, bo);
  }

  a.stapling = spawn_stapling(sys, cfg, opts, a);
  std::set<std::string> stapled;
  for (const auto& md : stapling_mds(cfg)) stapled.insert(md.name);

  for (std::size_t n = 0; n < cfg.mds.size(); ++n) {
    const engine_md& em = cfg.mds[n];
    supervised_domain sd;
    domain_config& dc = sd.config;
    dc.md = em.md;
    dc.spec = (*specs)[n];
    dc.settings = settings_for(s);
    dc.backend = opts.backend;
    dc.io_pool = a.io_pool;
    dc.order_pool = a.order_pool;
    dc.policy = a.policy;
    dc.status = a.status;
    dc.env = opts.env;
    dc.activate = opts.activate;
    dc.live = live;
    dc.served_since = started;
    dc.observer = opts.observer;
    if ((opts.activate || live) && stapled.count(em.md.name)) dc.stapling = a.stapling;
    dc.log = opts.log;
    dc.cluster = opts.cluster;
    for (const auto& url : dc.spec.ca_urls) {
      auto key = account_key(em.md, url);
      if (!sup.accounts.count(key)) {
        auto transports = own_transports ? opts.transports : default_transports(s, &em.md);
        sup.accounts[key] =
          account_config{url, make_source(opts, transports, em.md, url), a.io_pool, opts.env};
      }
      sd.account_keys[url] = key;
    }
    sup.domains.push_back(std::move(sd));
  }
  sup.shared = {{"io pool", caf::actor_cast<caf::actor>(a.io_pool)},
                {"order pool", caf::actor_cast<caf::actor>(a.order_pool)},
                {"ca policy", caf::actor_cast<caf::actor>(a.policy)},
                {"status", caf::actor_cast<caf::actor>(a.status)}};
  if (a.stapling) sup.shared["ocsp stapling"] = caf::actor_cast<caf::actor>(a.stapling);
  sup.stapling = a.stapling;
  a.supervisor = spawn_supervisor(sys, std::move(sup));
  caf::anon_send(a.status, caf::put_atom_v, a.supervisor); // RENEW requests of the status socket
  return a;
}

void stop_engine_actors(const engine_actors& a) {
  auto reason = caf::exit_reason::user_shutdown;
  if (a.supervisor) caf::anon_send_exit(a.supervisor, reason); // it ends the accounts, domains
  if (a.stapling) caf::anon_send_exit(a.stapling, reason); // its responders are linked
  if (a.status) caf::anon_send_exit(a.status, reason);
  if (a.policy) caf::anon_send_exit(a.policy, reason);
  if (a.order_pool) caf::anon_send_exit(a.order_pool, reason);
  if (a.io_pool) caf::anon_send_exit(a.io_pool, reason);
}

} // namespace mda
