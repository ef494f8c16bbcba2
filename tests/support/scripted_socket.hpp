// A stand-in for the engine's status socket in tests: listens on a unix-domain socket path,
// answers exactly one connection with a fixed text after reading its request line, closes,
// and removes the socket file when it goes. For answers the real listener never gives
// (broken off, malformed framing). Not here: several connections, checking the request.
#pragma once

#include <string>
#include <thread>

namespace mda::test {

class scripted_socket {
 public:
  /// Binds `path` (mode 0666, so Apache's workers may connect) and serves from a thread.
  scripted_socket(const std::string& path, std::string answer);
  ~scripted_socket();
  scripted_socket(const scripted_socket&) = delete;
  scripted_socket& operator=(const scripted_socket&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
};

} // namespace mda::test
