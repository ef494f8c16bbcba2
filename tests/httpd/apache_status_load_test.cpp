// The status handlers under load in a real Apache (issue 14 item 5): 1,000 MDs, 200 clients
// asking /.httpd/certificate-status at once and 50 clients trickling bytes into the engine's
// status socket, while md-status is asked: every certificate-status answer is exact, and
// md-status comes live from the engine (no MDA0168 fallback to the status file in the log),
// within the workers' 200 ms wait for the socket. How long md-status takes under this load
// is measured by bench/status_load.sh, not here. The CA is unreachable and the MDs are
// MDRenewMode manual: the engine publishes once and nothing changes during the test.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc/status_client.hpp"
#include "status/md_status.hpp"
#include "status/snapshot.hpp"
#include "store/fs_store.hpp"
#include "store/registry.hpp"

#include "tests/support/apache.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda::test;
using namespace std::chrono_literals;

namespace {

constexpr int k_mds = 1000;
constexpr int k_http_clients = 200;
constexpr auto k_load_time = std::chrono::milliseconds(2500); // the slow clients are dropped after 1 s
constexpr int k_slow_clients = 50;

std::string md_name(int i) { return "d" + std::to_string(i) + ".example.test"; }

struct http_answer {
  std::string status; ///< "200", or what went wrong
  std::string body;
};

/// GET `path` with Host `host` over HTTP/1.0 on 127.0.0.1:`port` (the server closes).
http_answer http_get(int port, const std::string& host, const std::string& path) {
  const int fd = connect_loopback(port, 30);
  if (fd < 0) return {std::string("connect: ") + std::strerror(errno), ""};
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string in;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) in.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto head_end = in.find("\r\n\r\n");
  if (in.compare(0, 9, "HTTP/1.1 ") != 0 || head_end == std::string::npos) return {"no response", in};
  return {in.substr(9, 3), in.substr(head_end + 4)};
}

/// Clients of the engine's socket that send one byte of a request every 0.5 s, connecting
/// again when dropped, until stopped.
class slow_socket_clients {
 public:
  slow_socket_clients(std::string path, int count) : path_(std::move(path)), fds_(count, -1) {
    thread_ = std::thread([this] { run(); });
  }
  ~slow_socket_clients() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  int connections() const { return connections_; }

 private:
  void run() {
    const std::string line = "GET md-status\n";
    for (std::size_t step = 0; !stop_; ++step) {
      for (int& fd : fds_) {
        if (fd < 0 || ::send(fd, &line[step % (line.size() - 1)], 1, MSG_NOSIGNAL) != 1) {
          if (fd >= 0) ::close(fd);
          fd = connect_unix(path_);
          if (fd >= 0) ++connections_;
        }
      }
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(50ms);
    }
  }
  std::string path_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

} // namespace

TEST_CASE("1,000 MDs: certificate-status under load and slow socket clients leave md-status live",
          "[httpd][apache][status-load]") {
  private_apache a;
  const int http = free_port();
  std::string mds;
  for (int i = 0; i < k_mds; ++i) mds += "MDomain " + md_name(i) + "\n";
  write_file(a.conf, a.base_conf() + "Listen 127.0.0.1:" + std::to_string(http) + " http\n" +
                       "LoadModule md_module " + std::string(MODULE_PATH) + "\n"
                       "MDCertificateAuthority https://127.0.0.1:" + std::to_string(free_port()) + "/dir\n"
                       "MDCertificateAgreement accepted\nMDContactEmail admin@example.test\n"
                       "MDRenewMode manual\n" + mds +
                       "<Location /md-status>\n  SetHandler md-status\n</Location>\n");
  REQUIRE(a.start());
  const auto log_tail = [&] {
    const std::string log = a.log();
    return log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
  };
  INFO(log_tail());

  // The engine's socket, with every MD in its status, settled: the domain actors have
  // reported (the same answer twice, half a second apart).
  const std::string socket = a.store("mdactor/status.sock");
  std::string live_md_status, previous;
  for (int i = 0; i < 300; ++i) {
    auto r = mda::query_status_socket(socket, "GET md-status", 2s);
    if (r && count_of(*r, "\"name\": \"d") == static_cast<std::size_t>(k_mds)) {
      if (*r == previous) {
        live_md_status = *r;
        break;
      }
      previous = *r;
    }
    std::this_thread::sleep_for(500ms);
  }
  REQUIRE(!live_md_status.empty());
  auto whole_text = mda::query_status_socket(socket, "GET snapshot", 5s);
  REQUIRE(whole_text);
  auto whole = mda::parse_snapshot(*whole_text, socket);
  REQUIRE(whole);
  auto st = mda::fs_store::open(a.store(""));
  REQUIRE(st);
  // What each MD's certificate-status must say: as the worker renders it (staging/ read).
  std::vector<std::string> expected(k_mds);
  for (int i = 0; i < k_mds; ++i) {
    const mda::md_snapshot* m = mda::find_md_by_name(*whole, md_name(i));
    REQUIRE(m);
    mda::md_snapshot fresh = *m;
    mda::refresh_from_staging(*st, fresh);
    expected[i] = mda::render_json(mda::certificate_status_json(*whole, fresh));
  }
  const auto log_before = a.log();

  std::vector<std::string> failures; // "<host>: <status>" of each wrong answer
  std::mutex failures_mu;
  std::vector<http_answer> md_status_answers;
  std::atomic<int> requests{0};
  {
    slow_socket_clients slow(socket, k_slow_clients);
    std::this_thread::sleep_for(300ms); // all of them connected and trickling
    std::atomic<int> started{0};
    const auto load_end = std::chrono::steady_clock::now() + k_load_time;
    std::vector<std::thread> clients;
    for (int t = 0; t < k_http_clients; ++t) {
      clients.emplace_back([&, t] {
        ++started;
        while (started < k_http_clients) std::this_thread::yield(); // all at once
        for (int k = 0; std::chrono::steady_clock::now() < load_end; ++k) {
          const int i = (t * 13 + k * 7) % k_mds;
          ++requests;
          const http_answer r = http_get(http, md_name(i), "/.httpd/certificate-status");
          if (r.status != "200" || r.body != expected[i]) {
            std::lock_guard<std::mutex> lock(failures_mu);
            failures.push_back(md_name(i) + ": " + r.status);
          }
        }
      });
    }
    while (started < k_http_clients) std::this_thread::sleep_for(1ms);
    while (std::chrono::steady_clock::now() < load_end) {
      md_status_answers.push_back(http_get(http, "localhost", "/md-status"));
      std::this_thread::sleep_for(100ms);
    }
    for (auto& c : clients) c.join();
    md_status_answers.push_back(http_get(http, "localhost", "/md-status"));
    CHECK(slow.connections() > k_slow_clients); // they were dropped and came again
  }
  CHECK(failures.empty());
  if (!failures.empty()) FAIL_CHECK("first failure: " + failures.front());
  for (const auto& r : md_status_answers) {
    CHECK(r.status == "200");
    CHECK(r.body == live_md_status);
  }
  const std::string during = a.log().substr(log_before.size());
  CHECK(count_of(during, "MDA0168") == 0); // md-status never fell back to the status file
  std::cout << "INFO: certificate-status answers read from the status file instead of the engine: "
            << count_of(during, "MDA0170") << " of " << requests << "\n";
  CHECK(md_status_answers.size() >= 5);
}
