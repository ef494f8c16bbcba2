// MDStoreEtcd (an mdactor extension, server-wide): the etcd cluster several Apache servers share
// their managed domains through (docs/cluster.md).
//
//   MDStoreEtcd ENDPOINT[,ENDPOINT...] [prefix=/P] [ca=FILE] [cert=FILE key=FILE]
//               [node=NAME] [lease=SECONDS]
//
// - ENDPOINT: http://host:port or https://host:port (IPv6 in brackets), one per member, separated
//   by commas (several arguments are joined the same way).
// - prefix: where the cluster's keys live ("/mdactor" by default); must start with '/', no
//   trailing '/', no white space. Clusters sharing one etcd use different prefixes.
// - ca: the PEM bundle the members' certificates are checked against (https endpoints); cert
//   and key: the client certificate etcd asks for (both or neither).
// - node: this server's name in the cluster (default: the host name); unique per server.
// - lease: seconds a node's lease lives without a keep-alive (default 10, 2..300): how soon the
//   others take over the domains of a node that died.
// Errors name the argument: "MDStoreEtcd: unknown parameter 'foo=1'", "... 'ftp://x' must start
// with http:// or https://", "... lease '1' is not 2..300".
// Not here: talking to etcd (cluster/), the directive's scope check (httpd/).
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"

namespace mda {

struct cluster_config {
  std::vector<std::string> endpoints; ///< empty: no cluster, the file store alone
  std::string prefix = "/mdactor";
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string node;     ///< "" = the host name (resolved by the engine)
  int lease_seconds = 10;

  bool enabled() const { return !endpoints.empty(); }
  bool operator==(const cluster_config& o) const {
    return endpoints == o.endpoints && prefix == o.prefix && ca_file == o.ca_file &&
           cert_file == o.cert_file && key_file == o.key_file && node == o.node &&
           lease_seconds == o.lease_seconds;
  }
};

/// Parses MDStoreEtcd's arguments (see above). Relative file names are kept as given (the
/// module resolves them against ServerRoot).
expected<cluster_config> parse_store_etcd(const std::vector<std::string>& args);

/// The node name to use: cfg.node, else the host name (gethostname), else "node".
std::string cluster_node_name(const cluster_config& cfg);

} // namespace mda
