// A worker's way to the cluster's challenges (MDStoreEtcd, docs/cluster.md): the CA validates
// through whichever server the load balancer picks, and the server that ordered published the
// challenge in etcd before telling the CA. A worker that finds no challenge in its own store
// asks etcd (a linearizable read, so it sees what was published), with a short timeout.
// - One shared store per child process, opened on first use with the store secret the parent
//   left in the child (tls-alpn-01 keys are encrypted in etcd).
// - Not in a cluster, or etcd unreachable: null / an error, and the request is answered as
//   without a cluster (404 or declined).
// Not here: the request and handshake hooks (request_hooks.cpp).
#pragma once

#include <memory>

#include "store/store.hpp"

namespace mda::httpd {

struct module_state;

/// The cluster's shared store for this child, or null when the server is not in a cluster.
std::shared_ptr<store> cluster_challenge_store(const module_state& st);

} // namespace mda::httpd
