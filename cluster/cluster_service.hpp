// One server's membership in an mdactor cluster (docs/cluster.md): its lease, which MD it
// renews, and what the other servers did, over etcd (etcd_client.hpp).
//
// Keys under the configured prefix P:
//   P/cluster/nodes/<node>    {"node", "since", "lease", "ttl"} under the node's lease: who is up
//   P/cluster/owners/<md>     "<node>" under the owner's lease: who renews the MD
//   P/store/<group>/<name>/<aspect>   the shared store (etcd_store.hpp)
//
// - join(): grants a lease of `lease_seconds`, writes the node key with it (an existing key of
//   the same node name that is not ours is an error: two servers with one name), reads the
//   nodes and owners, and starts two threads: the keep-alive (every third of the TTL; when the
//   lease is gone the node joins again under a new one and its MDs are no longer its own) and
//   the watch of P/ (nodes, owners, staging/ of the store).
// - acquire(md): the MD is renewed here when this node holds P/cluster/owners/<md>, or when it is
//   free and this node comes first of the live nodes in the MD's rendezvous order (so the MDs
//   spread over the nodes), or when it has been free for longer than two lease TTLs (the first
//   node in the order does not take it); for two lease TTLs after joining a node takes no free
//   MD (servers started together all join before the work is shared out). Taking is one
//   transaction (create if absent), so two nodes never both hold an MD. Blocking: call it on a
//   worker thread.
// - The watch applies the owners' staging/<md> files to the local store for every MD this node
//   does not own (so that a node that takes an MD over resumes the job and the order of the
//   node before it, and every node serves a renewed set), then calls `on_change(md)`: when the
//   staged set is complete (its md.json, written last, arrived), or when the MD's owner went away.
// - Unreachable etcd: calls fail with etcd's error, state() says so with the reason, nothing
//   local is touched; the threads go on trying and the state turns back when etcd answers.
// - is_owner() and state() read a copy under a mutex: cheap, from any thread.
// Not here: the store itself (etcd_store.hpp), what a domain actor does with an answer (actors/).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_client.hpp"
#include "core/cluster_config.hpp"
#include "core/error.hpp"
#include "status/snapshot.hpp"
#include "store/store.hpp"

namespace mda {

/// The node names in the order they are asked to renew `md` (highest rendezvous hash first).
std::vector<std::string> rendezvous_order(const std::string& md, std::vector<std::string> nodes);

/// Whether an aspect of staging/accounts holds a private key (loaded with load_key).
bool is_key_aspect(const std::string& aspect);

struct cluster_grant {
  bool granted = false;
  std::string owner; ///< who renews it ("" = nobody yet)
  std::string why;   ///< when not granted: for the log and md-status
  /// When not granted: how long until asking again is worth it (the service also says when
  /// the owner goes or its set arrives).
  std::chrono::milliseconds retry_in{0};
};

/// What md-status shows of the cluster.
struct cluster_state {
  std::string node;
  bool reachable = false;
  std::string problem;                  ///< why not reachable ("" when it is)
  std::chrono::system_clock::time_point lease_expires{}; ///< this node's, as last renewed
  struct node_info {
    std::string name;
    std::chrono::system_clock::time_point since{};
    std::int64_t lease = 0;
    std::chrono::system_clock::time_point lease_expires{}; ///< as last asked; epoch = unknown
  };
  std::vector<node_info> nodes;         ///< the live nodes, by name
  std::map<std::string, std::string> owners; ///< md -> node
};

struct cluster_options {
  cluster_config config;
  std::string node;                     ///< resolved name (cluster_node_name)
  std::vector<std::string> mds;         ///< the MDs this server manages
  /// The shared store (etcd_store over the same client) and this server's own (the engine's).
  std::shared_ptr<store> shared;
  std::shared_ptr<store> local;
  std::function<void(const std::string& md)> on_change;
  /// etcd became reachable or unreachable (md-status shows it for every MD).
  std::function<void()> on_reachability;
  std::function<void(const std::string& line)> log;
};

using steady = std::chrono::steady_clock;

class cluster_service {
 public:
  cluster_service(std::shared_ptr<etcd::client> client, cluster_options opts);
  ~cluster_service(); ///< stops the threads and revokes the lease (the MDs free at once)
  cluster_service(const cluster_service&) = delete;
  cluster_service& operator=(const cluster_service&) = delete;

  /// Joins and starts the threads. When etcd cannot be reached the threads start anyway and
  /// keep trying; the error is returned for the log.
  status start();
  void stop();

  cluster_grant acquire(const std::string& md);
  bool is_owner(const std::string& md) const;
  /// Whether this server fetches the MD's OCSP responses for the cluster: it renews the MD, or
  /// nobody does and it comes first of the live servers in the MD's rendezvous order, or etcd
  /// cannot be reached (then each server keeps its own fresh). True for an MD not managed here.
  bool leads(const std::string& md) const;
  /// Whether a write of this server to the shared store should go there: staging/<md> of the
  /// MDs it owns, ocsp/<md> of those it leads, every challenge. Not accounts: those are
  /// shared under the cluster's account lock (with_cluster_accounts), never by a plain write.
  bool publishes(store_group g, const std::string& name) const;
  cluster_state state() const;
  /// md-status's "cluster" of one MD (cheap: no copy of the whole view).
  md_cluster_view view_of(const std::string& md) const;
  const std::string& node() const { return opts_.node; }
  int lease_seconds() const { return opts_.config.lease_seconds; }

  /// Copies staging/<md> of the shared store into the local one when it is newer than what
  /// the server serves (its pubcert files differ from domains/<md>'s); at start, before the
  /// domain actors check. The MDs copied.
  std::vector<std::string> pull_staged();
  /// Copies the OCSP responses the cluster holds for this server's MDs (ocsp/<md>/ocsp-*.json)
  /// that are newer than the local ones; at start, before the responders read the store, so a
  /// server joining a running cluster staples what was fetched and does not ask again. The
  /// number of files copied.
  std::size_t pull_ocsp();

  /// Accounts, one set for the cluster (docs/cluster.md, "Accounts"): run `select` (the
  /// engine's reuse-or-register on the local store) under the cluster's account lock
  /// (P/cluster/locks/accounts, create-if-absent under this server's lease, waited for up to
  /// `wait`), after copying the cluster's accounts/ into the local store, and publish the
  /// account it chose when the cluster does not hold it yet. A local account filed under an
  /// id the cluster uses for another key moves to a free id first (nothing is lost). Without
  /// etcd or a lease: an error, the selection does not run (renewals wait for etcd anyway).
  expected<std::string> with_cluster_accounts(const std::function<expected<std::string>()>& select,
                                              std::chrono::milliseconds wait);

  /// An etcd call failed / succeeded: the reachable state (for the mirror's writes too).
  void note_failure(const std::string& what);
  void note_success();

 private:
  status join();
  void keep_alive_loop();
  void on_events(const std::vector<etcd::watch_event>& events);
  /// Reads nodes and owners; the revision read at (0 = failed).
  std::int64_t refresh_view();
  void refresh_lease_expiry();
  /// Copies one file of the shared store into the local one (or removes it there).
  void apply_file(store_group g, const std::string& md, const std::string& aspect, bool deleted);
  /// The cluster's accounts into the local store (see with_cluster_accounts).
  status pull_accounts();
  /// accounts/<id> of the local store into the cluster's, unless it holds that id already.
  status publish_account(const std::string& id);
  std::string key(const std::string& rest) const { return opts_.config.prefix + rest; }

  std::shared_ptr<etcd::client> client_;
  cluster_options opts_;
  std::set<std::string> mine_; ///< the MDs this server manages (opts_.mds)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::int64_t lease_ = 0;
  cluster_state state_;
  std::map<std::string, std::int64_t> owner_lease_; ///< md -> lease of its owner key
  std::map<std::string, std::chrono::steady_clock::time_point> free_since_;
  std::int64_t joined_revision_ = 0;
  steady::time_point joined_at_{};
  std::thread keeper_;
  std::unique_ptr<etcd::watch> watch_;
};

} // namespace mda
