// Scripted servers on 127.0.0.1 for tests that go through the real HTTP transport (header only):
// - scripted_server: tests/acme/fake_ca.hpp's routes served by a cpp-httplib server, every
//   request handed to the script as it arrived; raw_gets replace a GET answer outright.
// - raw_http_server: answers every request on a connection with the same bytes, written one
//   at a time with a pause between them when asked (a server trickling its answer), for what a
//   well-behaved server library cannot send.
// Not a CA: no signature checks unless a test does them.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "acme/client.hpp"
#include "tests/acme/fake_ca.hpp"
#include "tests/test_util.hpp"

namespace mda::test {

/// fake_ca behind an httplib server: every request is handed to the script as it arrived.
class scripted_server {
 public:
  std::shared_ptr<fake_ca> ca = std::make_shared<fake_ca>();
  /// Replaces the answer for GET `path` (directory faults, renewalInfo).
  std::map<std::string, std::function<void(httplib::Response&)>> raw_gets;

  scripted_server() {
    port_ = svr_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    ca->base = "http://127.0.0.1:" + std::to_string(port_);
    ca->dir = {{"newNonce", ca->base + "/nonce"}, {"newAccount", ca->base + "/acct"},
               {"newOrder", ca->base + "/order"}};
    auto route = [this](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "GET") {
        auto it = raw_gets.find(req.path);
        if (it != raw_gets.end()) return it->second(res);
      }
      acme::http_request r;
      r.method = req.method;
      r.url = ca->base + req.path;
      r.body = req.body;
      r.content_type = req.get_header_value("Content-Type");
      std::lock_guard<std::mutex> lock(mu_);
      auto a = ca->request(r);
      if (!a.ok()) {
        res.status = 500;
        return;
      }
      res.status = a->status;
      std::string type = "application/json";
      for (const auto& [k, v] : a->headers) {
        if (k == "Content-Type") type = v;
        else res.set_header(k.c_str(), v);
      }
      if (req.method != "HEAD") res.set_content(a->body, type.c_str());
    };
    svr_.Get(".*", route);
    svr_.Post(".*", route);
    th_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~scripted_server() {
    svr_.stop();
    th_.join();
  }
  std::string dir_url() const { return ca->dir_url(); }

  acme::client make_client(acme::http_options o = {}) {
    auto t = acme::httplib_transport::create(o);
    REQUIRE(t.ok());
    return acme::client(*t, acme::client_options{dir_url()}, std::make_shared<system_time_source>());
  }

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread th_;
  std::mutex mu_;
};

/// Reads each request head on a connection and answers it with `answer`, a byte every `gap`
/// (all at once for 0); the connection stays open afterwards until the client closes it.
class raw_http_server {
 public:
  raw_http_server(std::string answer, std::chrono::milliseconds gap)
      : answer_(std::move(answer)), gap_(gap) {
    const auto l = listen_loopback(8);
    fd_ = l.fd;
    port_ = l.port;
    th_ = std::thread([this] { serve(); });
  }
  ~raw_http_server() {
    stop_ = true;
    th_.join();
    ::close(fd_);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  bool readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) != 0) return true;
    }
    return false;
  }
  void serve() {
    while (readable(fd_)) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string in;
      char buf[4096];
      while (readable(c)) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        if (in.find("\r\n\r\n") == std::string::npos) continue;
        in.clear();
        if (gap_.count() == 0) {
          (void)!::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
          continue;
        }
        for (std::size_t i = 0; i < answer_.size() && !stop_; ++i) {
          if (::send(c, answer_.data() + i, 1, MSG_NOSIGNAL) != 1) break;
          std::this_thread::sleep_for(gap_);
        }
      }
      ::close(c);
    }
  }

  std::string answer_;
  std::chrono::milliseconds gap_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread th_;
};

} // namespace mda::test
