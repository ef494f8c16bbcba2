// An embedded http-01 responder (RFC 8555 §8.3): an HTTP server on its own thread answering
// GET /.well-known/acme-challenge/<token> with the key authorization of a token that was set
// up through the challenge_setup interface. For mdctl and tests, where no Apache serves the
// store's challenge files.
//
// - 200 with the key authorization as body (text/plain: cpp-httplib always sends a type, mod_md
//   none) for GET and HEAD of a token currently set up; 404 for any other token or path; 501
//   for other methods on the challenge path. Tokens must be base64url (RFC 8555 §8.1), so
//   nothing else — no "/", "..", percent-encoded tricks (the path is decoded before the
//   check) — can ever match.
// - One request per connection; the server stops (and its thread is joined) when the object
//   goes.
// Not here: the store's challenge files (store_challenges.hpp), TLS.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "acme/challenge.hpp"

namespace httplib {
class Server;
}

namespace mda::acme {

struct http01_responder_options {
  std::string address = "127.0.0.1"; ///< numeric address to listen on ("0.0.0.0", "::")
  int port = 0;                       ///< 0 = any free port (see port())
};

class http01_responder final : public challenge_setup {
 public:
  /// Binds and starts serving. A port that cannot be bound -> acme_errc::config
  /// "http-01 responder: cannot listen on <address>:<port>".
  static expected<std::unique_ptr<http01_responder>> start(http01_responder_options opts);
  ~http01_responder() override;
  http01_responder(const http01_responder&) = delete;
  http01_responder& operator=(const http01_responder&) = delete;

  int port() const { return port_; }

  bool supports(challenge_type t) const override { return t == challenge_type::http_01; }
  /// Serves c.key_authorization for c.token from now on.
  status setup(const challenge_data& c) override;
  /// Stops serving c.token (absent is fine).
  status teardown(const challenge_data& c) override;

 private:
  http01_responder();
  /// The answer for a token, or nothing.
  bool lookup(const std::string& token, std::string& key_authorization) const;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> done_{false}; ///< the serving thread has returned
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, std::string> answers_; ///< token -> key authorization
};

/// True for a non-empty string of base64url characters (A-Z a-z 0-9 - _).
bool is_base64url_token(const std::string& s);

} // namespace mda::acme
