#include "acme/http01_responder.hpp"

#include <chrono>

#include <sys/socket.h>

#include <httplib.h>

#include "http/errors.hpp"

namespace mda::acme {

namespace {

constexpr char k_prefix[] = "/.well-known/acme-challenge/";
/// Bound for the listening thread to come up before start() gives up.
constexpr auto k_startup_wait = std::chrono::seconds(5);

} // namespace

bool is_base64url_token(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s) {
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_';
    if (!ok) return false;
  }
  return true;
}

http01_responder::http01_responder() : server_(std::make_unique<httplib::Server>()) {}

expected<std::unique_ptr<http01_responder>> http01_responder::start(http01_responder_options opts) {
  std::unique_ptr<http01_responder> r(new http01_responder());
  auto& srv = *r->server_;
  srv.new_task_queue = [] { return new httplib::ThreadPool(4); };
  srv.set_keep_alive_max_count(1);
  srv.set_tcp_nodelay(true); // head and body go out as two writes (see http_client.cpp)
  srv.set_read_timeout(std::chrono::seconds(5));
  srv.set_write_timeout(std::chrono::seconds(5));
  // httplib's default adds SO_REUSEPORT, which would let a second server share the port.
  srv.set_socket_options([](socket_t sock) {
    int one = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  });
  http01_responder* self = r.get();
  srv.set_pre_routing_handler([self](const httplib::Request& req, httplib::Response& res) {
    const std::string prefix = k_prefix;
    if (req.path.compare(0, prefix.size(), prefix) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    std::string answer;
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 501;
    } else if (self->lookup(req.path.substr(prefix.size()), answer)) {
      res.status = 200;
      res.body = std::move(answer);
    } else {
      res.status = 404;
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  const std::string where = opts.address + ":" + std::to_string(opts.port);
  if (opts.port == 0) {
    r->port_ = srv.bind_to_any_port(opts.address);
    if (r->port_ <= 0)
      return error(acme_errc::config, "http-01 responder: cannot listen on " + where);
  } else {
    if (!srv.bind_to_port(opts.address, opts.port))
      return error(acme_errc::config, "http-01 responder: cannot listen on " + where);
    r->port_ = opts.port;
  }
  r->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->done_ = true;
  });
  const auto until = std::chrono::steady_clock::now() + k_startup_wait;
  while (!srv.is_running() && !r->done_ && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!srv.is_running())
    return error(acme_errc::config, "http-01 responder on " + where + " did not start");
  return r;
}

http01_responder::~http01_responder() {
  if (!thread_.joinable()) return;
  // stop() works only once the server runs (and must be called once): wait for either.
  while (!done_) {
    if (server_->is_running()) {
      server_->stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  thread_.join();
}

bool http01_responder::lookup(const std::string& token, std::string& key_authorization) const {
  if (!is_base64url_token(token)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = answers_.find(token);
  if (it == answers_.end()) return false;
  key_authorization = it->second;
  return true;
}

status http01_responder::setup(const challenge_data& c) {
  if (c.type != challenge_type::http_01)
    return error(acme_errc::config, std::string("http-01 responder cannot answer ") +
                                        to_string(c.type) + " for '" + c.identifier + "'");
  if (!is_base64url_token(c.token))
    return error(acme_errc::bad_response, "http-01 setup for '" + c.identifier +
                                              "': the token is not base64url: '" + c.token + "'");
  if (c.key_authorization.empty())
    return error(acme_errc::config,
                 "http-01 setup for '" + c.identifier + "': no key authorization");
  std::lock_guard<std::mutex> lock(mu_);
  answers_[c.token] = c.key_authorization;
  return {};
}

status http01_responder::teardown(const challenge_data& c) {
  std::lock_guard<std::mutex> lock(mu_);
  answers_.erase(c.token);
  return {};
}

} // namespace mda::acme
