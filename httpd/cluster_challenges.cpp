#include "httpd/cluster_challenges.hpp"

#include <mutex>

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_store.hpp"
#include "cluster/lazy_store.hpp"
#include "httpd/module.hpp"

namespace mda::httpd {

std::shared_ptr<store> cluster_challenge_store(const module_state& st) {
  const auto& cc = st.linked.config.settings.cluster;
  if (!cc.enabled() || !st.store) return nullptr;
  static std::mutex mu;
  static std::shared_ptr<store> shared;
  static std::string made_for;
  std::string id = cc.prefix;
  for (const auto& e : cc.endpoints) id += " " + e;
  std::lock_guard<std::mutex> lk(mu);
  if (shared && made_for == id) return shared;
  etcd::client_options co;
  co.endpoints = cc.endpoints;
  co.ca_file = cc.ca_file;
  co.cert_file = cc.cert_file;
  co.key_file = cc.key_file;
  co.timeout = std::chrono::seconds(2); // the CA waits for the answer
  auto client = etcd::client::make(co);
  if (!client) return nullptr;
  auto c = *client;
  auto prefix = cc.prefix;
  auto secret = st.store->secret();
  shared = std::make_shared<lazy_store>([c, prefix, secret]() -> expected<std::shared_ptr<store>> {
    etcd_store_options o;
    o.create = false; // the engine creates the cluster's md_store.json, not a worker
    auto es = etcd_store::open(c, prefix, secret, o);
    if (!es) return es.error();
    return std::shared_ptr<store>(std::make_shared<etcd_store>(std::move(*es)));
  });
  made_for = id;
  return shared;
}

} // namespace mda::httpd
