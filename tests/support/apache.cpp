#include "tests/support/apache.hpp"

#include <csignal>

#include <sys/stat.h>
#include <unistd.h>

namespace mda::test {

namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }
bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

} // namespace

private_apache::private_apache() : conf(dir / "httpd.conf") {
  ::chmod(dir.path().c_str(), 0755);
  ::mkdir((dir / "htdocs").c_str(), 0755);
  write_file(dir / "htdocs/index.html", "hello\n");
}

private_apache::~private_apache() { stop(); }

std::string private_apache::base_conf(const std::string& mpm) const {
  const std::string& m = k_apache_modules;
  return "ServerRoot " + dir.path() + "\n"
         "PidFile " + dir.path() + "/httpd.pid\n"
         "ErrorLog " + dir.path() + "/error.log\n"
         "DefaultRuntimeDir " + dir.path() + "\n"
         "LogLevel notice md:debug\n"
         "User www-data\n"
         "Group www-data\n"
         "ServerName localhost\n"
         "DocumentRoot " + dir.path() + "/htdocs\n"
         "LoadModule mpm_" + mpm + "_module " + m + "/mod_mpm_" + mpm + ".so\n"
         "LoadModule authz_core_module " + m + "/mod_authz_core.so\n"
         "LoadModule socache_shmcb_module " + m + "/mod_socache_shmcb.so\n"
         "LoadModule ssl_module " + m + "/mod_ssl.so\n";
}

std::string private_apache::log() const {
  const std::string file = dir / "error.log";
  return exists(file) ? read_file(file) : std::string();
}

std::string private_apache::store(const std::string& rel) const { return dir / ("md/" + rel); }

int private_apache::pid() const {
  const std::string file = dir / "httpd.pid";
  if (!exists(file)) return 0;
  try {
    return std::stoi(read_file(file));
  } catch (...) {
    return 0;
  }
}

int private_apache::generations() const {
  const std::string text = log();
  const std::string mark = "resuming normal operations";
  int n = 0;
  for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark, at + 1)) ++n;
  return n;
}

bool private_apache::wait_generations(int n) const {
  for (int i = 0; i < 300; ++i) {
    if (generations() >= n && pid() > 0) return true;
    ::usleep(50'000);
  }
  return false;
}

run_result private_apache::apachectl(const std::string& what) const {
  return run({"apache2", "-d", dir.path(), "-f", conf, "-k", what});
}

bool private_apache::start() {
  reap();
  if (child_ > 0) return false; // still running
  const int before = generations();
  child_ = spawn_child({"apache2", "-d", dir.path(), "-f", conf, "-DFOREGROUND"}, dir / "stderr.log");
  for (int i = 0; i < 300; ++i) {
    if (generations() > before && pid() > 0) return true;
    reap();
    if (child_ < 0) return false; // it ended: a configuration error
    ::usleep(50'000);
  }
  return false;
}

void private_apache::reap() { child_ended(child_); }

void private_apache::kill_all() {
  if (child_ <= 0) return;
  ::kill(-child_, SIGKILL);
  stop_child(child_, std::chrono::seconds(5));
}

bool private_apache::graceful(const std::string& what) {
  const int before = generations();
  return apachectl(what).exit_code == 0 && wait_generations(before + 1);
}

void private_apache::stop() {
  if (child_ > 0) {
    stop_child(child_, std::chrono::seconds(10));
    return;
  }
  const int p = pid(); // started otherwise (apachectl("start"))
  if (!alive(p)) return;
  ::kill(p, SIGTERM);
  for (int i = 0; i < 200 && alive(p); ++i) ::usleep(50'000);
}

std::string private_apache::https_status(const std::string& host, int port, const std::string& path) const {
  const std::string hp = host + ":" + std::to_string(port);
  return run({"curl", "-k", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--resolve",
              hp + ":127.0.0.1", "https://" + hp + path})
      .output;
}

} // namespace mda::test
