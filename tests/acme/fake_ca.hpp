// A scripted ACME server as an http_transport, for the client, account and authorization tests
// (header only). It serves the directory, hands out a fresh Replay-Nonce with every answer,
// decodes the JWS of every POST and routes it to a handler per URL; everything is logged.
// Not a CA: handlers script the answers; no signature checks unless a test does them.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "http/http_client.hpp"

namespace mda::test {

/// One decoded POST.
struct fake_post {
  std::string url;
  nlohmann::json header;  ///< the protected header
  std::string payload;    ///< decoded payload bytes ("" for POST-as-GET)
  nlohmann::json jws;     ///< the whole flattened JWS
};

inline acme::http_response json_answer(int status, const nlohmann::json& body,
                                       const std::string& type = "application/json") {
  acme::http_response r;
  r.status = status;
  r.body = body.dump();
  r.headers.emplace("Content-Type", type);
  return r;
}

/// An answer with `body` as it is.
inline acme::http_response text_answer(int status, std::string body, const std::string& type) {
  acme::http_response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace("Content-Type", type);
  return r;
}

inline acme::http_response problem_answer(int status, const std::string& type,
                                          const std::string& detail) {
  return json_answer(status, {{"type", type}, {"detail", detail}, {"status", status}},
                     "application/problem+json");
}

class fake_ca final : public acme::http_transport {
 public:
  using handler = std::function<acme::http_response(const fake_post&)>;

  std::string base = "https://ca.test";
  nlohmann::json dir;
  std::map<std::string, handler> routes; ///< POST url -> answer
  std::vector<acme::http_request> log;
  std::vector<fake_post> posts;
  std::vector<std::string> issued; ///< nonces handed out, in order
  bool send_nonces = true; ///< on HEAD and POST answers (not on GET)
  /// A transport failure instead of an answer when this returns an error.
  std::function<mda::status(const acme::http_request&)> fail;
  int heads = 0, gets = 0;

  fake_ca() {
    dir = {{"newNonce", base + "/nonce"}, {"newAccount", base + "/acct"},
           {"newOrder", base + "/order"}, {"revokeCert", base + "/revoke"},
           {"keyChange", base + "/key-change"}};
  }
  std::string dir_url() const { return base + "/dir"; }

  mda::expected<acme::http_response> request(const acme::http_request& r) override {
    log.push_back(r);
    if (fail) {
      if (auto st = fail(r); !st) return st.error();
    }
    acme::http_response res = answer(r);
    res.url = r.url;
    if (send_nonces && r.method != "GET") {
      issued.push_back("nonce" + std::to_string(issued.size() + 1));
      res.headers.emplace("Replay-Nonce", issued.back());
    }
    return res;
  }

 private:
  acme::http_response answer(const acme::http_request& r) {
    if (r.method == "GET" && r.url == dir_url()) {
      ++gets;
      return json_answer(200, dir);
    }
    if (r.method == "HEAD" && r.url == base + "/nonce") {
      ++heads;
      acme::http_response res;
      res.status = 200;
      return res;
    }
    if (r.method != "POST") return problem_answer(404, "", "not found");
    fake_post p;
    p.url = r.url;
    p.jws = nlohmann::json::parse(r.body);
    p.header = nlohmann::json::parse(*base64url_decode(p.jws["protected"].get<std::string>()));
    p.payload = *base64url_decode(p.jws["payload"].get<std::string>());
    posts.push_back(p);
    auto it = routes.find(r.url);
    if (it == routes.end())
      return problem_answer(404, "urn:ietf:params:acme:error:malformed", "no such resource");
    return it->second(p);
  }
};

} // namespace mda::test
