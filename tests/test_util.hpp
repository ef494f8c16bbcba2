// Helpers shared by the tests: temporary directories, files, and running commands such as the
// `openssl` command line for interoperability checks. Everything is written under a fresh
// directory in $TMPDIR (default /tmp) and removed afterwards.
#pragma once

#include <string>
#include <vector>

namespace mda::test {

/// A fresh directory, removed with its contents when the object goes.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
/// Whether anything (file, directory, socket) is at `path`.
bool path_exists(const std::string& path);
void write_file(const std::string& path, const std::string& content);
/// A stream socket connected to the unix-domain socket at `path`; -1 when that fails.
int connect_unix(const std::string& path);
/// A TCP socket connected to 127.0.0.1:`port`, receives timing out after `timeout_seconds`;
/// -1 when that fails (errno says why).
int connect_loopback(int port, int timeout_seconds);

struct run_result {
  int exit_code = -1;
  std::string output; ///< stdout and stderr together
};

/// Runs argv[0] with its arguments (no shell), optional stdin text; waits for it.
run_result run(const std::vector<std::string>& argv, const std::string& input = "");

/// A TCP socket listening on 127.0.0.1 at a port the kernel chose.
struct loopback_listener {
  int fd = -1;
  int port = 0;
};
/// Throws std::runtime_error when no socket could be made.
loopback_listener listen_loopback(int backlog);

} // namespace mda::test
