#include "actors/cluster_setup.hpp"

#include "cluster/etcd_store.hpp"
#include "cluster/lazy_store.hpp"
#include "cluster/mirror_store.hpp"
#include "store/engine_store.hpp"
#include "store/fs_store.hpp"

namespace mda {

std::string secret_of(const store& st) {
  if (const auto* e = dynamic_cast<const engine_store*>(&st)) return e->secret();
  if (const auto* f = dynamic_cast<const fs_store*>(&st)) return f->secret();
  if (const auto* m = dynamic_cast<const mirror_store*>(&st)) return secret_of(m->local());
  return {};
}

expected<engine_cluster> setup_cluster(const engine_config& cfg, std::shared_ptr<store> local,
                                       const std::string& secret, engine_log log) {
  const auto& cc = cfg.settings.cluster;
  etcd::client_options co;
  co.endpoints = cc.endpoints;
  co.ca_file = cc.ca_file;
  co.cert_file = cc.cert_file;
  co.key_file = cc.key_file;
  auto client = etcd::client::make(co);
  if (!client) return client.error().prefixed("MDStoreEtcd");
  if (secret.empty())
    return error(store_errc::invalid, "MDStoreEtcd: the store secret is not known to the engine");
  auto c = *client;
  const std::string prefix = cc.prefix;
  auto shared = std::make_shared<lazy_store>([c, prefix, secret]() -> expected<std::shared_ptr<store>> {
    auto st = etcd_store::open(c, prefix, secret);
    if (!st) return st.error();
    return std::shared_ptr<store>(std::make_shared<etcd_store>(std::move(*st)));
  });
  engine_cluster out;
  out.notify = std::make_shared<md_notifier>();
  cluster_options so;
  so.config = cc;
  so.node = cluster_node_name(cc);
  for (const auto& em : cfg.mds) so.mds.push_back(em.md.name);
  so.shared = shared;
  so.local = local;
  so.on_change = [n = out.notify](const std::string& md) { (*n)(md); };
  // md-status's "etcd" of every MD follows the state: each domain actor publishes again
  so.on_reachability = [n = out.notify] { (*n)(""); };
  so.log = log;
  out.service = std::make_shared<cluster_service>(c, std::move(so));
  std::weak_ptr<cluster_service> weak = out.service;
  out.st = std::make_shared<mirror_store>(
    local, shared,
    [weak](store_group g, const std::string& name) {
      auto s = weak.lock();
      return s && s->publishes(g, name);
    },
    [weak](const std::string& what) {
      if (auto s = weak.lock()) s->note_failure(what);
    });
  // a secret that differs from the cluster's is a configuration error, not an outage
  if (auto opened = shared->get(); !opened) {
    if (opened.error().code == make_error_code(store_errc::refused)) return opened.error();
    log("cluster: etcd not usable yet (" + opened.error().message +
        "): serving what this server has, renewals wait");
  }
  if (auto st = out.service->start(); !st) log("cluster: joining failed: " + st.error().message);
  auto copied = out.service->pull_staged();
  for (const auto& md : copied) log("cluster: staged set of " + md + " copied from the cluster");
  if (auto n = out.service->pull_ocsp(); n > 0)
    log("cluster: " + std::to_string(n) + " OCSP response(s) copied from the cluster");
  log("cluster: node " + out.service->node() + " of " + std::to_string(cc.endpoints.size()) +
      " etcd endpoint(s), prefix " + prefix);
  return out;
}

} // namespace mda
