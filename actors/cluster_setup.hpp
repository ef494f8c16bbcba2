// The engine's part in a cluster (MDStoreEtcd, docs/cluster.md), put together before the actors
// start: the etcd client, the shared store (etcd_store, opened lazily: etcd may be down while
// the engine starts), the cluster service (lease, owners, watch), and the store the engine
// uses (mirror_store: its own store, with the shared writes published).
// - A configuration that cannot work (an endpoint that does not parse, an unreadable TLS file,
//   no store secret) is an error: the engine does not start, the log says why.
// - etcd unreachable is not: the engine starts, md-status says so, renewals wait.
// - The staged sets the cluster holds for this server's MDs are copied in before the domain
//   actors' first check (when etcd answers).
// Not here: the actors (the domain actor asks the service, actors/domain.cpp).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "actors/domain.hpp"
#include "cluster/cluster_service.hpp"
#include "core/engine_config.hpp"
#include "store/store.hpp"

namespace mda {

/// Where the service's "look at this MD again" goes once the actors run (set after spawning;
/// calls before that are dropped: the first check reads everything anyway).
class md_notifier {
 public:
  void set(std::function<void(const std::string&)> fn) {
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = std::move(fn);
  }
  void operator()(const std::string& md) const {
    std::function<void(const std::string&)> fn;
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn = fn_;
    }
    if (fn) fn(md);
  }

 private:
  mutable std::mutex mu_;
  std::function<void(const std::string&)> fn_;
};

struct engine_cluster {
  std::shared_ptr<cluster_service> service;
  std::shared_ptr<store> st; ///< what the engine reads and writes
  std::shared_ptr<md_notifier> notify;
};

/// `local`: the engine's own store; `secret`: the store secret (md_store.json's key).
expected<engine_cluster> setup_cluster(const engine_config& cfg, std::shared_ptr<store> local,
                                       const std::string& secret, engine_log log);

/// The store secret of the store the engine was given (fs_store or engine_store); "" = none.
std::string secret_of(const store& st);

} // namespace mda
