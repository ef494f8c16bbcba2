#include "tests/support/etcd.hpp"

#include <csignal>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include "tests/support/child_process.hpp"
#include "tests/support/pebble.hpp"

namespace mda::test {


std::string etcd_missing() {
  return on_path("etcd") ? "" : "etcd is not on PATH (Debian package etcd-server)";
}

namespace {

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run(argv);
  if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.output);
}

/// A leaf for `cn` signed by the CA in dir, with the extensions given.
void make_leaf(const std::string& dir, const std::string& name, const std::string& cn,
               const std::string& ext) {
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".csr", "-subj", "/CN=" + cn});
  write_file(dir + "/" + name + ".ext", ext);
  openssl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/etcd-ca.pem", "-CAkey",
           dir + "/etcd-ca.key", "-CAcreateserial", "-days", "2", "-extfile", dir + "/" + name + ".ext",
           "-out", dir + "/" + name + ".pem"});
}

} // namespace

etcd_fixture::etcd_fixture(int members, bool tls) : use_tls_(tls) {
  if (members < 1) throw std::runtime_error("etcd_fixture: at least one member");
  if (auto m = etcd_missing(); !m.empty()) throw std::runtime_error(m);
  if (use_tls_) {
    const std::string d = tmp_.path();
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", d + "/etcd-ca.key", "-out", d + "/etcd-ca.pem", "-days", "2", "-subj",
             "/CN=mdactor etcd test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign"});
    make_leaf(d, "etcd-server", "localhost",
              "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
              "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n");
    make_leaf(d, "etcd-client", "mdactor",
              "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=clientAuth\n");
    tls_ = {d + "/etcd-ca.pem", d + "/etcd-client.pem", d + "/etcd-client.key"};
    server_cert_ = d + "/etcd-server.pem";
    server_key_ = d + "/etcd-server.key";
  }
  members_.resize(static_cast<std::size_t>(members));
  for (int i = 0; i < members; ++i) {
    auto& m = members_[static_cast<std::size_t>(i)];
    m.name = "m" + std::to_string(i);
    m.client_port = free_port();
    m.peer_port = free_port();
  }
  for (int i = 0; i < members; ++i) spawn(i);
  for (int i = 0; i < members; ++i) wait_ready(i, std::chrono::seconds(30));
}

etcd_fixture::~etcd_fixture() {
  for (auto& m : members_) stop_child(m.pid, std::chrono::milliseconds(3000));
}

std::string etcd_fixture::endpoint(int i) const {
  return std::string(use_tls_ ? "https" : "http") + "://127.0.0.1:" +
         std::to_string(members_.at(static_cast<std::size_t>(i)).client_port);
}

std::vector<std::string> etcd_fixture::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::string etcd_fixture::endpoint_list() const {
  std::string out;
  for (const auto& e : endpoints()) out += (out.empty() ? "" : ",") + e;
  return out;
}

std::string etcd_fixture::log(int i) const {
  return read_file(tmp_ / (members_.at(static_cast<std::size_t>(i)).name + ".log"));
}

void etcd_fixture::spawn(int i) {
  auto& m = members_.at(static_cast<std::size_t>(i));
  std::string initial;
  for (const auto& o : members_)
    initial += (initial.empty() ? "" : ",") + o.name + "=http://127.0.0.1:" +
               std::to_string(o.peer_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  const std::string client = std::string(use_tls_ ? "https" : "http") + "://127.0.0.1:" +
                             std::to_string(m.client_port);
  std::vector<std::string> argv{"etcd",
                                "--name", m.name,
                                "--data-dir", tmp_ / (m.name + ".data"),
                                "--listen-peer-urls", peer,
                                "--initial-advertise-peer-urls", peer,
                                "--listen-client-urls", client,
                                "--advertise-client-urls", client,
                                "--initial-cluster", initial,
                                "--initial-cluster-token", "mdactor-test",
                                "--initial-cluster-state", m.started_once ? "existing" : "new",
                                // quick elections on loopback
                                "--heartbeat-interval", "100",
                                "--election-timeout", "1000",
                                "--logger", "zap",
                                "--log-outputs", "stderr"};
  if (use_tls_) {
    for (const auto& a : {std::string("--cert-file"), server_cert_, std::string("--key-file"), server_key_,
                          std::string("--trusted-ca-file"), tls_.ca, std::string("--client-cert-auth")})
      argv.push_back(a);
  }
  m.pid = spawn_child(argv, tmp_ / (m.name + ".log"));
  m.started_once = true;
}

void etcd_fixture::wait_ready(int i, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto& m = members_.at(static_cast<std::size_t>(i));
  for (;;) {
    if (child_ended(m.pid))
      throw std::runtime_error("etcd member " + m.name + " ended at start:\n" + log(i));
    if (health(i)) return;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("etcd member " + m.name + " not healthy within " +
                               std::to_string(limit.count()) + " s:\n" + log(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool etcd_fixture::health(int i) const {
  return get(i, "/health").find("\"true\"") != std::string::npos;
}

bool etcd_fixture::listens(int i) const { return !get(i, "/version").empty(); }

std::string etcd_fixture::get(int i, const std::string& path) const {
  std::vector<std::string> argv{"curl", "-s", "--max-time", "2"};
  if (use_tls_) {
    for (const auto& a : {std::string("--cacert"), tls_.ca, std::string("--cert"), tls_.client_cert,
                          std::string("--key"), tls_.client_key})
      argv.push_back(a);
  }
  argv.push_back(endpoint(i) + path);
  auto r = run(argv);
  return r.exit_code == 0 ? r.output : std::string();
}

void etcd_fixture::stop(int i) {
  stop_child(members_.at(static_cast<std::size_t>(i)).pid, std::chrono::milliseconds(5000));
}

void etcd_fixture::kill(int i) {
  auto& m = members_.at(static_cast<std::size_t>(i));
  if (m.pid > 0) {
    ::kill(m.pid, SIGKILL);
    stop_child(m.pid, std::chrono::milliseconds(2000));
  }
}

void etcd_fixture::start(int i) {
  if (running(i)) return;
  spawn(i);
  // a member without a majority up cannot serve clients (etcd serves them once it has
  // published itself through a leader): it is waited for when the majority is back
  int up = 0;
  for (const auto& m : members_) up += m.pid > 0 ? 1 : 0;
  if (up * 2 <= size()) return;
  for (int k = 0; k < size(); ++k)
    if (running(k)) wait_ready(k, std::chrono::seconds(30));
}

bool etcd_fixture::running(int i) const {
  auto pid = members_.at(static_cast<std::size_t>(i)).pid;
  return pid > 0;
}

} // namespace mda::test
