// A private Apache for end-to-end tests: its own ServerRoot in a temp dir (world-readable so
// the www-data workers reach htdocs/index.html), PidFile, ErrorLog and DefaultRuntimeDir in
// it, run in the foreground as a child of the test process (`apache2 -d <root> -f <conf>
// -DFOREGROUND`, child_process.hpp: output in <root>/stderr.log) and stopped by PID when the
// object goes: a test binary that ctest ends for its timeout takes its Apaches along (ctest
// ends the whole process tree; a daemonized Apache is not in it and was left running).
// Test suites add their Listen lines, vhosts and module directives after base_conf().
// Not here: what a suite configures, its requests and checks.
#pragma once

#include <string>

#include <sys/types.h>

#include "tests/support/child_process.hpp"
#include "tests/test_util.hpp"

namespace mda::test {

/// Where Debian's apache2 package keeps its modules.
inline const std::string k_apache_modules = "/usr/lib/apache2/modules";

class private_apache {
 public:
  private_apache();
  virtual ~private_apache();
  private_apache(const private_apache&) = delete;
  private_apache& operator=(const private_apache&) = delete;

  /// The first lines of every test configuration: paths, LogLevel notice md:debug, User and
  /// Group www-data, ServerName localhost, DocumentRoot, the MPM (`mpm`: "event", "prefork")
  /// and mod_authz_core, mod_socache_shmcb, mod_ssl loaded. No Listen, no mod_md.
  std::string base_conf(const std::string& mpm = "event") const;

  std::string log() const;                              ///< error.log, "" before it exists
  std::string store(const std::string& rel) const;      ///< <root>/md/<rel>
  int pid() const;                                      ///< from httpd.pid, 0 when none
  /// Times a generation started ("resuming normal operations": AH00489 event, AH00163 prefork).
  int generations() const;
  bool wait_generations(int n) const;                   ///< up to 15 s
  run_result apachectl(const std::string& what) const;  ///< apache2 -d -f -k <what>

  /// Starts the server in the foreground, then waits for its first generation; false when it
  /// ends instead (stderr.log and error.log say why).
  bool start();
  /// `-k graceful` (or `what`, e.g. "restart"), then waits for the next generation.
  bool graceful(const std::string& what = "graceful");
  /// SIGTERM to the parent, then waits (10 s at most) until it is gone.
  void stop();
  /// Reaps the server's process if it has ended (e.g. after `apachectl("stop")`).
  void reap();
  /// SIGKILL to the server's whole process group (parent, children, the engine): a machine
  /// that died, nothing cleaned up. Reaps the parent.
  void kill_all();

  /// The HTTP status of `path` on https://<host>:<port> (TLS not verified), as curl prints it.
  std::string https_status(const std::string& host, int port, const std::string& path = "/index.html") const;

  temp_dir dir;
  std::string conf; ///< <root>/httpd.conf

 private:
  pid_t child_ = -1; ///< the foreground server this object started
};

} // namespace mda::test
