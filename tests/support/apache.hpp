// A private Apache for end-to-end tests: its own ServerRoot in a temp dir (world-readable so
// the www-data workers reach htdocs/index.html), PidFile, ErrorLog and DefaultRuntimeDir in
// it, started with `apache2 -d <root> -f <conf>` and stopped by PID when the object goes.
// Test suites add their Listen lines, vhosts and module directives after base_conf().
// Not here: what a suite configures, its requests and checks.
#pragma once

#include <string>

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

  /// `-k start`, then waits for the first generation.
  bool start();
  /// `-k graceful` (or `what`, e.g. "restart"), then waits for the next generation.
  bool graceful(const std::string& what = "graceful");
  /// SIGTERM to the parent, then waits (10 s at most) until it is gone.
  void stop();

  /// The HTTP status of `path` on https://<host>:<port> (TLS not verified), as curl prints it.
  std::string https_status(const std::string& host, int port, const std::string& path = "/index.html") const;

  temp_dir dir;
  std::string conf; ///< <root>/httpd.conf
};

} // namespace mda::test
