#include "tests/support/pebble.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <random>
#include <set>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/http_client.hpp"
#include "tests/support/child_process.hpp"

namespace mda::test {

namespace {

/// Binds 127.0.0.1:port (0 = any) with the given socket type; returns the port or -1.
int bind_port(int type, int port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof a;
  int result = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    result = ntohs(a.sin_port);
  ::close(fd);
  return result;
}

/// Reaps pid if it has exited (then pid becomes -1, so nobody signals a reused PID).
bool reap_if_exited(pid_t& pid) {
  if (pid <= 0 || ::waitpid(pid, nullptr, WNOHANG) != pid) return false;
  pid = -1;
  return true;
}

void run_checked(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (r.exit_code != 0) throw std::runtime_error(argv[0] + " " + argv[1] + " failed: " + r.output);
}

std::shared_ptr<acme::httplib_transport> client(const std::string& ca_file) {
  acme::http_options o;
  o.ca_file = ca_file;
  o.connect_timeout = std::chrono::seconds(2);
  o.read_timeout = std::chrono::seconds(5);
  auto t = acme::httplib_transport::create(o);
  if (!t) throw std::runtime_error(t.error().message);
  return *t;
}

} // namespace

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = std::min(p.find(':', start), p.size());
    std::string candidate = p.substr(start, end - start) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

namespace {

/// The lowest port the kernel hands out for outgoing connections (ip_local_port_range).
int ephemeral_low() {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  if (f >> low >> high && low > 11000) return low;
  return 32768;
}

} // namespace

int free_port() {
  // Below the ephemeral range: a port the kernel gave out as a free one (bind to port 0) is
  // also what it gives the next outgoing connection, and a server of a test binding it a
  // moment later then finds it taken (seen under ctest -j2). Random per process, never the
  // same one twice in a process.
  static std::mutex mu;
  static std::set<int> handed;
  static std::mt19937 rng(static_cast<unsigned>(::getpid()) * 2654435761u ^
                          static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::lock_guard<std::mutex> lock(mu);
  static const int high = ephemeral_low() - 1;
  std::uniform_int_distribution<int> pick(10000, high);
  for (int i = 0; i < 500; ++i) {
    const int p = pick(rng);
    if (handed.count(p) || bind_port(SOCK_STREAM, p) != p) continue;
    handed.insert(p);
    return p;
  }
  int p = bind_port(SOCK_STREAM, 0);
  if (p <= 0) throw std::runtime_error("cannot find a free port on 127.0.0.1");
  return p;
}

int free_tcp_udp_port() {
  for (int i = 0; i < 50; ++i) {
    int p = free_port();
    if (bind_port(SOCK_DGRAM, p) == p) return p;
  }
  throw std::runtime_error("cannot find a port free for TCP and UDP on 127.0.0.1");
}

void make_localhost_tls(const std::string& dir) {
  const std::string ca_key = dir + "/ca.key", leaf_csr = dir + "/leaf.csr";
  run_checked({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out", dir + "/ca.pem",
               "-days", "2", "-subj", "/CN=mdactor test CA", "-addext",
               "basicConstraints=critical,CA:TRUE", "-addext",
               "keyUsage=critical,keyCertSign,cRLSign"});
  run_checked({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", dir + "/leaf.key", "-out", leaf_csr, "-subj", "/CN=localhost"});
  write_file(dir + "/leaf.ext",
             "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
             "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=serverAuth\n");
  run_checked({"openssl", "x509", "-req", "-in", leaf_csr, "-CA", dir + "/ca.pem", "-CAkey",
               ca_key, "-set_serial", "2", "-days", "2", "-extfile", dir + "/leaf.ext", "-out",
               dir + "/leaf.pem"});
}

pebble_options pebble_answering(int http_port, int tls_port) {
  pebble_options po;
  po.http_port = http_port;
  po.tls_port = tls_port;
  return po;
}

std::string pebble_missing() {
  std::string missing;
  for (const char* prog : {"pebble", "pebble-challtestsrv"})
    if (!on_path(prog)) missing += std::string(missing.empty() ? "" : " and ") + prog;
  if (missing.empty()) return "";
  return missing + " not found on PATH: install the Debian package 'pebble' "
                   "(apt-get install pebble), which provides pebble and pebble-challtestsrv";
}

pebble_fixture::pebble_fixture(pebble_options opts) : opts_(std::move(opts)) {
  if (auto m = pebble_missing(); !m.empty()) throw std::runtime_error(m);
  make_localhost_tls(tmp_.path());
  ca_file_ = tmp_ / "ca.pem";
  std::string why;
  // Ports are probed, not reserved: another process may grab one in between, so retry.
  try {
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (start_once(why)) return;
      stop_all();
    }
  } catch (...) {
    stop_all();
    throw;
  }
  throw std::runtime_error("pebble did not come up: " + why);
}

pebble_fixture::~pebble_fixture() { stop_all(); }

void pebble_fixture::stop_all() {
  stop_child(pebble_pid_, std::chrono::seconds(3));
  stop_child(cts_pid_, std::chrono::seconds(3));
}

bool pebble_fixture::start_once(std::string& why) {
  acme_port_ = free_port();
  mgmt_port_ = free_port();
  cts_port_ = free_port();
  dns_port_ = free_tcp_udp_port();
  if (opts_.http_port == 0) opts_.http_port = free_port();
  if (opts_.tls_port == 0) opts_.tls_port = free_port();
  const std::string lo = "127.0.0.1:";

  nlohmann::ordered_json cfg;
  auto& p = cfg["pebble"];
  p["listenAddress"] = lo + std::to_string(acme_port_);
  p["managementListenAddress"] = lo + std::to_string(mgmt_port_);
  p["certificate"] = tmp_ / "leaf.pem";
  p["privateKey"] = tmp_ / "leaf.key";
  p["httpPort"] = opts_.http_port;
  p["tlsPort"] = opts_.tls_port;
  p["ocspResponderURL"] = "";
  p["externalAccountBindingRequired"] = opts_.eab_required;
  if (!opts_.eab_keys.empty()) p["externalAccountMACKeys"] = opts_.eab_keys;
  write_file(tmp_ / "pebble-config.json", cfg.dump(2));

  cts_pid_ = spawn_child({"pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                          "-http01", "", "-https01", "", "-tlsalpn01", "", "-dns01",
                          lo + std::to_string(dns_port_), "-management", lo + std::to_string(cts_port_)},
                         tmp_ / "challtestsrv.log");
  std::vector<std::string> env = {opts_.va_sleep ? "PEBBLE_VA_SLEEPTIME=" + std::to_string(*opts_.va_sleep)
                                                 : std::string("PEBBLE_VA_NOSLEEP=1")};
  if (opts_.nonce_reject)
    env.push_back("PEBBLE_WFE_NONCEREJECT=" + std::to_string(*opts_.nonce_reject));
  if (opts_.always_valid) env.push_back("PEBBLE_VA_ALWAYS_VALID=1");
  if (opts_.authz_reuse) env.push_back("PEBBLE_AUTHZREUSE=" + std::to_string(*opts_.authz_reuse));
  pebble_pid_ = spawn_child({"pebble", "-config", tmp_ / "pebble-config.json", "-dnsserver",
                             lo + std::to_string(dns_port_)},
                            tmp_ / "pebble.log", env);
  directory_url_ = "https://" + lo + std::to_string(acme_port_) + "/dir";

  auto http = client(ca_file_);
  auto plain = client("");
  const auto deadline = std::chrono::steady_clock::now() + opts_.startup_timeout;
  bool dir_up = false, cts_up = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (reap_if_exited(pebble_pid_) | reap_if_exited(cts_pid_)) {
      why = "a process exited early; pebble log:\n" + pebble_log() + "\nchalltestsrv log:\n" +
            read_file(tmp_ / "challtestsrv.log");
      return false;
    }
    if (!dir_up) {
      auto r = http->get(directory_url_);
      dir_up = r && r->status == 200;
    }
    if (!cts_up) cts_up = bool(plain->get(challtestsrv_url() + "/"));
    if (dir_up && cts_up) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  why = "no answer within " + std::to_string(opts_.startup_timeout.count()) +
        " s; pebble log:\n" + pebble_log();
  return false;
}

std::string pebble_fixture::management_url() const {
  return "https://127.0.0.1:" + std::to_string(mgmt_port_);
}

std::string pebble_fixture::challtestsrv_url() const {
  return "http://127.0.0.1:" + std::to_string(cts_port_);
}

std::string pebble_fixture::fetch_root() const {
  auto r = client(ca_file_)->get(management_url() + "/roots/0");
  if (!r) throw std::runtime_error(r.error().message);
  if (r->status != 200 || r->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    throw std::runtime_error("pebble /roots/0 answered " + std::to_string(r->status) + ": " +
                             r->body);
  return r->body;
}

std::string pebble_fixture::cert_status(const std::string& serial_hex) const {
  std::string serial;
  for (char ch : serial_hex) serial += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  serial.erase(0, std::min(serial.find_first_not_of('0'), serial.size() - 1));
  const std::string url = management_url() + "/cert-status-by-serial/" + serial;
  auto r = client(ca_file_)->get(url);
  if (!r) throw std::runtime_error(r.error().message);
  if (r->status != 200)
    throw std::runtime_error(url + " answered " + std::to_string(r->status) + ": " + r->body);
  return r->body;
}

std::string pebble_fixture::write_root_file() const {
  std::string path = tmp_ / "pebble-root.pem";
  write_file(path, fetch_root());
  return path;
}

void pebble_fixture::challtestsrv_post(const std::string& path, const std::string& json) const {
  auto r = client("")->post(challtestsrv_url() + path, json, "application/json");
  if (!r) throw std::runtime_error(r.error().message);
  if (r->status != 200)
    throw std::runtime_error("challtestsrv " + path + " answered " + std::to_string(r->status) +
                             ": " + r->body);
}

void pebble_fixture::set_txt(const std::string& host, const std::string& value) const {
  std::string fqdn = (!host.empty() && host.back() == '.') ? host : host + ".";
  challtestsrv_post("/set-txt", nlohmann::json{{"host", fqdn}, {"value", value}}.dump());
}

void pebble_fixture::clear_txt(const std::string& host) const {
  std::string fqdn = (!host.empty() && host.back() == '.') ? host : host + ".";
  challtestsrv_post("/clear-txt", nlohmann::json{{"host", fqdn}}.dump());
}

std::string pebble_fixture::pebble_log() const {
  try {
    return read_file(tmp_ / "pebble.log");
  } catch (const std::exception&) {
    return "";
  }
}

/// Sets/clears _acme-challenge TXT records through challtestsrv's management API, logging its
/// arguments: dns.sh HOST:PORT LOG setup|teardown DNS [TOKEN].
std::string write_dns_script(const std::string& dir) {
  const std::string path = dir + "/dns.sh";
  write_file(path, R"SH(#!/bin/bash
set -eu
addr=$1 log=$2 action=$3 dns=$4
echo "$action $dns ${5:-}" >> "$log"
case $action in
  setup) path=/set-txt body="{\"host\":\"_acme-challenge.$dns.\",\"value\":\"$5\"}" ;;
  teardown) path=/clear-txt body="{\"host\":\"_acme-challenge.$dns.\"}" ;;
  *) echo "unknown action '$action'" >&2; exit 2 ;;
esac
exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}"
printf 'POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
  "$path" "$addr" "${#body}" "$body" >&3
IFS= read -r status <&3 || status=""
case $status in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) echo "challtestsrv $path answered: $status" >&2; exit 1 ;;
esac
)SH");
  ::chmod(path.c_str(), 0755);
  return path;
}

} // namespace mda::test
