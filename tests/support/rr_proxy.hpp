// A round-robin TCP proxy on 127.0.0.1 for tests: each connection goes to the next of its
// backends (skipping one that refuses), bytes relayed both ways until either side closes. Put
// in front of several Apaches as pebble's validation port, so that the CA's validation reaches
// another server than the one that ordered.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mda::test {

class rr_proxy {
 public:
  /// Listens on `port` (0 = a free one) and forwards to 127.0.0.1:<backends[i]>.
  rr_proxy(std::vector<int> backends, int port = 0);
  ~rr_proxy();
  rr_proxy(const rr_proxy&) = delete;
  rr_proxy& operator=(const rr_proxy&) = delete;

  int port() const { return port_; }
  /// Connections handed to backends[i] so far.
  std::vector<int> counts() const;

 private:
  void accept_loop();
  void relay(int client);

  std::vector<int> backends_;
  int port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<unsigned> next_{0};
  mutable std::mutex mu_;
  std::vector<int> counts_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

} // namespace mda::test
