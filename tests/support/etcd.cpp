#include "tests/support/etcd.hpp"

#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <unistd.h>

#include "tests/support/child_process.hpp"
#include "tests/support/pebble.hpp"

namespace mda::test {

namespace {

bool on_path(const std::string& prog) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    auto candidate = p.substr(start, end - start) + "/" + prog;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

} // namespace

std::string etcd_missing() {
  return on_path("etcd") ? "" : "etcd is not on PATH (Debian package etcd-server)";
}

etcd_fixture::etcd_fixture(int members) {
  if (members < 1) throw std::runtime_error("etcd_fixture: at least one member");
  if (auto m = etcd_missing(); !m.empty()) throw std::runtime_error(m);
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
  return "http://127.0.0.1:" + std::to_string(members_.at(static_cast<std::size_t>(i)).client_port);
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
  const std::string client = "http://127.0.0.1:" + std::to_string(m.client_port);
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
  m.pid = spawn_child(argv, tmp_ / (m.name + ".log"));
  m.started_once = true;
}

void etcd_fixture::wait_ready(int i, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto& m = members_.at(static_cast<std::size_t>(i));
  for (;;) {
    if (child_ended(m.pid))
      throw std::runtime_error("etcd member " + m.name + " ended at start:\n" + log(i));
    httplib::Client c("127.0.0.1", m.client_port);
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(2, 0);
    auto res = c.Get("/health");
    if (res && res->status == 200 && res->body.find("\"true\"") != std::string::npos) return;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("etcd member " + m.name + " not healthy within " +
                               std::to_string(limit.count()) + " s:\n" + log(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
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
