// An etcd cluster for tests (Debian's etcd-server 3.4): 1..n members on 127.0.0.1 with free
// ports, each its own data directory under a temporary directory, started as children of the
// test (child_process.hpp) and stopped by PID. A member can be stopped, killed and started again
// with its data (the cluster's state is "existing" then).
// Not here: what the tests store (cluster/etcd_client.hpp).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

#include "tests/test_util.hpp"

namespace mda::test {

/// "" when etcd is on PATH; otherwise what to install.
std::string etcd_missing();

/// Client TLS for the members: a test CA, a server certificate for 127.0.0.1 and a client
/// certificate (clientAuth) the members require (--client-cert-auth).
struct etcd_tls {
  std::string ca, client_cert, client_key; ///< files in the fixture's directory
};

class etcd_fixture {
 public:
  /// Starts `members` members and waits until the cluster answers (a put through each).
  /// tls: the members serve https and require a client certificate (see tls()).
  explicit etcd_fixture(int members = 1, bool tls = false);
  const etcd_tls& tls() const { return tls_; }
  ~etcd_fixture();
  etcd_fixture(const etcd_fixture&) = delete;
  etcd_fixture& operator=(const etcd_fixture&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  /// "http://127.0.0.1:P" of member i.
  std::string endpoint(int i) const;
  /// Every member's endpoint.
  std::vector<std::string> endpoints() const;
  /// Joined by ',' (MDStoreEtcd's form).
  std::string endpoint_list() const;

  /// SIGTERM (stop) or SIGKILL (kill) member i and reap it.
  void stop(int i);
  void kill(int i);
  /// Starts a stopped member again with its data; once a majority runs, waits until every
  /// running member answers.
  void start(int i);
  bool running(int i) const;

  const std::string& dir() const { return tmp_.path(); }
  std::string log(int i) const;

 private:
  struct member_info {
    std::string name;
    int client_port = 0, peer_port = 0;
    pid_t pid = -1;
    bool started_once = false;
  };
  void spawn(int i);
  bool health(int i) const;
  bool listens(int i) const;
  std::string get(int i, const std::string& path) const; ///< curl's body, "" on failure
  void wait_ready(int i, std::chrono::seconds limit);

  temp_dir tmp_;
  std::vector<member_info> members_;
  bool use_tls_ = false;
  etcd_tls tls_;
  std::string server_cert_, server_key_;
};

} // namespace mda::test
